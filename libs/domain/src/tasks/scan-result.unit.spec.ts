import type { NmapHost, NmapPort, NmapRunMeta } from '#events';
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from '../scanning/scan-config.js';
import { adaptToPrivileges, mergePhases, portsForServices, taskCoverage } from './scan-result.js';

const port = (protocol: 'tcp' | 'udp', n: number, state: string, extra: Partial<NmapPort> = {}): NmapPort => ({ protocol, port: n, state: { state, reason: 'syn-ack' }, scripts: [], ...extra });
const host = (ports: NmapPort[], extra: Partial<NmapHost> = {}): NmapHost => ({
  ip: '127.0.0.1',
  addresses: [{ addr: '127.0.0.1', addrtype: 'ipv4' }],
  status: { state: 'up', reason: 'user-set' },
  hostnames: [],
  ports,
  extraPorts: [{ state: 'closed', count: 998 }],
  hostScripts: [],
  ...extra,
});
const script = (id: string) => ({ id, output: `${id} output`, nodes: [] });

describe('two phases become one observation', () => {
  it('sends open TCP ports and open or open|filtered UDP ports to the services phase', () => {
    const h = host([port('tcp', 22, 'open'), port('tcp', 23, 'closed'), port('udp', 53, 'open|filtered'), port('udp', 161, 'open'), port('tcp', 25, 'filtered')]);
    expect(portsForServices(h)).toEqual([
      { proto: 'tcp', port: 22 },
      { proto: 'udp', port: 53 },
      { proto: 'udp', port: 161 },
    ]);
  });

  it('given phase 2, then every script, the host scripts, the OS and trace are kept, and phase 1 decides state', () => {
    const p1 = host([port('tcp', 22, 'open'), port('tcp', 80, 'open'), port('udp', 53, 'open|filtered')], { hostnames: [{ name: 'localhost', type: 'PTR' }] });
    const p2 = host(
      [
        port('tcp', 22, 'open', { service: { name: 'ssh', product: 'OpenSSH', version: '9.2', cpes: ['cpe:/a:openbsd:openssh:9.2'] }, scripts: [script('ssh-hostkey'), script('ssh2-enum-algos')] }),
        port('tcp', 80, 'closed', { service: { name: 'http', cpes: [] }, scripts: [script('http-title'), script('http-headers')] }),
        port('udp', 53, 'open', { service: { name: 'domain', cpes: [] } }),
      ],
      {
        hostScripts: [script('smb-os-discovery')],
        os: { matches: [{ name: 'Linux 5.x', accuracy: 100, classes: [] }], portsUsed: [] },
        trace: { hops: [{ ttl: 1, ipaddr: '127.0.0.1' }] },
        distance: 0,
        hostnames: [{ name: 'localhost', type: 'PTR' }],
      },
    );
    const m = mergePhases(p1, p2, ['app.test']);
    expect(m.ports.map((p) => [p.port, p.state.state, p.service?.name, p.scripts.map((s) => s.id)])).toEqual([
      [22, 'open', 'ssh', ['ssh-hostkey', 'ssh2-enum-algos']],
      [80, 'open', 'http', ['http-title', 'http-headers']],
      [53, 'open', 'domain', []],
    ]);
    expect(m.hostScripts.map((s) => s.id)).toEqual(['smb-os-discovery']);
    expect(m.os?.matches[0].name).toBe('Linux 5.x');
    expect(m.trace?.hops).toHaveLength(1);
    expect(m.hostnames).toEqual([
      { name: 'app.test', type: 'user' },
      { name: 'localhost', type: 'PTR' },
    ]);
    expect(m.extraPorts).toEqual(p1.extraPorts);
  });

  it('given no phase 2, then phase 1 goes out with the user names attached', () => {
    const p1 = host([port('tcp', 22, 'open')]);
    expect(mergePhases(p1, undefined, ['a.test', 'b.test'])).toEqual({ ...p1, hostnames: [{ name: 'a.test', type: 'user' }, { name: 'b.test', type: 'user' }] });
  });
});

describe('coverage of a task', () => {
  const cfg = (o: Partial<ScanConfig['openPorts']>): ScanConfig => ({ ...DEFAULT_SCAN_CONFIG, openPorts: { ...DEFAULT_SCAN_CONFIG.openPorts, allPorts: undefined, ...o } });
  it('is the explicit list, per protocol asked', () =>
    expect(taskCoverage(cfg({ ports: '22,80-81', protocols: ['tcp', 'udp'] }), { index: 0, of: 1 })).toEqual({ tcp: [[22, 22], [80, 81]], udp: [[22, 22], [80, 81]] }));
  it('is the shard when the task has one', () => expect(taskCoverage(cfg({ allPorts: true }), { index: 1, of: 2, ports: '32769-65535' })).toEqual({ tcp: [[32769, 65535]] }));
  it('is every port for allPorts', () => expect(taskCoverage(DEFAULT_SCAN_CONFIG, { index: 0, of: 1 })).toEqual({ tcp: [[1, 65535]] }));
  it('comes from the report for top-N, and is unknown without one', () => {
    const meta: NmapRunMeta = { scanner: 'nmap', args: 'nmap --top-ports 3', scanInfo: [{ type: 'syn', protocol: 'tcp', numservices: 3, services: '22,80,443' }], preScripts: [], postScripts: [] };
    expect(taskCoverage(cfg({ topPorts: 3 }), { index: 0, of: 1 }, meta)).toEqual({ tcp: [[22, 22], [80, 80], [443, 443]] });
    expect(taskCoverage(cfg({ topPorts: 3 }), { index: 0, of: 1 })).toEqual({});
  });
});

describe('what an unprivileged worker can run', () => {
  it('turns SYN into connect, and refuses UDP and OS detection', () => {
    const c = adaptToPrivileges(DEFAULT_SCAN_CONFIG, false);
    expect(c.ok && c.config.openPorts.scanType).toBe('connect');
    expect(adaptToPrivileges(DEFAULT_SCAN_CONFIG, true)).toEqual({ ok: true, config: DEFAULT_SCAN_CONFIG });
    expect(adaptToPrivileges({ ...DEFAULT_SCAN_CONFIG, openPorts: { ...DEFAULT_SCAN_CONFIG.openPorts, protocols: ['udp'] } }, false)).toMatchObject({ ok: false, message: /UDP scanning needs root/ });
    expect(adaptToPrivileges({ ...DEFAULT_SCAN_CONFIG, services: { ...DEFAULT_SCAN_CONFIG.services as object, osDetection: true } as ScanConfig['services'] }, false).ok).toBe(false);
  });
});
