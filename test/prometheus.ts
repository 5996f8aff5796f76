import { expect } from 'vitest'

/** The value of one sample in Prometheus text, e.g. sample(text, 'x_total', { peer: 'a' }); undefined when absent. */
export function sample (text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(',')
  const prefix = want === '' ? `${name} ` : `${name}{${want}} `
  const line = text.split('\n').find(l => l.startsWith(prefix))
  return line === undefined ? undefined : Number(line.slice(prefix.length))
}

/** GET a /metrics URL: 200 with Prometheus text, returned. */
export async function scrape (url: string): Promise<string> {
  const res = await fetch(url)
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
  return await res.text()
}
