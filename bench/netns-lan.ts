// A small LAN of scan targets that the benchmark builds itself and tears down: one bridge in the root
// namespace holding 10.213.N.1/24, and per host a network namespace joined to the bridge by a veth
// pair, with its own address 10.213.N.(11+i), a listener process and nftables rules. Needs root,
// iproute2 and nft. Only these addresses may be scanned.
//
// Why nftables and not latency: this kernel has no netem (`tc qdisc … netem`: "Specified qdisc kind
// is unknown"; of the qdiscs only pfifo, tbf, htb and ingress are built in, and none of them delays).
// A host that drops probes to the ports it does not serve (nmap: "filtered") makes nmap wait on
// retransmissions and timeouts, as firewalled hosts on the internet do; that wait, not CPU, is what
// more workers run side by side. A listener can also answer its banner late, which is what slows
// nmap's service detection on a distant or loaded host.
//
// Every name carries the owning process id (namespaces `fsb-<pid>-<i>`, links `fsb<pid>…`), so a
// run killed before its cleanup is swept by the next one (`sweepStaleLans`), never a live run's.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';

export interface LanListener {
  readonly port: number;
  /** Sent on connect, after bannerDelayMs (an SSH banner lets nmap's version detection name it). */
  readonly banner?: string;
  readonly bannerDelayMs?: number;
}

export interface LanOptions {
  /** Number of target hosts, 1–200. */
  readonly hosts: number;
  readonly tcp?: readonly LanListener[];
  /** Drop every inbound TCP packet not meant for a listener: those ports are filtered, not closed. */
  readonly dropOtherTcp?: boolean;
}

export interface Lan {
  readonly bridge: string;
  /** The bridge's subnet, e.g. 10.213.207.0/24: the only addresses a scan may name. */
  readonly cidr: string;
  /** The root namespace's address on the bridge (where scans come from). */
  readonly gatewayIp: string;
  readonly ips: readonly string[];
  /** `first-last`, a dash range the tasker accepts as targets. */
  readonly range: string;
  readonly namespaces: readonly string[];
  close(): void;
}

const run = (args: readonly string[], input?: string) => execFileSync(args[0], args.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], timeout: 10000, input }).toString();
const quiet = (args: readonly string[]) => {
  try {
    run(args);
  } catch {
    /* already gone */
  }
};

/** Why a LAN cannot be built here, or undefined when it can (root, ip netns, nft). */
export function lanUnavailableReason(): string | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return 'needs root (network namespaces, veth, bridge and nftables rules)';
  for (const cmd of [['ip', 'netns', 'list'], ['nft', '--version']]) {
    try {
      run(cmd);
    } catch {
      return `\`${cmd.join(' ')}\` failed: install iproute2 and nftables`;
    }
  }
  return undefined;
}

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes namespaces and links left by runs whose process is gone. Returns how many were removed. */
export function sweepStaleLans(): number {
  let n = 0;
  for (const line of run(['ip', 'netns', 'list']).split('\n')) {
    const m = /^(fsb-(\d+)-\d+)\b/.exec(line);
    if (!m || alive(Number(m[2]))) continue;
    for (const pid of run(['ip', 'netns', 'pids', m[1]]).split('\n').filter(Boolean)) quiet(['kill', '-9', pid]);
    quiet(['ip', 'netns', 'del', m[1]]);
    n++;
  }
  for (const line of run(['ip', '-o', 'link', 'show']).split('\n')) {
    const m = /^\d+:\s+(fsb(\d+)(?:h\d+)?)[@:]/.exec(line);
    if (!m || alive(Number(m[2]))) continue;
    quiet(['ip', 'link', 'del', m[1]]);
    n++;
  }
  return n;
}

function freeSubnet(): number {
  const used = run(['ip', '-4', '-o', 'addr', 'show']) + run(['ip', '-4', 'route', 'show']);
  // From the top of 10.213.0.0/16 down: test/support/netns.ts takes /30s at random below 251.
  for (let n = 254; n >= 200; n--) if (!used.includes(`10.213.${n}.`)) return n;
  throw new Error('no free 10.213.x.0/24 subnet (200-254 all in use)');
}

