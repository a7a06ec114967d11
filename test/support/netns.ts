import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';

// Scan targets the tests create themselves: a network namespace joined to the host by a veth pair
// on a /30 of 10.213.0.0/16, with small TCP listeners inside and nftables rules to make ports
// filtered. Needs root. Everything is torn down in close(), and at process exit whatever is left.

export interface NetnsListener {
  readonly port: number;
  /** Sent on connect (e.g. an SSH banner), so nmap's version probes have something to recognise. */
  readonly banner?: string;
  /** Answer HTTP requests with this Server header. */
  readonly httpServer?: string;
}

export interface NetnsHostOptions {
  readonly tcp?: readonly NetnsListener[];
  /** TCP ports whose packets the namespace drops (nmap: filtered). */
  readonly dropTcp?: readonly number[];
  /** Drop every inbound packet: nmap sees nothing answer, a scan crawls until its deadline. */
  readonly dropAll?: boolean;
}

export interface NetnsHost {
  readonly namespace: string;
  /** The address inside the namespace: the scan target. */
  readonly ip: string;
  /** The host side of the veth pair. */
  readonly peerIp: string;
  readonly cidr: string;
  close(): void;
}

const live = new Set<NetnsHost>();
let exitHook = false;

const run = (cmd: string, args: readonly string[], input?: string) => execFileSync(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], timeout: 10000, input });

/** Root, iproute2 with netns, and nft: what the namespace tests need. */
export function netnsAvailable(): boolean {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return false;
  try {
    run('ip', ['netns', 'list']);
    run('nft', ['--version']);
    return true;
  } catch {
    return false;
  }
}

// A listener process inside the namespace: node, no shell, one script for every port.
const LISTENER = `
const net = require('node:net');
const specs = JSON.parse(process.argv[1]);
let ready = 0;
for (const s of specs) {
  net.createServer((c) => {
    c.on('error', () => {});
    // A banner service hangs up when the client answers, so scripts waiting for a handshake end at once.
    if (s.banner) { c.write(s.banner + '\\r\\n'); c.once('data', () => c.destroy()); }
    if (s.httpServer) c.once('data', () => c.end('HTTP/1.1 200 OK\\r\\nServer: ' + s.httpServer + '\\r\\nContent-Type: text/html\\r\\nContent-Length: 41\\r\\nConnection: close\\r\\n\\r\\n<html><title>falcoria test</title></html>'));
  }).listen(s.port, '0.0.0.0', () => { if (++ready === specs.length) process.stdout.write('ready\\n'); });
}
if (specs.length === 0) process.stdout.write('ready\\n');
setInterval(() => {}, 1 << 30);
`;

function freeSubnet(): number {
  const used = run('ip', ['-4', '-o', 'addr', 'show']).toString();
  for (let i = 0; i < 50; i++) {
    const n = 1 + Math.floor(Math.random() * 250);
    if (!used.includes(`10.213.${n}.`)) return n;
  }
  throw new Error('no free 10.213.x.0/30 subnet');
}

export async function createNetnsHost(opts: NetnsHostOptions = {}): Promise<NetnsHost> {
  const id = randomBytes(3).toString('hex');
  const ns = `fal-${id}`;
  const outer = `fo${id}`;
  const inner = `fi${id}`;
  const n = freeSubnet();
  const peerIp = `10.213.${n}.1`;
  const ip = `10.213.${n}.2`;
  let listener: ChildProcess | undefined;
  let closed = false;
  const host: NetnsHost = {
    namespace: ns,
    ip,
    peerIp,
    cidr: `10.213.${n}.0/30`,
    close() {
      if (closed) return;
      closed = true;
      live.delete(host);
      listener?.kill('SIGKILL');
      for (const args of [['link', 'del', outer], ['netns', 'del', ns]]) {
        try {
          run('ip', args);
        } catch {
          /* already gone */
        }
      }
    },
  };
  live.add(host);
  if (!exitHook) {
    exitHook = true;
    process.once('exit', () => {
      for (const h of [...live]) h.close();
    });
  }
  try {
    run('ip', ['netns', 'add', ns]);
    run('ip', ['link', 'add', outer, 'type', 'veth', 'peer', 'name', inner]);
    run('ip', ['link', 'set', inner, 'netns', ns]);
    run('ip', ['addr', 'add', `${peerIp}/30`, 'dev', outer]);
    run('ip', ['link', 'set', outer, 'up']);
    run('ip', ['netns', 'exec', ns, 'ip', 'addr', 'add', `${ip}/30`, 'dev', inner]);
    run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', inner, 'up']);
    run('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']);
    if (opts.dropAll || opts.dropTcp?.length) {
      const rules = [
        'table inet falcoria_test {',
        `  chain input { type filter hook input priority 0; policy ${opts.dropAll ? 'drop' : 'accept'};`,
        ...(opts.dropTcp?.length ? [`    tcp dport { ${opts.dropTcp.join(', ')} } drop`] : []),
        '  }',
        '}',
      ];
      run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], rules.join('\n') + '\n');
    }
    const specs = opts.tcp ?? [];
    listener = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', LISTENER, JSON.stringify(specs)], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('namespace listeners did not start within 10 s')), 10000);
      listener!.stdout!.once('data', () => {
        clearTimeout(timer);
        resolve();
      });
      listener!.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`namespace listener exited with ${code}`));
      });
    });
    return host;
  } catch (e) {
    host.close();
    throw e;
  }
}
