import fc from 'fast-check';
import { formatCidr, formatIPv4, formatIPv6, normalizeIp, parseCidr, parseIPv4, parseIPv6 } from './ip.js';
import { buildOpenPortsArgv, buildServicesArgv, NMAP_OPTION_NAMES, NmapArgvError } from './nmap-argv.js';
import { DEFAULT_SCAN_CONFIG, mergeConfig, validateScanConfig, validateScanConfigOverride, type ScanConfig } from './scan-config.js';
import { countTargets, iterateTargets, parseTargets } from './targets.js';

const OUT = '/tmp/falcoria-w1/task-1.xml';
const OPTIONS = new Set<string>(NMAP_OPTION_NAMES);
// What a shell or a path would read specially (commas are port-list separators, nothing more).
const META = /[\s;&|`$()<>\\"'*?[\]{}~!#%^=@+/\u0000-\u001f\u007f]/;

/** The argv invariant: options are ours, values are inert, the path is the one we passed, the target an IP literal. */
function assertSafeArgv(argv: readonly string[]): void {
  const target = argv[argv.length - 1];
  expect(normalizeIp(target)).toBe(target);
  expect(argv[argv.length - 2]).toBe(OUT);
  argv.forEach((e, i) => {
    if (OPTIONS.has(e)) return;
    if (i === argv.length - 2) return;
    expect(e.startsWith('-')).toBe(false);
    expect(META.test(e)).toBe(false);
  });
}

// Strings built from the pieces an attacker would reach for, plus arbitrary text.
const hostile = fc
  .array(
    fc.oneof(
      fc.string(),
      fc.constantFrom('-', '--', '-iL', ' ', ';', '$(', ')', '`', '|', '&', '/', '../', '"', "'", '\n', '%', ',', '*', '--script=', ':', '.', '-p'),
      fc.ipV4(),
      fc.ipV6(),
      fc.integer({ min: 0, max: 70000 }).map(String),
      fc.domain(),
    ),
    { maxLength: 6 },
  )
  .map((parts) => parts.join(''));

// Mostly plausible values (so that many configs validate and reach the builders), some hostile.
// Valid-looking targets, sometimes with a hostile tail, so the builders see many real addresses.
const plausibleTarget = fc
  .tuple(
    fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.tuple(fc.ipV4(), fc.integer({ min: 28, max: 32 })).map(([ip, p]) => `${ip}/${p}`),
      fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 255 })).map(([ip, last]) => `${ip}-${last}`),
    ),
    fc.oneof({ arbitrary: fc.constant(''), weight: 4 }, { arbitrary: hostile, weight: 1 }),
  )
  .map(([t, tail]) => t + tail);

const configValue = fc.oneof(
  { arbitrary: hostile, weight: 1 },
  { arbitrary: fc.integer({ min: -5, max: 200_000 }), weight: 1 },
  { arbitrary: fc.integer({ min: 0, max: 9 }), weight: 2 },
  { arbitrary: fc.boolean(), weight: 2 },
  { arbitrary: fc.constant(null), weight: 1 },
  { arbitrary: fc.constantFrom('syn', 'connect', '22,80', '1-1024,8080', '53'), weight: 2 },
  { arbitrary: fc.array(fc.constantFrom('tcp', 'udp', '-sV', 'tcp;id'), { maxLength: 3 }), weight: 1 },
);

const openPortsKeys = ['protocols', 'ports', 'topPorts', 'allPorts', 'scanType', 'hostDiscovery', 'dns', 'maxRetries', 'minRttMs', 'maxRttMs', 'initialRttMs', 'minRate', 'maxRate', 'timeoutSeconds'];
const servicesKeys = ['versionIntensity', 'defaultScripts', 'aggressive', 'osDetection', 'traceroute', 'timeoutSeconds'];

// Per-field values of the right type and roughly the right range, hostile one time in ten.
const field = <T,>(a: fc.Arbitrary<T>) => fc.oneof({ arbitrary: a, weight: 19 }, { arbitrary: configValue, weight: 1 });
const n = (min: number, max: number) => field(fc.integer({ min, max }));
const typedOpenPorts = {
  protocols: field(fc.subarray(['tcp', 'udp'], { minLength: 1 })),
  scanType: field(fc.constantFrom('syn', 'connect')),
  hostDiscovery: field(fc.boolean()),
  dns: field(fc.boolean()),
  maxRetries: n(0, 12),
  minRttMs: n(1, 100),
  maxRttMs: n(2000, 61000),
  initialRttMs: n(100, 2000),
  minRate: n(1, 5000),
  maxRate: n(3000, 101000),
  timeoutSeconds: n(1, 87000),
};
const portSelection = fc.oneof(
  fc.constant({}),
  fc.record({ ports: field(fc.constantFrom('22,80', '1-1024,8080', '53', '1-65535')) }),
  fc.record({ topPorts: n(1, 66000) }),
);
const typedServices = {
  versionIntensity: n(0, 10),
  defaultScripts: field(fc.boolean()),
  aggressive: field(fc.boolean()),
  osDetection: field(fc.boolean()),
  traceroute: field(fc.boolean()),
  timeoutSeconds: n(1, 90000),
};

