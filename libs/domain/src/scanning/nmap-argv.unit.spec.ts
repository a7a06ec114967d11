import { buildOpenPortsArgv, buildServicesArgv, NmapArgvError, shardPorts, ShardingError } from './nmap-argv.js';
import { DEFAULT_SCAN_CONFIG, mergeConfig, type ScanConfig, type ScanConfigOverride } from './scan-config.js';

const OUT = '/tmp/falcoria-w1/task-1.xml';
const cfg = (o: ScanConfigOverride = {}): ScanConfig => mergeConfig(DEFAULT_SCAN_CONFIG, o);

describe('buildOpenPortsArgv', () => {
  it('renders the default config', () => {
    expect(buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, { ip: '10.0.0.1' }, OUT)).toEqual([
      '-sS',
      '-p-',
      '-Pn',
      '-n',
      '--max-retries',
      '1',
      '--min-rate',
      '2000',
      '-oX',
      OUT,
      '10.0.0.1',
    ]);
  });

  it('renders every option', () => {
    const c = cfg({
      openPorts: {
        protocols: ['tcp', 'udp'],
        ports: '22,80,8000-8100',
        scanType: 'connect',
        hostDiscovery: true,
        dns: true,
        maxRetries: 0,
        minRttMs: 50,
        maxRttMs: 2000,
        initialRttMs: 500,
        minRate: 10,
        maxRate: 300,
      },
    });
    expect(buildOpenPortsArgv(c, { ip: '2001:DB8::1' }, OUT)).toEqual([
      '-sT',
      '-sU',
      '-p',
      '22,80,8000-8100',
      '--max-retries',
      '0',
      '--min-rtt-timeout',
      '50ms',
      '--max-rtt-timeout',
      '2000ms',
      '--initial-rtt-timeout',
      '500ms',
      '--min-rate',
      '10',
      '--max-rate',
      '300',
      '-6',
      '-oX',
      OUT,
      '2001:db8::1',
    ]);
  });

  it('scans UDP alone without a TCP technique', () => {
    const argv = buildOpenPortsArgv(cfg({ openPorts: { protocols: ['udp'], ports: '53' } }), { ip: '10.0.0.1' }, OUT);
    expect(argv.slice(0, 3)).toEqual(['-sU', '-p', '53']);
  });

  it('uses --top-ports and a shard when given', () => {
    expect(buildOpenPortsArgv(cfg({ openPorts: { topPorts: 100 } }), { ip: '10.0.0.1' }, OUT)).toContain('--top-ports');
    const argv = buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, { ip: '10.0.0.1', ports: '1-16384' }, OUT);
    expect(argv.slice(1, 3)).toEqual(['-p', '1-16384']);
    expect(argv).not.toContain('-p-');
  });

  it.each([
    ['option as target', { ip: '-iL /etc/passwd' }],
    ['injection', { ip: '127.0.0.1;id' }],
    ['host name', { ip: 'example.com' }],
    ['CIDR', { ip: '10.0.0.0/24' }],
    ['mapped', { ip: '::ffff:10.0.0.1' }],
    ['bad shard', { ip: '10.0.0.1', ports: '--script=evil' }],
    ['shard metachar', { ip: '10.0.0.1', ports: '22;id' }],
  ])('refuses %s', (_name, target) => {
    expect(() => buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, target, OUT)).toThrow(NmapArgvError);
  });

  it.each(['relative.xml', '../x.xml', '/tmp/../etc/passwd', '/tmp/a b.xml', '/tmp/$(id).xml', '-oN', '/tmp/dir/', ''])('refuses output path %j', (path) => {
    expect(() => buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, { ip: '10.0.0.1' }, path)).toThrow(/output path/);
  });

  it('refuses a config that bypassed the validator', () => {
    const evil = { ...DEFAULT_SCAN_CONFIG, openPorts: { ...DEFAULT_SCAN_CONFIG.openPorts, minRate: '--script=evil' } } as unknown as ScanConfig;
    expect(() => buildOpenPortsArgv(evil, { ip: '10.0.0.1' }, OUT)).toThrow(/openPorts.minRate/);
    const extra = { ...DEFAULT_SCAN_CONFIG, raw: '-sV' } as unknown as ScanConfig;
    expect(() => buildOpenPortsArgv(extra, { ip: '10.0.0.1' }, OUT)).toThrow(/unknown field "raw"/);
  });
});

