import { countPorts, formatPortSpec, parsePortSpec, splitPortRanges } from './ports.js';
import { DEFAULT_SCAN_CONFIG, mergeConfig, validateScanConfig, validateScanConfigOverride, type ScanConfig } from './scan-config.js';

// A deep copy as a plain object so tests can break it freely.
const base = (): Record<string, any> => JSON.parse(JSON.stringify(DEFAULT_SCAN_CONFIG));

const errorsOf = (v: unknown) => {
  const r = validateScanConfig(v);
  return r.ok ? [] : r.errors;
};

describe('port lists', () => {
  it('normalises to sorted, merged ranges', () => {
    expect(parsePortSpec('8000-8100,22,80,81,79,8050-8200')).toEqual({
      ok: true,
      ranges: [
        [22, 22],
        [79, 81],
        [8000, 8200],
      ],
    });
    expect(formatPortSpec([[22, 22], [79, 81]])).toBe('22,79-81');
  });

  it.each(['', '0', '65536', '80-22', '22,', ',22', '22 80', '-1', '1-', 'T:22', '08', '22;id', '1-2-3'])('refuses %j', (spec) => {
    expect(parsePortSpec(spec).ok).toBe(false);
  });

  it('splits into balanced, disjoint, contiguous shards', () => {
    const shards = splitPortRanges([[1, 65535]], 4);
    expect(shards).toEqual([[[1, 16384]], [[16385, 32768]], [[32769, 49152]], [[49153, 65535]]]);
    const odd = splitPortRanges([[22, 22], [80, 81], [443, 445]], 3);
    expect(odd).toEqual([[[22, 22], [80, 80]], [[81, 81], [443, 443]], [[444, 445]]]);
    expect(splitPortRanges([[22, 22], [80, 80]], 5)).toHaveLength(2);
    expect(odd.flat().reduce((n, [lo, hi]) => n + hi - lo + 1, 0)).toBe(countPorts([[22, 22], [80, 81], [443, 445]]));
  });
});

describe('validateScanConfig', () => {
  it('accepts the defaults', () => {
    expect(validateScanConfig(DEFAULT_SCAN_CONFIG)).toEqual({ ok: true, config: DEFAULT_SCAN_CONFIG });
  });

  it('returns a normalised copy', () => {
    const c = base();
    delete c.openPorts.allPorts;
    c.openPorts.ports = '443,22,80-81,81';
    c.openPorts.protocols = ['udp', 'tcp'];
    const r = validateScanConfig(c);
    expect(r.ok && r.config.openPorts.ports).toBe('22,80-81,443');
    expect(r.ok && r.config.openPorts.protocols).toEqual(['tcp', 'udp']);
  });

  it.each<[string, (c: Record<string, any>) => void, string, RegExp]>([
    ['unknown top-level field', (c) => (c.nmapArgs = '--script=evil'), 'nmapArgs', /unknown field "nmapArgs"/],
    ['unknown nested field', (c) => (c.openPorts.extra = '-iL /etc/passwd'), 'openPorts.extra', /unknown field/],
    ['unknown services field', (c) => (c.services.scripts = 'evil'), 'services.scripts', /unknown field/],
    ['__proto__ key', (c) => Object.defineProperty(c, '__proto__', { value: {}, enumerable: true }), '__proto__', /unknown field/],
    ['missing field', (c) => delete c.importMode, 'importMode', /required/],
    ['wrong type', (c) => (c.shards = '4'), 'shards', /expected an integer/],
    ['fraction', (c) => (c.openPorts.minRate = 1.5), 'openPorts.minRate', /integer/],
    ['rate too high', (c) => (c.openPorts.maxRate = 100001), 'openPorts.maxRate', /between 1 and 100000/],
    ['rate zero', (c) => (c.openPorts.minRate = 0), 'openPorts.minRate', /between/],
    ['retries', (c) => (c.openPorts.maxRetries = 11), 'openPorts.maxRetries', /between 0 and 10/],
    ['rtt', (c) => (c.openPorts.maxRttMs = 60001), 'openPorts.maxRttMs', /between/],
    ['timeout', (c) => (c.openPorts.timeoutSeconds = 0), 'openPorts.timeoutSeconds', /between/],
    ['intensity', (c) => (c.services.versionIntensity = 10), 'services.versionIntensity', /between 0 and 9/],
    ['shards', (c) => (c.shards = 65), 'shards', /between 1 and 64/],
    ['mode', (c) => (c.importMode = 'merge'), 'importMode', /insert, append, update, replace/],
    ['scan type', (c) => (c.openPorts.scanType = 'xmas'), 'openPorts.scanType', /syn, connect/],
    ['protocol', (c) => (c.openPorts.protocols = ['sctp']), 'openPorts.protocols', /tcp, udp/],
    ['no protocol', (c) => (c.openPorts.protocols = []), 'openPorts.protocols', /non-empty/],
    ['protocol twice', (c) => (c.openPorts.protocols = ['tcp', 'tcp']), 'openPorts.protocols', /twice/],
    ['bad ports', (c) => ((c.openPorts.ports = '22,99999'), delete c.openPorts.allPorts), 'openPorts.ports', /1\.\.65535/],
    ['allPorts false', (c) => (c.openPorts.allPorts = false), 'openPorts.allPorts', /only be true/],
    ['two selections', (c) => (c.openPorts.topPorts = 100), 'openPorts', /only one of topPorts, allPorts/],
    ['no selection', (c) => delete c.openPorts.allPorts, 'openPorts', /one of ports, topPorts or allPorts/],
    ['min rate above max', (c) => ((c.openPorts.minRate = 500), (c.openPorts.maxRate = 100)), 'openPorts.minRate', /must not exceed maxRate/],
    ['rtt order', (c) => ((c.openPorts.minRttMs = 500), (c.openPorts.initialRttMs = 100)), 'openPorts.minRttMs', /initialRttMs/],
    ['sharded insert', (c) => (c.shards = 2), 'shards', /importMode append/],
    ['sharded top ports', (c) => ((c.shards = 2), (c.importMode = 'append'), delete c.openPorts.allPorts, (c.openPorts.topPorts = 100)), 'shards', /topPorts cannot be sharded/],
    ['more shards than ports', (c) => ((c.shards = 3), (c.importMode = 'append'), delete c.openPorts.allPorts, (c.openPorts.ports = '22,80')), 'shards', /only 2 ports/],
    ['services not object', (c) => (c.services = true), 'services', /false or an object/],
    ['null optional', (c) => (c.openPorts.maxRetries = null), 'openPorts.maxRetries', /integer, got null/],
  ])('refuses %s', (_name, breakIt, path, message) => {
    const c = base();
    breakIt(c);
    const errors = errorsOf(c);
    expect(errors).toContainEqual({ path, message: expect.stringMatching(message) });
  });

  it.each([null, [], 'config', 42])('refuses %j as a whole', (v) => {
    expect(errorsOf(v)).toEqual([{ path: '', message: expect.stringMatching(/expected an object/) }]);
  });

  it('accepts services: false and sharding in append mode', () => {
    const c = { ...base(), services: false, shards: 4, importMode: 'append' };
    expect(validateScanConfig(c).ok).toBe(true);
  });
});