describe('property: argv never carries injected options or metacharacters', () => {
  it('for any text given as a target', () => {
    let built = 0;
    fc.assert(
      fc.property(fc.oneof(hostile, plausibleTarget), (text) => {
        const parsed = parseTargets([text], { cidrCap: { ipv4: 28, ipv6: 124 } });
        for (const ip of [...iterateTargets(parsed.targets)].slice(0, 3)) {
          assertSafeArgv(buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, { ip }, OUT));
          assertSafeArgv(buildServicesArgv(DEFAULT_SCAN_CONFIG, { ip }, [{ proto: 'tcp', port: 80 }], OUT));
          built++;
        }
      }),
      { numRuns: 2000 },
    );
    expect(built).toBeGreaterThan(500);
  });

  it('for any text handed straight to the builders as an IP or a port shard', () => {
    let built = 0;
    fc.assert(
      fc.property(fc.oneof(hostile, plausibleTarget), fc.option(fc.oneof(hostile, fc.constantFrom('22,80', '1-100')), { nil: undefined }), (ip, ports) => {
        let argv: string[];
        try {
          argv = buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, { ip, ports }, OUT);
        } catch (e) {
          expect(e).toBeInstanceOf(NmapArgvError);
          return;
        }
        assertSafeArgv(argv);
        built++;
      }),
      { numRuns: 2000 },
    );
    expect(built).toBeGreaterThan(200);
  });

  it('for any config values', () => {
    let built = 0;
    fc.assert(
      fc.property(
        fc.tuple(fc.record(typedOpenPorts, { requiredKeys: [] }), portSelection).map(([o, sel]) => ({ ...o, ...sel })),
        fc.record(typedServices, { requiredKeys: [] }),
        fc.array(fc.record({ proto: fc.constantFrom('tcp', 'udp'), port: fc.integer({ min: 1, max: 65535 }) }), { minLength: 1, maxLength: 5 }),
        (openPorts, services, open) => {
          const o = validateScanConfigOverride({ openPorts, services });
          if (!o.ok) return;
          const v = validateScanConfig(mergeConfig(DEFAULT_SCAN_CONFIG, o.override));
          if (!v.ok) return;
          assertSafeArgv(buildOpenPortsArgv(v.config, { ip: '10.0.0.1' }, OUT));
          if (v.config.services !== false) assertSafeArgv(buildServicesArgv(v.config, { ip: '2001:db8::1' }, open, OUT));
          built++;
        },
      ),
      { numRuns: 1500 },
    );
    expect(built).toBeGreaterThan(300);
  });
});

describe('property: parse → format → parse round-trips', () => {
  it('IPv4', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(parseIPv4(formatIPv4(n))).toBe(n);
      }),
    );
    fc.assert(fc.property(fc.ipV4(), (s) => expect(formatIPv4(parseIPv4(s)!)).toBe(s)));
  });

  it('IPv6', () => {
    fc.assert(
      fc.property(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), (v) => {
        expect(parseIPv6(formatIPv6(v))).toBe(v);
      }),
    );
    // Any valid text form: its canonical form denotes the same address and is a fixed point.
    fc.assert(
      fc.property(fc.ipV6(), (s) => {
        const canonical = normalizeIp(s)!;
        expect(parseIPv6(canonical)).toBe(parseIPv6(s));
        expect(normalizeIp(canonical)).toBe(canonical);
        expect(canonical).toBe(canonical.toLowerCase());
      }),
    );
  });

  it('CIDRs', () => {
    const v4 = fc.tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 32 })).map(([n, p]) => `${formatIPv4(n)}/${p}`);
    const v6 = fc.tuple(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.integer({ min: 0, max: 128 })).map(([n, p]) => `${formatIPv6(n)}/${p}`);
    fc.assert(
      fc.property(fc.oneof(v4, v6), (text) => {
        const a = parseCidr(text);
        expect(a.ok).toBe(true);
        if (!a.ok) return;
        const b = parseCidr(formatCidr(a.cidr));
        expect(b).toEqual(a);
      }),
    );
  });
});