describe('buildServicesArgv', () => {
  it('renders -sV with exactly the open ports', () => {
    expect(buildServicesArgv(DEFAULT_SCAN_CONFIG, { ip: '10.0.0.1' }, [{ proto: 'tcp', port: 443 }, { proto: 'tcp', port: 22 }, { proto: 'tcp', port: 22 }], OUT)).toEqual([
      '-sS',
      '-sV',
      '-p',
      '22,443',
      '-Pn',
      '-n',
      '-oX',
      OUT,
      '10.0.0.1',
    ]);
  });

  it('renders every services option, T:/U: prefixes and IPv6', () => {
    const c = cfg({
      openPorts: { protocols: ['tcp', 'udp'], ports: '1-1000', minRate: null, maxRate: 300, dns: true },
      services: { versionIntensity: 9, defaultScripts: true, aggressive: true, osDetection: true, traceroute: true },
    });
    const open = [
      { proto: 'udp', port: 53 },
      { proto: 'tcp', port: 80 },
      { proto: 'tcp', port: 81 },
      { proto: 'udp', port: 161 },
    ] as const;
    expect(buildServicesArgv(c, { ip: 'fe80::1' }, open, OUT)).toEqual([
      '-sS',
      '-sU',
      '-sV',
      '--version-intensity',
      '9',
      '-sC',
      '-A',
      '-O',
      '--traceroute',
      '-p',
      'T:80-81,U:53,161',
      '-Pn',
      '--max-rate',
      '300',
      '-6',
      '-oX',
      OUT,
      'fe80::1',
    ]);
    expect(buildServicesArgv(c, { ip: '10.0.0.1' }, [{ proto: 'udp', port: 53 }], OUT).slice(0, 4)).toEqual(['-sU', '-sV', '--version-intensity', '9']);
    expect(buildServicesArgv(c, { ip: '10.0.0.1' }, [{ proto: 'udp', port: 53 }], OUT)).toContain('U:53');
  });

  it('refuses when there is nothing to do or the input is bad', () => {
    expect(() => buildServicesArgv(cfg({ services: false }), { ip: '10.0.0.1' }, [{ proto: 'tcp', port: 80 }], OUT)).toThrow(/no services phase/);
    expect(() => buildServicesArgv(DEFAULT_SCAN_CONFIG, { ip: '10.0.0.1' }, [], OUT)).toThrow(/no open ports/);
    expect(() => buildServicesArgv(DEFAULT_SCAN_CONFIG, { ip: '10.0.0.1' }, [{ proto: 'tcp', port: 0 }], OUT)).toThrow(NmapArgvError);
    expect(() => buildServicesArgv(DEFAULT_SCAN_CONFIG, { ip: '10.0.0.1' }, [{ proto: 'sctp' as 'tcp', port: 80 }], OUT)).toThrow(NmapArgvError);
    expect(() => buildServicesArgv(DEFAULT_SCAN_CONFIG, { ip: '$(id)' }, [{ proto: 'tcp', port: 80 }], OUT)).toThrow(NmapArgvError);
  });
});

describe('shardPorts', () => {
  const appended = (o: ScanConfigOverride) => cfg({ importMode: 'append', ...o });

  it('one shard means the config selection itself', () => {
    expect(shardPorts(DEFAULT_SCAN_CONFIG)).toEqual([{ index: 0, of: 1 }]);
  });

  it('splits a port list at range boundaries', () => {
    expect(shardPorts(appended({ openPorts: { ports: '22,80,443,8000-8003' }, shards: 3 }))).toEqual([
      { index: 0, of: 3, ports: '22,80,443' },
      { index: 1, of: 3, ports: '8000-8001' },
      { index: 2, of: 3, ports: '8002-8003' },
    ]);
  });

  it('returns fewer shards than asked when ports run out', () => {
    expect(shardPorts(appended({ openPorts: { ports: '22,80' } }), 5).map((s) => s.ports)).toEqual(['22', '80']);
  });

  it('refuses top ports and bad counts', () => {
    expect(() => shardPorts(appended({ openPorts: { topPorts: 1000 } }), 2)).toThrow(ShardingError);
    expect(() => shardPorts(DEFAULT_SCAN_CONFIG, 0)).toThrow(ShardingError);
    expect(() => shardPorts(DEFAULT_SCAN_CONFIG, 65)).toThrow(ShardingError);
  });

  it('produces shards the phase-1 builder accepts', () => {
    const c = appended({ shards: 8 });
    for (const s of shardPorts(c)) expect(buildOpenPortsArgv(c, { ip: '10.0.0.1', ports: s.ports }, OUT)).toContain(s.ports);
  });
});
