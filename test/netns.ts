/**
 * Multi-host test network: each host is a Linux network namespace with its
 * own address, wired to a bridge that lives in a "switch" namespace of its
 * own (so nothing is added to the machine's own namespace). Optional per-host
 * upload caps with `tc ... tbf`, and hosts behind a NAT router namespace
 * (iptables MASQUERADE) that public hosts cannot reach.
 *
 * Needs root, iproute2 and (for NAT) iptables; {@link netnsUnavailable} says
 * why not, so tests can skip with that reason printed.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/** One emulated machine. */
export interface NetHost {
  name: string
  /** The network namespace to run its processes in. */
  ns: string
  /** The address other hosts reach it at (its LAN address when behind NAT). */
  addr: string
  /** Upload cap set with tbf, in bits per second (undefined: none). */
  uploadCapBits?: number
}

export interface HostSpec {
  name: string
  /** Egress rate cap, e.g. '40mbit' (tc syntax). */
  uploadCap?: string
  /** Put the host on a private LAN behind its own NAT router. */
  behindNat?: boolean
}

let counter = 0

async function ip (...args: string[]): Promise<void> {
  await sh('ip', args)
}

async function sh (cmd: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await run(cmd, args, { timeout: 20_000 })
    return stdout
  } catch (err) {
    const e = err as { stderr?: string, message: string }
    throw new Error(`${cmd} ${args.join(' ')} failed: ${e.stderr?.trim() ?? e.message}`)
  }
}

async function inNs (ns: string, cmd: string, ...args: string[]): Promise<string> {
  return await sh('ip', ['netns', 'exec', ns, cmd, ...args])
}

/** Why namespaces cannot be made here, or undefined when they can. */
export async function netnsUnavailable (options: { nat?: boolean } = {}): Promise<string | undefined> {
  if (process.platform !== 'linux') return `network namespaces need Linux (this is ${process.platform})`
  if (process.getuid?.() !== 0) return 'network namespaces need root (run the tests as root to include the multi-host tests)'
  const probe = `shoal-probe-${process.pid}-${counter++}`
  try {
    await ip('netns', 'add', probe)
    await inNs(probe, 'tc', 'qdisc', 'show')
    if (options.nat === true) await inNs(probe, 'iptables', '-t', 'nat', '-L', '-n')
  } catch (err) {
    return `cannot make test namespaces: ${(err as Error).message}`
  } finally {
    await sh('ip', ['netns', 'del', probe]).catch(() => {})
  }
  return undefined
}

/** Parse tc's rate syntax ('40mbit', '5mbps', '800kbit') into bits per second. */
export function tcRateBits (rate: string): number {
  const m = /^(\d+(?:\.\d+)?)(bit|kbit|mbit|gbit|bps|kbps|mbps|gbps)$/.exec(rate)
  if (m === null) throw new Error(`unsupported tc rate ${rate}`)
  const n = Number(m[1])
  const unit = m[2] as string
  const scale: Record<string, number> = { bit: 1, kbit: 1e3, mbit: 1e6, gbit: 1e9, bps: 8, kbps: 8e3, mbps: 8e6, gbps: 8e9 }
  return n * (scale[unit] ?? 1)
}

/**
 * A bridge (default `10.77.0.0/24`) with one host per spec (.10, .11, ...).
 * Hosts with `behindNat` sit on their own 192.168.N.0/24 behind a router
 * namespace that masquerades them onto the bridge; public hosts have no route
 * to them.
 */
export class TestNet {
  readonly hosts: NetHost[] = []
  private readonly namespaces: string[] = []
  private readonly prefix: string
  private readonly sw: string
  /** The bridge's /24, e.g. '10.77.0'. */
  readonly wan: string

  private constructor (wan: string) {
    this.wan = wan
    this.prefix = `shoal${process.pid}x${counter++}`
    this.sw = `${this.prefix}-sw`
  }

