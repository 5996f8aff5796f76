/**
 * `<repo>/config.json`: the daemon settings a repo may hold, and their
 * schema. `shoal config` checks values exactly as the daemon does, with this.
 */
import { ErrorCode, ShoalError } from './errors.js'
import { isRate } from './rates.js'

/**
 * `<repo>/config.json`: written by `shoal config`, read by the daemon when it
 * starts; flags and embedding options override it.
 */
export interface RepoConfig {
  /** Multiaddrs to listen on. @default ['/ip4/0.0.0.0/tcp/0'] */
  listen?: string[]
  /** Multiaddrs dialed at start to join a swarm. @default [] in lan mode; the public (Amino) DHT bootstrappers in public mode */
  bootstrap?: string[]
  /** Find peers on the LAN with mDNS. @default true */
  mdns?: boolean
  /** 'lan': private swarm, DHT keeps private/loopback addresses; 'public': the Amino DHT with kad-dht's filtering. @default 'lan' */
  network?: 'lan' | 'public'
  /** Cap on chunk bytes sent per second, all peers together; a rate string ("10MiB/s", see parseRate) or bytes/s; 0 = unlimited. @default 0 */
  maxUpload?: string | number
  /** Cap on chunk bytes received per second, all peers together. @default 0 */
  maxDownload?: string | number
  /** Cap on chunk bytes sent per second to any one peer. @default 0 */
  maxUploadPerPeer?: string | number
  /** Cap on chunk bytes received per second from any one peer. @default 0 */
  maxDownloadPerPeer?: string | number
  /**
   * Bytes of chunks fetched for readers alone (`cat`, the gateway: what no
   * `fetch` asked for, kept in `<repo>/partial`); past it, the least
   * recently read of them that nothing reads now are removed. A size
   * ("20GiB", see parseRate) or bytes; 0 = no limit. @default 10 GiB
   */
  maxCache?: string | number
  /** Act as a circuit relay v2 server for peers that cannot be dialed directly. @default false */
  relay?: boolean
  /** Ask the home router for a port mapping with UPnP. @default true in public mode, false in lan mode */
  upnp?: boolean
  /** Serve Prometheus metrics on http://host:port/metrics (e.g. "127.0.0.1:9464"; port 0: a free port, the URL is in `status().metrics`); off when unset. */
  metrics?: string
  /** Serve the local HTTP gateway (`GET /shoal/<id>/<path>`) on http://host:port (e.g. "127.0.0.1:8080"; port 0: a free port, the URL is in `status().gateway`); off when unset. Keep it on loopback. */
  gateway?: string
}

/** The name of the config file inside the repo. */
export const REPO_CONFIG_FILE = 'config.json'

/** A key of {@link RepoConfig}: what `shoal config get/set/unset` take. */
export type RepoConfigKey = keyof RepoConfig

const isMultiaddrList = (v: unknown): boolean =>
  Array.isArray(v) && v.every(x => typeof x === 'string' && x.startsWith('/') && x.length > 1 && x.length < 1024)

const RATE_EXPECTED = 'a rate such as "10MiB/s", "800KB/s" or a number of bytes per second (0 = unlimited)'
const SIZE_EXPECTED = 'a size such as "20GiB", "500MB" or a number of bytes (0 = no limit)'

/**
 * True for "host:port" with a port from 0 to 65535 (IPv6 hosts in brackets).
 *
 * @example
 * ```ts
 * isHostPort('127.0.0.1:9464') // true
 * isHostPort('[::1]:0')        // true
 * isHostPort('localhost')      // false
 * ```
 */
export function isHostPort (value: unknown): boolean {
  if (typeof value !== 'string') return false
  const match = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(value)
  return match !== null && Number(match[2]) <= 65535
}

/** How one config key's value is parsed, described and checked. */
export interface RepoConfigKeySpec {
  /** The shape of its value, which tells `shoal config set` how to read its arguments. */
  kind: 'list' | 'boolean' | 'choice' | 'rate' | 'size' | 'string'
  /** What the value must be, in words, for error messages. */
  expected: string
  /** True when `value` is valid for the key. */
  check: (value: unknown) => boolean
}

/** Every config key: what kind of value it holds and what it must be. */
export const REPO_CONFIG_KEYS: Record<RepoConfigKey, RepoConfigKeySpec> = {
  listen: { kind: 'list', expected: 'a list of multiaddr strings', check: isMultiaddrList },
  bootstrap: { kind: 'list', expected: 'a list of multiaddr strings', check: isMultiaddrList },
  mdns: { kind: 'boolean', expected: 'true or false', check: v => typeof v === 'boolean' },
  network: { kind: 'choice', expected: '"lan" or "public"', check: v => v === 'lan' || v === 'public' },
  maxUpload: { kind: 'rate', expected: RATE_EXPECTED, check: isRate },
  maxDownload: { kind: 'rate', expected: RATE_EXPECTED, check: isRate },
  maxUploadPerPeer: { kind: 'rate', expected: RATE_EXPECTED, check: isRate },
  maxDownloadPerPeer: { kind: 'rate', expected: RATE_EXPECTED, check: isRate },
  // a size parses as a rate does (the "/s" is optional there)
  maxCache: { kind: 'size', expected: SIZE_EXPECTED, check: v => isRate(v) && !(typeof v === 'string' && v.trim().endsWith('/s')) },
  relay: { kind: 'boolean', expected: 'true or false', check: v => typeof v === 'boolean' },
  upnp: { kind: 'boolean', expected: 'true or false', check: v => typeof v === 'boolean' },
  metrics: { kind: 'string', expected: 'a "host:port" string such as "127.0.0.1:9464"', check: isHostPort },
  gateway: { kind: 'string', expected: 'a "host:port" string such as "127.0.0.1:8080"', check: isHostPort }
}

/**
 * True when `key` is a config key.
 *
 * @example
 * ```ts
 * isRepoConfigKey('listen') // true
 * isRepoConfigKey('lsiten') // false
 * ```
 */
export function isRepoConfigKey (key: unknown): key is RepoConfigKey {
  return typeof key === 'string' && Object.prototype.hasOwnProperty.call(REPO_CONFIG_KEYS, key)
}

/**
 * Check a parsed config.json; throws REPO_INVALID naming `where` and the bad key.
 *
 * @example
 * ```ts
 * const config = validateConfig(JSON.parse(await fs.readFile(file, 'utf8')), file)
 * ```
 */
export function validateConfig (raw: unknown, where: string): RepoConfig {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new ShoalError(ErrorCode.REPO_INVALID, `${where} must hold a JSON object`)
  }
  const out: Record<string, unknown> = {}
  for (const [key, value] of Object.entries(raw)) {
    if (!isRepoConfigKey(key)) throw new ShoalError(ErrorCode.REPO_INVALID, `${where}: unknown key "${key}" (known: ${Object.keys(REPO_CONFIG_KEYS).join(', ')})`)
    const spec = REPO_CONFIG_KEYS[key]
    if (!spec.check(value)) throw new ShoalError(ErrorCode.REPO_INVALID, `${where}: "${key}" must be ${spec.expected}`)
    out[key] = value
  }
  return out as RepoConfig
}