describe('mergeConfig', () => {
  it('replaces the port selection as a whole', () => {
    const m = mergeConfig(DEFAULT_SCAN_CONFIG, { openPorts: { ports: '80,443' } });
    expect(m.openPorts.allPorts).toBeUndefined();
    expect(m.openPorts.ports).toBe('80,443');
    expect(m.openPorts.minRate).toBe(2000);
    expect(validateScanConfig(m).ok).toBe(true);
  });

  it('unsets optional knobs given as null', () => {
    const o = validateScanConfigOverride({ openPorts: { minRate: null, maxRate: 100 } });
    expect(o.ok).toBe(true);
    const m = mergeConfig(DEFAULT_SCAN_CONFIG, o.ok ? o.override : {});
    expect(m.openPorts).not.toHaveProperty('minRate');
    expect(m.openPorts.maxRate).toBe(100);
  });

  it('turns services off and back on over the defaults', () => {
    const off = mergeConfig(DEFAULT_SCAN_CONFIG, { services: false });
    expect(off.services).toBe(false);
    const on = mergeConfig(off, { services: { defaultScripts: true } });
    expect(on.services).toEqual({ ...DEFAULT_SCAN_CONFIG.services, defaultScripts: true });
  });

  it('cannot have its defaults changed by accident', () => {
    expect(() => {
      (DEFAULT_SCAN_CONFIG.openPorts as { minRate?: number }).minRate = 1;
    }).toThrow(TypeError);
  });

  it('leaves the base untouched', () => {
    const before = JSON.stringify(DEFAULT_SCAN_CONFIG);
    mergeConfig(DEFAULT_SCAN_CONFIG, { openPorts: { topPorts: 100 }, shards: 2, importMode: 'append' });
    expect(JSON.stringify(DEFAULT_SCAN_CONFIG)).toBe(before);
  });

  it('override validation refuses unknown keys and null for required ones', () => {
    expect(validateScanConfigOverride({ openPorts: { rawArgs: '-sV' } })).toMatchObject({ ok: false, errors: [{ path: 'openPorts.rawArgs' }] });
    expect(validateScanConfigOverride({ importMode: null })).toMatchObject({ ok: false, errors: [{ path: 'importMode' }] });
    const c: ScanConfig = mergeConfig(DEFAULT_SCAN_CONFIG, {});
    expect(c).toEqual(DEFAULT_SCAN_CONFIG);
  });
});