  /**
   * `wan` is the bridge's /24 (default 10.77.0). A public-looking prefix
   * (these namespaces have no route out) lets public-mode daemons, which
   * drop private addresses, be tested as if on the internet.
   */
  static async create (specs: HostSpec[], options: { wan?: string } = {}): Promise<TestNet> {
    const net = new TestNet(options.wan ?? '10.77.0')
    try {
      await net.addNs(net.sw)
      await inNs(net.sw, 'ip', 'link', 'add', 'br0', 'type', 'bridge')
      await inNs(net.sw, 'ip', 'link', 'set', 'br0', 'up')
      let index = 0
      for (const spec of specs) await net.addHost(spec, index++)
    } catch (err) {
      await net.destroy()
      throw err
    }
    return net
  }

  host (name: string): NetHost {
    const h = this.hosts.find(x => x.name === name)
    if (h === undefined) throw new Error(`no host ${name}`)
    return h
  }

  /** Tear down every namespace (their links and qdiscs go with them). */
  async destroy (): Promise<void> {
    for (const ns of this.namespaces.reverse()) {
      await sh('ip', ['netns', 'del', ns]).catch(() => {})
    }
    this.namespaces.length = 0
  }

  private async addNs (ns: string): Promise<void> {
    await ip('netns', 'add', ns)
    this.namespaces.push(ns)
    await inNs(ns, 'ip', 'link', 'set', 'lo', 'up')
  }

  /** A veth pair from namespace `a` (named `aName`) to `b` (named `bName`), both up. */
  private async veth (a: string, aName: string, b: string, bName: string): Promise<void> {
    await ip('link', 'add', aName, 'netns', a, 'type', 'veth', 'peer', 'name', bName, 'netns', b)
    await inNs(a, 'ip', 'link', 'set', aName, 'up')
    await inNs(b, 'ip', 'link', 'set', bName, 'up')
  }

  private async plugIntoBridge (ns: string, port: string, addr: string): Promise<void> {
    await this.veth(ns, 'eth0', this.sw, port)
    await inNs(this.sw, 'ip', 'link', 'set', port, 'master', 'br0')
    await inNs(ns, 'ip', 'addr', 'add', `${addr}/24`, 'dev', 'eth0')
  }

  private async addHost (spec: HostSpec, index: number): Promise<void> {
    const ns = `${this.prefix}-${spec.name}`
    await this.addNs(ns)
    const host: NetHost = { name: spec.name, ns, addr: '' }
    if (spec.behindNat === true) {
      // router: eth0 on the bridge (public side), eth1 to the host's private LAN
      const router = `${ns}-nat`
      await this.addNs(router)
      const wan = `${this.wan}.${100 + index}`
      await this.plugIntoBridge(router, `p${index}r`, wan)
      const lanNet = `192.168.${10 + index}`
      await this.veth(router, 'eth1', ns, 'eth0')
      await inNs(router, 'ip', 'addr', 'add', `${lanNet}.1/24`, 'dev', 'eth1')
      await inNs(router, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1')
      await inNs(router, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', 'eth0', '-j', 'MASQUERADE')
      // a home router: replies to what the LAN opened get in, nothing else does
      await inNs(router, 'iptables', '-A', 'FORWARD', '-i', 'eth0', '-m', 'conntrack', '--ctstate', 'RELATED,ESTABLISHED', '-j', 'ACCEPT')
      await inNs(router, 'iptables', '-A', 'FORWARD', '-i', 'eth0', '-j', 'DROP')
      host.addr = `${lanNet}.2`
      await inNs(ns, 'ip', 'addr', 'add', `${host.addr}/24`, 'dev', 'eth0')
      await inNs(ns, 'ip', 'route', 'add', 'default', 'via', `${lanNet}.1`)
    } else {
      host.addr = `${this.wan}.${10 + index}`
      await this.plugIntoBridge(ns, `p${index}`, host.addr)
    }
    if (spec.uploadCap !== undefined) {
      // tbf on the host's egress: its upload. burst sized for the rate (>= rate/HZ).
      const bits = tcRateBits(spec.uploadCap)
      const burst = Math.max(32 * 1024, Math.ceil(bits / 8 / 100))
      await inNs(ns, 'tc', 'qdisc', 'add', 'dev', 'eth0', 'root', 'tbf', 'rate', spec.uploadCap, 'burst', String(burst), 'latency', '100ms')
      host.uploadCapBits = bits
    }
    this.hosts.push(host)
  }
}
