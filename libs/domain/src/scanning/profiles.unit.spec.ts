import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseProfile, PROFILE_NAMES } from './profiles.js';
import { DEFAULT_SCAN_CONFIG } from './scan-config.js';
import { shardPorts } from './nmap-argv.js';

const dir = join(process.cwd(), 'libs/domain/src/scanning/profiles');
const load = (name: string) => {
  const r = parseProfile(readFileSync(join(dir, `${name}.yaml`), 'utf8'));
  if (!r.ok) throw new Error(`${name}: ${JSON.stringify(r.errors)}`);
  return r;
};

describe('shipped profiles', () => {
  it('are exactly the listed names', () => {
    const files = readdirSync(dir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.slice(0, -5))
      .sort();
    expect(files).toEqual([...PROFILE_NAMES].sort());
  });

  it.each(PROFILE_NAMES)('%s validates and describes itself', (name) => {
    expect(load(name).description).toMatch(/\w{4}/);
  });

  it('default is the built-in default', () => {
    expect(load('default').config).toEqual(DEFAULT_SCAN_CONFIG);
  });

  it('encode their intent', () => {
    expect(load('only-open-ports').config.services).toBe(false);
    expect(load('udp').config.openPorts.protocols).toEqual(['udp']);
    expect(load('web').config).toMatchObject({ singleResolve: true, openPorts: { ports: '80,443,8000,8008,8080,8443,8888', maxRate: 300 } });
    expect(load('update-enrichment').config.importMode).toBe('update');
    expect(load('full-range').config.openPorts.allPorts).toBe(true);
    const sharded = load('port-sharding').config;
    expect(sharded).toMatchObject({ shards: 4, importMode: 'append' });
    expect(shardPorts(sharded).map((s) => s.ports)).toEqual(['1-16384', '16385-32768', '32769-49152', '49153-65535']);
  });
});

describe('parseProfile', () => {
  it('merges a partial profile onto a given base', () => {
    const r = parseProfile('openPorts:\n  topPorts: 100\n', { ...DEFAULT_SCAN_CONFIG, singleResolve: true });
    expect(r).toMatchObject({ ok: true, config: { singleResolve: true, openPorts: { topPorts: 100, minRate: 2000 } } });
    expect(r.ok && r.config.openPorts.allPorts).toBeUndefined();
  });

  it.each([
    ['unknown key', 'openPorts:\n  script: evil\n', 'openPorts.script'],
    ['raw args', 'nmapArgs: "-sV --script=evil"\n', 'nmapArgs'],
    ['out of range', 'shards: 100\n', 'shards'],
    ['merged result invalid', 'openPorts:\n  minRate: 5000\n  maxRate: 10\n', 'openPorts.minRate'],
    ['"yes" is not a boolean', 'singleResolve: yes\n', 'singleResolve'],
    ['description not text', 'description: [1]\n', 'description'],
    ['not a mapping', '- a\n- b\n', ''],
    ['duplicate keys', 'shards: 1\nshards: 2\n', ''],
    ['broken YAML', 'openPorts: [\n', ''],
    ['merge keys', 'x: &x {shards: 9}\n<<: *x\n', '<<'],
  ])('refuses %s', (_name, text, path) => {
    const r = parseProfile(text);
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.errors.map((e) => e.path)).toContain(path);
  });

  it('treats an empty document as no override', () => {
    expect(parseProfile('')).toMatchObject({ ok: true, config: DEFAULT_SCAN_CONFIG });
  });
});