// One listener process per namespace (node, no shell). A banner comes after its delay; the client
// hanging up first is fine.
const LISTENER = `
const net = require('node:net');
const specs = JSON.parse(process.argv[1]);
let ready = 0;
for (const s of specs) {
  net.createServer((c) => {
    c.on('error', () => {});
    if (s.banner) {
      const t = setTimeout(() => { if (!c.destroyed) c.write(s.banner + '\\r\\n'); }, s.bannerDelayMs || 0);
      c.once('close', () => clearTimeout(t));
      c.once('data', () => c.destroy());
    }
  }).listen(s.port, '0.0.0.0', () => { if (++ready === specs.length) process.stdout.write('ready\\n'); });
}
if (specs.length === 0) process.stdout.write('ready\\n');
setInterval(() => {}, 1 << 30);
`;

export async function createNetnsLan(opts: LanOptions): Promise<Lan> {
  if (!Number.isInteger(opts.hosts) || opts.hosts < 1 || opts.hosts > 200) throw new Error('hosts must be 1-200');
  const tag = `fsb${process.pid}`;
  if (tag.length + 4 > 15) throw new Error(`process id ${process.pid} too long for interface names`);
  const n = freeSubnet();
  const bridge = tag;
  const gatewayIp = `10.213.${n}.1`;
  const ips = Array.from({ length: opts.hosts }, (_, i) => `10.213.${n}.${11 + i}`);
  const namespaces = ips.map((_, i) => `fsb-${process.pid}-${i}`);
  const listeners: ChildProcess[] = [];
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    process.removeListener('exit', close);
    for (const l of listeners) if (l.exitCode === null && l.signalCode === null) l.kill('SIGKILL');
    // Host-side links first: deleting a namespace frees its devices only later, in the background.
    namespaces.forEach((ns, i) => {
      quiet(['ip', 'link', 'del', `${tag}h${i}`]);
      quiet(['ip', 'netns', 'del', ns]);
    });
    quiet(['ip', 'link', 'del', bridge]);
  };
  process.once('exit', close);
  try {
    run(['ip', 'link', 'add', bridge, 'type', 'bridge']);
    run(['ip', 'addr', 'add', `${gatewayIp}/24`, 'dev', bridge]);
    run(['ip', 'link', 'set', bridge, 'up']);
    const tcp = opts.tcp ?? [];
    const rules = opts.dropOtherTcp
      ? [
          'table inet falcoria_bench {',
          '  chain input { type filter hook input priority 0; policy accept;',
          '    iif "lo" accept',
          tcp.length ? `    tcp dport != { ${tcp.map((l) => l.port).join(', ')} } drop` : '    meta l4proto tcp drop',
          '  }',
          '}',
        ].join('\n') + '\n'
      : undefined;
    const ready: Promise<void>[] = [];
    for (let i = 0; i < ips.length; i++) {
      const ns = namespaces[i];
      const outer = `${tag}h${i}`;
      const inner = `${tag}n${i}`;
      run(['ip', 'netns', 'add', ns]);
      run(['ip', 'link', 'add', outer, 'type', 'veth', 'peer', 'name', inner, 'netns', ns]);
      run(['ip', 'link', 'set', outer, 'master', bridge, 'up']);
      run(['ip', '-n', ns, 'addr', 'add', `${ips[i]}/24`, 'dev', inner]);
      run(['ip', '-n', ns, 'link', 'set', inner, 'up']);
      run(['ip', '-n', ns, 'link', 'set', 'lo', 'up']);
      if (rules) run(['ip', 'netns', 'exec', ns, 'nft', '-f', '-'], rules);
      const l = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', LISTENER, JSON.stringify(tcp)], { stdio: ['ignore', 'pipe', 'inherit'] });
      listeners.push(l);
      ready.push(
        new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`listener in ${ns} did not start within 30 s`)), 30000);
          l.stdout!.once('data', () => {
            clearTimeout(timer);
            resolve();
          });
          l.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`listener in ${ns} exited with ${code}`));
          });
        }),
      );
    }
    await Promise.all(ready);
  } catch (e) {
    close();
    throw e;
  }
  return { bridge, cidr: `10.213.${n}.0/24`, gatewayIp, ips, range: `${ips[0]}-${ips[ips.length - 1]}`, namespaces, close };
}
