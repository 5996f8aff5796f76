import type { Datastore, Key } from 'interface-datastore'

/**
 * The value stored at `key`, or undefined when there is none: one read
 * (asking `has` first costs a second lookup in the store). Other failures
 * are thrown as they are.
 */
export async function getIfStored (ds: Datastore, key: Key): Promise<Uint8Array | undefined> {
  try {
    return await ds.get(key)
  } catch (err) {
    if ((err as Error).name === 'NotFoundError') return undefined
    throw err
  }
}