describe('property: dedup count equals the size of the union', () => {
  // Small universes so that inputs overlap often; the naive model expands every input into a Set.
  const v4Input = fc.oneof(
    fc.integer({ min: 0, max: 63 }).map((h) => ({ text: `10.0.0.${h}`, addrs: [h] })),
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 26, max: 32 })).map(([h, p]) => {
      const size = 2 ** (32 - p);
      const first = h - (h % size);
      return { text: `10.0.0.${h}/${p}`, addrs: Array.from({ length: size }, (_, i) => first + i) };
    }),
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 20 })).map(([a, len]) => ({
      text: `10.0.0.${a}-${a + len}`,
      addrs: Array.from({ length: len + 1 }, (_, i) => a + i),
    })),
  );
  const v6Input = fc.integer({ min: 0, max: 15 }).map((h) => ({ text: `2001:db8::${h.toString(16)}`, addrs: [1000 + h] }));

  it('for random mixes of IPs, CIDRs and ranges', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(v4Input, v6Input), { maxLength: 12 }), (inputs) => {
        const naive = new Set(inputs.flatMap((i) => i.addrs));
        const p = parseTargets(inputs.map((i) => i.text));
        expect(countTargets(p.targets)).toBe(naive.size);
        expect(p.summary.accepted).toBe(naive.size);
        expect(p.summary.duplicatesRemoved).toBe(inputs.reduce((n, i) => n + i.addrs.length, 0) - naive.size);
        const listed = [...iterateTargets(p.targets)];
        expect(new Set(listed).size).toBe(listed.length);
        const expected = [...naive]
          .sort((a, b) => a - b)
          .map((a) => (a >= 1000 ? `2001:db8::${(a - 1000).toString(16)}` : `10.0.0.${a}`))
          .map((s) => (s === '2001:db8::0' ? '2001:db8::' : s));
        expect(listed).toEqual(expected);
      }),
      { numRuns: 500 },
    );
  });

  it('with a deny list, minus the denied addresses', () => {
    fc.assert(
      fc.property(fc.array(v4Input, { maxLength: 8 }), fc.array(fc.integer({ min: 0, max: 63 }), { maxLength: 6 }), (inputs, denied) => {
        const deny = new Set(denied);
        const naive = new Set(inputs.flatMap((i) => i.addrs).filter((a) => !deny.has(a)));
        const p = parseTargets(
          inputs.map((i) => i.text),
          { scope: { deny: denied.map((d) => `10.0.0.${d}`) } },
        );
        expect(countTargets(p.targets)).toBe(naive.size);
      }),
      { numRuns: 300 },
    );
  });
});

describe('property: the config validator never accepts an unknown key', () => {
  const known = new Set(['openPorts', 'services', 'importMode', 'singleResolve', 'shards', ...openPortsKeys, ...servicesKeys]);
  const unknownKey = fc.string({ minLength: 1, maxLength: 12 }).filter((k) => !known.has(k));

  it('at any level, in full and partial validation', () => {
    fc.assert(
      fc.property(fc.constantFrom('', 'openPorts', 'services'), unknownKey, configValue, (where, key, value) => {
        const c = JSON.parse(JSON.stringify(DEFAULT_SCAN_CONFIG)) as Record<string, Record<string, unknown>>;
        const target = where === '' ? c : c[where];
        Object.defineProperty(target, key, { value, enumerable: true, configurable: true, writable: true });
        const path = where ? `${where}.${key}` : key;
        const full = validateScanConfig(c);
        expect(full.ok).toBe(false);
        if (!full.ok) expect(full.errors.map((e) => e.path)).toContain(path);
        const partial = validateScanConfigOverride(c);
        expect(partial.ok).toBe(false);
      }),
      { numRuns: 1000 },
    );
  });

  it('and what it accepts has only known keys', () => {
    fc.assert(
      fc.property(fc.dictionary(fc.oneof(fc.constantFrom(...openPortsKeys), fc.string({ maxLength: 5 })), configValue, { maxKeys: 4 }), (openPorts) => {
        const v = validateScanConfig({ ...DEFAULT_SCAN_CONFIG, openPorts: { ...DEFAULT_SCAN_CONFIG.openPorts, ...openPorts } });
        if (!v.ok) return;
        const config: ScanConfig = v.config;
        for (const k of Object.keys(config.openPorts)) expect(openPortsKeys).toContain(k);
      }),
      { numRuns: 1000 },
    );
  });
});
