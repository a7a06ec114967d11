// Fuzzing what users type (targets, scopes, scan configs, profiles) and what resolvers answer, all
// the way to nmap's argv. scanning.properties.unit.spec.ts checks the argv has no metacharacters;
// this file checks a stricter grammar (every element is an allow-listed option, the value that
// option takes, the output path we chose, or the final IP literal), feeds the parser and the
// validators text and objects nobody would type on purpose, and checks every refusal has a reason.
import fc from 'fast-check';
import { stringify } from 'yaml';
import { formatIPv4, formatIPv6, IPV4_MAPPED_FIRST, normalizeIp, parseIp } from './ip.js';
import { buildOpenPortsArgv, buildServicesArgv, NMAP_OPTION_NAMES, NmapArgvError, shardPorts } from './nmap-argv.js';
import { parseProfile } from './profiles.js';
import { collapseTargets, resolveHostnames, type Resolver } from './resolution.js';
import { DEFAULT_SCAN_CONFIG, mergeConfig, validateScanConfig, validateScanConfigOverride, type ScanConfig } from './scan-config.js';
import { validateTargetScope } from './scope.js';
import { iterateTargets, parseTargets, TARGET_REFUSAL_CODES, type ParsedTargets } from './targets.js';

const OUT = '/tmp/falcoria-w1/task-7.xml';
const OPTIONS = new Set<string>(NMAP_OPTION_NAMES);

// What each option that takes a value accepts as that value. Anything else after it is a bug.
const PORT_ITEM = '(?:[1-9][0-9]{0,4})(?:-[1-9][0-9]{0,4})?';
const PORT_LIST = new RegExp(`^${PORT_ITEM}(?:,${PORT_ITEM})*$`);
const TU_LIST = new RegExp(`^(?:T:${PORT_ITEM}(?:,${PORT_ITEM})*,)?U:${PORT_ITEM}(?:,${PORT_ITEM})*$`);
const INT = /^(?:0|[1-9][0-9]{0,5})$/;
const MS = /^[1-9][0-9]{0,4}ms$/;
const VALUE_OF: Readonly<Record<string, (v: string) => boolean>> = {
  '-p': (v) => PORT_LIST.test(v) || TU_LIST.test(v),
  '--top-ports': (v) => INT.test(v),
  '--max-retries': (v) => INT.test(v),
  '--min-rate': (v) => INT.test(v),
  '--max-rate': (v) => INT.test(v),
  '--version-intensity': (v) => /^[0-9]$/.test(v),
  '--min-rtt-timeout': (v) => MS.test(v),
  '--max-rtt-timeout': (v) => MS.test(v),
  '--initial-rtt-timeout': (v) => MS.test(v),
  '-oX': (v) => v === OUT,
};

/** Plain assertions in the hot loops: jest's expect costs more than the code under test here. */
function ok(cond: boolean, what: () => string): asserts cond {
  if (!cond) throw new Error(what());
}

/**
 * The argv grammar: [option [value]]... -oX OUT <ip>. Options come from the allow list; a value
 * only follows an option that takes one and matches that option's shape; the target is last, is
 * the canonical text of an IP literal, and is the IP we asked for.
 */
function expectArgvGrammar(argv: readonly string[], ip: string): void {
  const show = () => JSON.stringify(argv);
  const target = argv[argv.length - 1];
  ok(argv.length >= 4 && target === normalizeIp(ip) && !target.startsWith('-'), () => `target ${JSON.stringify(target)} is not the canonical ${ip}: ${show()}`);
  ok(argv[argv.length - 3] === '-oX' && argv[argv.length - 2] === OUT, () => `output is not "-oX ${OUT}": ${show()}`);
  for (let i = 0; i < argv.length - 1; i++) {
    const e = argv[i];
    ok(OPTIONS.has(e), () => `argv[${i}] ${JSON.stringify(e)} is not an allow-listed option: ${show()}`);
    const takes = VALUE_OF[e];
    if (!takes) continue;
    const v = argv[++i];
    ok(i < argv.length - 1 && takes(v), () => `argv[${i}] ${JSON.stringify(v)} is not a valid value of ${e}: ${show()}`);
  }
}

// ------------------------------------------------------------------ hostile text

const PIECES = [
  '-', '--', '-iL', '-oN', '--script', '--script=', '-sC', '--datadir', '--resume', '-p', '@', '@/etc/passwd', '/', '//', '..', '../', '/etc/passwd',
  '~', '~/', ';', '|', '||', '&', '&&', '$(', '${', '$', '`', ')', '}', '>', '<', '*', '?', '[', ']', '!', '#', '%', '^', '=', '+', ',', '"', "'", '\\',
  '\n', '\r', '\t', '\u0000', '\u0085', '\u2028', '\u00a0', '\u200b', '\ufeff', '\u202e', '\uff0d', '\u2212', '\uff11', '\u0663', '\u212a', '\u0130',
  ':', '::', '.', '/24', '/0', '-255', 'ffff:', '%eth0', 'localhost', 'xn--', 'A', '0x7f.1', '0177.0.0.1', '2130706433',
];
const hostileText = fc.oneof(
  { weight: 3, arbitrary: fc.array(fc.oneof(fc.constantFrom(...PIECES), fc.ipV4(), fc.ipV6(), fc.domain(), fc.nat(70_000).map(String)), { maxLength: 8 }).map((p) => p.join('')) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: 'grapheme', maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: fc.constantFrom('0', '1', '9', '.', ':', 'a', 'f', '-', '/'), maxLength: 45 }) },
  // Very long: the parser must refuse these with a bounded amount of work and a sane message.
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', '1.', 'ab-', ':', 'x.'), fc.integer({ min: 200, max: 20_000 }), fc.constantFrom('', 'com', ';id', '1')).map(([u, n, t]) => u.repeat(n) + t) },
);
const plausible = fc.oneof(
  fc.ipV4(),
  fc.ipV6(),
  fc.domain(),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, p]) => `${ip}/${p}`),
  fc.tuple(fc.ipV6(), fc.integer({ min: 90, max: 128 })).map(([ip, p]) => `${ip}/${p}`),
  fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 255 })).map(([ip, last]) => `${ip}-${last}`),
  fc.tuple(fc.ipV4(), fc.ipV4()).map(([a, b]) => `${a}-${b}`),
);
// A plausible target with something hostile glued on either side half the time.
const targetText = fc.oneof(
  { weight: 2, arbitrary: hostileText },
  { weight: 2, arbitrary: plausible },
  { weight: 2, arbitrary: fc.tuple(fc.constantFrom(...PIECES), plausible, fc.constantFrom('', ...PIECES)).map(([a, b, c]) => a + b + c) },
);

const CANONICAL_HOSTNAME = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)*$/;

function expectCanonicalAccepted(kind: string, normalized: string): void {
  const bad = () => `accepted ${kind} ${JSON.stringify(normalized)} is not canonical`;
  ok(!normalized.startsWith('-'), bad);
  if (kind === 'ip') ok(normalizeIp(normalized) === normalized, bad);
  else if (kind === 'cidr') {
    const [ip, prefix, more] = normalized.split('/');
    ok(more === undefined && normalizeIp(ip) === ip && /^(?:0|[1-9][0-9]{0,2})$/.test(prefix), bad);
  } else if (kind === 'range') {
    const parts = normalized.split('-');
    ok(parts.length === 2 && parts.every((p) => normalizeIp(p) === p), bad);
  } else ok(kind === 'hostname' && CANONICAL_HOSTNAME.test(normalized) && !/\.[0-9]+$/.test(normalized), bad);
}

/** One outcome per input, in order; refusals carry a known reason and a message; acceptances are canonical. */
function expectOutcomes(inputs: readonly string[], parsed: Pick<ParsedTargets, 'inputs'>): void {
  ok(parsed.inputs.length === inputs.length, () => `${parsed.inputs.length} outcomes for ${inputs.length} inputs`);
  parsed.inputs.forEach((o, i) => {
    ok(o.input === inputs[i], () => `outcome ${i} is for another input`);
    if (o.status === 'refused') {
      ok((TARGET_REFUSAL_CODES as readonly string[]).includes(o.reason), () => `unknown reason ${o.reason}`);
      // A refusal explains itself, and describes the input without amplifying it.
      ok(typeof o.message === 'string' && o.message.trim().length > 5, () => `refusal of ${JSON.stringify(inputs[i])} has no message`);
      ok(o.message.length <= inputs[i].length + 300, () => `message of ${o.message.length} characters for an input of ${inputs[i].length}`);
    } else {
      expectCanonicalAccepted(o.kind, o.normalized);
      if (o.kind !== 'hostname') ok(o.span.count > 0, () => 'empty span accepted');
    }
  });
}

function* sample<T>(it: Iterable<T>, n: number): Generator<T> {
  let i = 0;
  for (const x of it) {
    if (i++ >= n) return;
    yield x;
  }
}

describe('fuzz: target text never becomes anything but an IP literal in argv', () => {
  it('arbitrary and hostile target lists: never a throw, every input answered, every argv in grammar', () => {
    let argvs = 0;
    let accepted = 0;
    const reasons = new Set<string>();
    fc.assert(
      fc.property(fc.array(targetText, { minLength: 1, maxLength: 6 }), (inputs) => {
        const parsed = parseTargets(inputs, { cidrCap: { ipv4: 24, ipv6: 120 } });
        expectOutcomes(inputs, parsed);
        for (const o of parsed.inputs) if (o.status === 'refused') reasons.add(o.reason);
        for (const ip of sample(iterateTargets(parsed.targets), 2)) {
          expectArgvGrammar(buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, { ip }, OUT), ip);
          expectArgvGrammar(buildServicesArgv(DEFAULT_SCAN_CONFIG, { ip }, [{ proto: 'udp', port: 53 }, { proto: 'tcp', port: 443 }], OUT), ip);
          argvs++;
        }
        accepted += parsed.inputs.filter((o) => o.status !== 'refused').length;
      }),
      { numRuns: 3000 },
    );
    // The generators reach both sides: plenty of accepted targets and every syntactic refusal.
    expect(argvs).toBeGreaterThan(1000);
    expect(accepted).toBeGreaterThan(1500);
    for (const r of ['empty', 'option_like', 'shell_metacharacter', 'invalid_ip', 'invalid_cidr', 'invalid_range', 'invalid_hostname', 'cidr_too_large', 'range_too_large', 'reversed_range']) {
      expect(reasons).toContain(r);
    }
  });

  it('non-string inputs (a JSON body with numbers, nulls, objects) are refused, not thrown on', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.anything(), targetText), { maxLength: 5 }), (inputs) => {
        const parsed = parseTargets(inputs as string[]);
        expect(parsed.inputs).toHaveLength(inputs.length);
        parsed.inputs.forEach((o, i) => {
          if (typeof inputs[i] !== 'string') expect(o).toMatchObject({ status: 'refused', reason: 'empty', message: 'target must be a string' });
        });
      }),
      { numRuns: 1000 },
    );
  });

  it('whatever the builders are handed directly, they refuse or produce argv in grammar', () => {
    let built = 0;
    fc.assert(
      fc.property(fc.oneof(targetText, fc.ipV4(), fc.ipV6()), fc.option(fc.oneof(hostileText, fc.constantFrom('22', '1-1024', '80,443', '65535')), { nil: undefined }), hostileText, (ip, ports, out) => {
        for (const [path, expectOk] of [[OUT, true], [out, false]] as const) {
          let argv: string[];
          try {
            argv = buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, { ip, ports }, path);
          } catch (e) {
            expect(e).toBeInstanceOf(NmapArgvError);
            expect((e as Error).message.length).toBeGreaterThan(10);
            continue;
          }
          // A hostile output path is refused unless it is a plain absolute path without "..".
          if (!expectOk) {
            expect(path).toMatch(/^\/[A-Za-z0-9._/-]+$/);
            expect(path.split('/')).not.toContain('..');
            continue;
          }
          expectArgvGrammar(argv, ip);
          built++;
        }
      }),
      { numRuns: 2000 },
    );
    expect(built).toBeGreaterThan(300);
  });
});

describe('fuzz: size caps and scope are refusals with a reason, never silent', () => {
  it('a CIDR or range larger than the cap is refused naming the cap; within it, accepted whole', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 32 }),
        fc.integer({ min: 96, max: 128 }),
        fc.oneof(
          fc.tuple(fc.ipV4(), fc.integer({ min: 0, max: 32 })).map(([ip, p]) => ({ text: `${ip}/${p}`, family: 4 as const, size: 2n ** BigInt(32 - p) })),
          fc
            .tuple(fc.oneof(fc.bigInt({ min: 0n, max: (1n << 128n) - 1n }), fc.bigInt({ min: 0n, max: 1n << 40n })), fc.integer({ min: 0, max: 128 }))
            .map(([v, p]) => ({ text: `${formatIPv6(v)}/${p}`, family: 6 as const, size: 2n ** BigInt(128 - p) })),
          fc
            .tuple(fc.integer({ min: 0, max: 0xffffffff }), fc.oneof(fc.integer({ min: 0, max: 0xffffffff }), fc.integer({ min: 0, max: 70_000 })))
            .map(([a, len]) => [a, Math.min(0xffffffff, a + len)] as const)
            .map(([lo, hi]) => ({ text: `${formatIPv4(lo)}-${formatIPv4(hi)}`, family: 4 as const, size: BigInt(hi - lo + 1) })),
        ),
        (cap4, cap6, t) => {
          const p = parseTargets([t.text], { cidrCap: { ipv4: cap4, ipv6: cap6 } });
          const o = p.inputs[0];
          const limit = 2n ** BigInt(t.family === 4 ? 32 - cap4 : 128 - cap6);
          if (o.status === 'refused' && o.reason === 'invalid_cidr') {
            // An IPv6 block within the cap that overlaps ::ffff:0:0/96 is refused for that, with the hint.
            expect(t.family).toBe(6);
            expect(t.size <= 2n ** BigInt(128 - cap6)).toBe(true);
            expect(o.message).toMatch(/IPv4-mapped/);
            return;
          }
          if (t.size > limit) {
            expect(o.status).toBe('refused');
            if (o.status !== 'refused') return;
            expect(o.reason).toMatch(/^(cidr|range)_too_large$/);
            expect(o.message).toContain(t.family === 4 ? `/${cap4}` : `/${cap6}`);
            expect(p.summary.accepted).toBe(0);
          } else {
            expect(o.status).toBe('accepted');
            expect(p.summary.accepted).toBe(Number(t.size));
          }
        },
      ),
      { numRuns: 2000 },
    );
  });

  // A small universe so scope entries and targets overlap often: 10.0.0.0/26 and 2001:db8::/124.
  const v4 = (n: number) => `10.0.0.${n}`;
  const v6 = (n: number) => `2001:db8::${n.toString(16)}`;
  const entry = fc.oneof(
    fc.integer({ min: 0, max: 63 }).map((n) => ({ text: v4(n), v4: [n], v6: [] as number[] })),
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 27, max: 32 })).map(([n, p]) => {
      const size = 2 ** (32 - p);
      const first = n - (n % size);
      return { text: `${v4(n)}/${p}`, v4: Array.from({ length: size }, (_, i) => first + i), v6: [] as number[] };
    }),
    fc.tuple(fc.integer({ min: 0, max: 63 }), fc.integer({ min: 0, max: 9 })).map(([a, len]) => ({
      text: `${v4(a)}-${Math.min(63, a + len)}`,
      v4: Array.from({ length: Math.min(63, a + len) - a + 1 }, (_, i) => a + i),
      v6: [] as number[],
    })),
    fc.integer({ min: 0, max: 15 }).map((n) => ({ text: v6(n), v4: [] as number[], v6: [n] })),
    fc.tuple(fc.integer({ min: 0, max: 15 }), fc.integer({ min: 125, max: 128 })).map(([n, p]) => {
      const size = 2 ** (128 - p);
      const first = n - (n % size);
      return { text: `${v6(n)}/${p}`, v4: [] as number[], v6: Array.from({ length: size }, (_, i) => first + i) };
    }),
  );
  const NAMES = ['a.example', 'b.example', 'x.a.example', 'other.test'];
  const nameEntry = fc.constantFrom('a.example', 'other.test', '*.a.example', '*.example');
  const nameMatches = (entries: readonly string[], name: string) =>
    entries.some((e) => (e.startsWith('*.') ? name.endsWith(e.slice(1)) : name === e));

  it('every accepted address is inside the allow list and outside the deny list; wholly outside is refused out_of_scope', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.oneof(entry, nameEntry.map((text) => ({ text, v4: [] as number[], v6: [] as number[] }))), { maxLength: 4 }),
        fc.array(fc.oneof(entry, nameEntry.map((text) => ({ text, v4: [] as number[], v6: [] as number[] }))), { maxLength: 3 }),
        fc.array(fc.oneof(entry, fc.constantFrom(...NAMES).map((text) => ({ text, v4: [] as number[], v6: [] as number[] }))), { minLength: 1, maxLength: 6 }),
        fc.dictionary(fc.constantFrom(...NAMES), fc.array(fc.oneof(fc.integer({ min: 0, max: 63 }).map(v4), fc.integer({ min: 0, max: 15 }).map(v6), hostileText), { maxLength: 3 })),
        async (allow, deny, targets, dns) => {
          const scope = { allow: allow.map((e) => e.text), deny: deny.map((e) => e.text) };
          expect(validateTargetScope(scope)).toEqual([]);
          const allowNames = scope.allow.filter((t) => /[a-z]/.test(t) && !t.includes(':'));
          const denyNames = scope.deny.filter((t) => /[a-z]/.test(t) && !t.includes(':'));
          const key = (fam: 4 | 6, n: number) => `${fam}:${n}`;
          const allowSet = new Set([...allow.flatMap((e) => e.v4.map((n) => key(4, n))), ...allow.flatMap((e) => e.v6.map((n) => key(6, n)))]);
          const denySet = new Set([...deny.flatMap((e) => e.v4.map((n) => key(4, n))), ...deny.flatMap((e) => e.v6.map((n) => key(6, n)))]);
          const allowsAll = allow.length === 0;
          const ipOk = (k: string) => !denySet.has(k) && (allowsAll || allowSet.has(k));

          const inputs = targets.map((t) => t.text);
          const parsed = parseTargets(inputs, { scope });
          expectOutcomes(inputs, parsed);
          const expected = new Set<string>();
          targets.forEach((t, i) => {
            const o = parsed.inputs[i];
            if (NAMES.includes(t.text)) {
              const refusedByName = nameMatches(denyNames, t.text) || (!allowsAll && !nameMatches(allowNames, t.text) && allowSet.size === 0);
              expect(o.status === 'refused').toBe(refusedByName);
              if (o.status === 'refused') expect(o).toMatchObject({ reason: 'out_of_scope', message: expect.stringContaining(t.text) });
              return;
            }
            const keys = [...t.v4.map((n) => key(4, n)), ...t.v6.map((n) => key(6, n))];
            const inScope = keys.filter(ipOk);
            if (inScope.length === 0) {
              expect(o).toMatchObject({ status: 'refused', reason: 'out_of_scope' });
              if (o.status === 'refused') expect(o.message).toMatch(/deny list|allow list/);
            } else {
              expect(o).toMatchObject({ status: 'accepted', inScope: inScope.length, excludedByScope: keys.length - inScope.length });
              inScope.forEach((k) => expected.add(k));
            }
          });
          const toKey = (ip: string) => {
            const p = parseIp(ip)!;
            return p.family === 4 ? key(4, p.value - 0x0a000000) : key(6, Number(p.value - 0x20010db8n * (1n << 96n)));
          };
          expect(new Set([...iterateTargets(parsed.targets)].map(toKey))).toEqual(expected);

          // Names resolve through a resolver whose answers are untrusted text: only IP literals survive,
          // and a name brings an address in only if neither is denied and one of them is allowed.
          const resolver: Resolver = { resolve: async (name) => dns[name] ?? [] };
          const resolutions = await resolveHostnames(parsed.hostnames, resolver, { timeoutMs: 1000, retries: 0, singleResolve: false });
          const collapsed = collapseTargets(parsed, resolutions);
          expectOutcomes(inputs, { ...parsed, inputs: collapsed.inputs });
          for (const ip of iterateTargets(collapsed.targets)) {
            expect(normalizeIp(ip)).toBe(ip);
            const k = toKey(ip);
            if (expected.has(k)) continue;
            const names = collapsed.hostnamesByIp.get(ip) ?? [];
            expect(names.length).toBeGreaterThan(0);
            expect(denySet.has(k)).toBe(false);
            expect(names.some((n) => !nameMatches(denyNames, n) && (allowsAll || allowSet.has(k) || nameMatches(allowNames, n)))).toBe(true);
            expectArgvGrammar(buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, { ip }, OUT), ip);
          }
        },
      ),
      { numRuns: 600 },
    );
  });

  it('a scope entry that is not an address, a range, a CIDR or a name is refused, naming the entry', () => {
    fc.assert(
      fc.property(fc.array(hostileText, { minLength: 1, maxLength: 4 }), (entries) => {
        let errors: ReturnType<typeof validateTargetScope>;
        expect(() => (errors = validateTargetScope({ allow: entries, deny: entries }))).not.toThrow();
        for (const e of errors!) {
          expect(['allow', 'deny']).toContain(e.list);
          expect(e.entry).toBe(String(entries[e.index]));
          expect(e.message.length).toBeGreaterThan(5);
        }
        if (errors!.length === 0) {
          // Whatever was accepted as a scope entry works as a scope: parsing against it does not throw.
          expect(() => parseTargets(['10.0.0.1', 'a.example'], { scope: { allow: entries } })).not.toThrow();
        }
      }),
      { numRuns: 500 },
    );
  });
});

// ------------------------------------------------------------------ configs and profiles

const DANGEROUS_KEYS = ['__proto__', 'constructor', 'prototype', 'toString', 'valueOf', 'hasOwnProperty', 'args', 'extraArgs', 'nmapArgs', 'script', 'scripts', 'output', 'outputPath', 'target', 'iL'];
const OPEN_PORTS_KEYS = ['protocols', 'ports', 'topPorts', 'allPorts', 'scanType', 'hostDiscovery', 'dns', 'maxRetries', 'minRttMs', 'maxRttMs', 'initialRttMs', 'minRate', 'maxRate', 'timeoutSeconds'];
const SERVICES_KEYS = ['versionIntensity', 'defaultScripts', 'aggressive', 'osDetection', 'traceroute', 'timeoutSeconds'];
const TOP_KEYS = ['openPorts', 'services', 'importMode', 'singleResolve', 'shards'];

// Values of every JSON type and the awkward numbers, with the right-looking ones over-represented.
const anyValue: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 3, arbitrary: fc.integer({ min: -2, max: 70_000 }) },
  { weight: 2, arbitrary: fc.boolean() },
  { weight: 2, arbitrary: fc.constantFrom('tcp', 'udp', 'syn', 'connect', 'insert', 'append', 'update', 'replace', '22,80', '1-65535', '80;id', '-p-', '1-1024 -iL x', 'T:22', '0', '65536') },
  { weight: 2, arbitrary: fc.constantFrom(NaN, Infinity, -Infinity, -0, 1.5, 1e21, Number.MAX_SAFE_INTEGER + 2, 2 ** 53) },
  { weight: 1, arbitrary: fc.array(fc.constantFrom('tcp', 'udp', 'sctp', '-sU', 'tcp;id', 'tcp'), { maxLength: 4 }) },
  { weight: 1, arbitrary: fc.constantFrom(null, undefined, [], {}, true, false) },
  { weight: 1, arbitrary: hostileText },
  { weight: 1, arbitrary: fc.anything({ maxDepth: 2 }) },
);
// Each known field usually gets a value of its type near its bounds, one time in twenty anything at
// all: with ~15 fields per config, more would leave almost no config valid enough to reach argv.
const typed = <T,>(a: fc.Arbitrary<T>) => fc.oneof({ weight: 19, arbitrary: a as fc.Arbitrary<unknown> }, { weight: 1, arbitrary: anyValue });
const near = (min: number, max: number) => typed(fc.oneof({ weight: 19, arbitrary: fc.integer({ min, max }) }, { weight: 1, arbitrary: fc.constantFrom(min - 1, max + 1) }));
const OPEN_PORTS_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  protocols: typed(fc.subarray(['tcp', 'udp'], { minLength: 1 })),
  ports: typed(fc.oneof(fc.constantFrom('22,80', '1-1024,8080', '53', '1-65535', '443,80,80-90'), fc.array(fc.integer({ min: 1, max: 65535 }), { minLength: 1, maxLength: 8 }).map((a) => a.join(',')))),
  topPorts: near(1, 65535),
  allPorts: typed(fc.constant(true)),
  scanType: typed(fc.constantFrom('syn', 'connect')),
  hostDiscovery: typed(fc.boolean()),
  dns: typed(fc.boolean()),
  maxRetries: near(0, 10),
  minRttMs: near(1, 200),
  maxRttMs: near(1000, 60000),
  initialRttMs: near(100, 2000),
  minRate: near(1, 5000),
  maxRate: near(3000, 100000),
  timeoutSeconds: near(1, 86400),
};
const SERVICES_VALUES: Record<string, fc.Arbitrary<unknown>> = {
  versionIntensity: near(0, 9),
  defaultScripts: typed(fc.boolean()),
  aggressive: typed(fc.boolean()),
  osDetection: typed(fc.boolean()),
  traceroute: typed(fc.boolean()),
  timeoutSeconds: near(1, 86400),
};
const withDangerousKey = <T extends object>(a: fc.Arbitrary<T>) =>
  fc.tuple(a, fc.oneof({ weight: 6, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.tuple(fc.constantFrom(...DANGEROUS_KEYS), anyValue) })).map(([o, extra]) =>
    // defineProperty, so that "__proto__" is an own key as JSON.parse would make it, not a prototype swap.
    extra ? Object.defineProperty(o, extra[0], { value: extra[1], enumerable: true, configurable: true, writable: true }) : o,
  );
// Port selection: none (keep the base's), one, or several at once (which must be refused).
const openPortsSection = withDangerousKey(
  fc.tuple(fc.record(OPEN_PORTS_VALUES, { requiredKeys: [] }), fc.integer({ min: 0, max: 3 })).map(([o, keep]) => {
    const out: Record<string, unknown> = { ...o };
    const picks = ['ports', 'topPorts', 'allPorts'].filter((k) => k in out);
    for (const k of picks.slice(keep === 3 ? picks.length : Math.min(keep, 1))) delete out[k];
    return out;
  }),
);
const servicesSection = withDangerousKey(fc.record(SERVICES_VALUES, { requiredKeys: [] }));
const configObject: fc.Arbitrary<unknown> = fc.oneof(
  { weight: 1, arbitrary: fc.anything({ maxDepth: 3 }) },
  {
    weight: 8,
    arbitrary: withDangerousKey(
      fc.record(
        {
          openPorts: fc.oneof({ weight: 8, arbitrary: openPortsSection }, { weight: 1, arbitrary: anyValue }),
          services: fc.oneof({ weight: 6, arbitrary: servicesSection }, { weight: 1, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: anyValue }),
          importMode: typed(fc.constantFrom('insert', 'append', 'update', 'replace')),
          singleResolve: typed(fc.boolean()),
          shards: typed(fc.oneof({ weight: 4, arbitrary: fc.constant(1) }, { weight: 2, arbitrary: fc.integer({ min: 2, max: 4 }) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 65 }) })),
        },
        { requiredKeys: [] },
      ),
    ),
  },
);

/** The same object through JSON, which is how a request body arrives: "__proto__" becomes an own key. */
const asJsonBody = (v: unknown): unknown => {
  try {
    const text = JSON.stringify(v);
    return text === undefined ? v : JSON.parse(text.replace(/"(constructor|toString)":/g, '"__proto__":'));
  } catch {
    return v;
  }
};

function expectErrorsDescribed(errors: readonly { path: string; message: string }[]): void {
  ok(errors.length > 0, () => 'refused without a reason');
  for (const e of errors) ok(typeof e.path === 'string' && typeof e.message === 'string' && e.message.length > 5, () => `undescribed error ${JSON.stringify(e)}`);
}

function expectConfigArgv(config: ScanConfig): void {
  expectArgvGrammar(buildOpenPortsArgv(config, { ip: '127.0.0.1' }, OUT), '127.0.0.1');
  const shards = shardPorts(config);
  for (const shard of [shards[0], shards[shards.length >> 1], shards[shards.length - 1]]) {
    expectArgvGrammar(buildOpenPortsArgv(config, { ip: '::1', ports: shard.ports }, OUT), '::1');
  }
  if (config.services !== false) {
    expectArgvGrammar(buildServicesArgv(config, { ip: '127.0.0.2' }, [{ proto: 'tcp', port: 22 }, { proto: 'udp', port: 161 }], OUT), '127.0.0.2');
  }
}

describe('fuzz: arbitrary config objects', () => {
  afterEach(() => {
    // Nothing a config said may have leaked onto Object.prototype.
    expect(Object.keys(Object.prototype)).toEqual([]);
    expect(({} as Record<string, unknown>).ports).toBeUndefined();
  });

  it('as a full config and as an override on the default: refused with paths, or argv in grammar', () => {
    let fullOk = 0;
    let overrideOk = 0;
    fc.assert(
      fc.property(configObject, fc.boolean(), (raw, viaJson) => {
        const input = viaJson ? asJsonBody(raw) : raw;
        // As a full config: laid over the default's fields so that complete configs come up too.
        const plain = typeof input === 'object' && input !== null && !Array.isArray(input) && Object.getPrototypeOf(input) === Object.prototype;
        const asFull = (o: Record<string, unknown>) => {
          const d = DEFAULT_SCAN_CONFIG as unknown as Record<string, Record<string, unknown>>;
          const side = (k: string) => (typeof o[k] === 'object' && o[k] !== null && !Array.isArray(o[k]) ? { ...d[k], ...(o[k] as object) } : (o[k] ?? d[k]));
          return { ...d, ...o, openPorts: side('openPorts'), services: side('services') };
        };
        const full = validateScanConfig(plain ? asFull(input as Record<string, unknown>) : input);
        if (full.ok) {
          fullOk++;
          expectConfigArgv(full.config);
        } else expectErrorsDescribed(full.errors);

        const o = validateScanConfigOverride(input);
        if (!o.ok) return expectErrorsDescribed(o.errors);
        const merged = validateScanConfig(mergeConfig(DEFAULT_SCAN_CONFIG, o.override));
        if (!merged.ok) return expectErrorsDescribed(merged.errors);
        overrideOk++;
        expectConfigArgv(merged.config);
        // What came back has only the documented fields: nothing extra rides along to the worker.
        for (const k of Object.keys(merged.config)) expect(TOP_KEYS).toContain(k);
        for (const k of Object.keys(merged.config.openPorts)) expect(OPEN_PORTS_KEYS).toContain(k);
        if (merged.config.services) for (const k of Object.keys(merged.config.services)) expect(SERVICES_KEYS).toContain(k);
      }),
      { numRuns: 2500 },
    );
    expect(overrideOk).toBeGreaterThan(150);
    expect(fullOk).toBeGreaterThan(150);
  });

  it('deeply nested and huge values are refused without recursion or a crash', () => {
    let deep: unknown = 1;
    for (let i = 0; i < 10_000; i++) deep = { openPorts: deep };
    const r = validateScanConfigOverride(deep);
    expect(r.ok).toBe(false);
    const wide = { openPorts: { ports: Array.from({ length: 30_000 }, (_, i) => (i % 65535) + 1).join(',') } };
    const w = validateScanConfigOverride(wide);
    expect(w.ok).toBe(false);
    if (!w.ok) expect(w.errors[0]).toMatchObject({ path: 'openPorts.ports', message: expect.stringMatching(/longer than/) });
  });

  it('profile YAML text, hostile or generated from config objects, is refused with a reason or yields argv in grammar', () => {
    let ok = 0;
    // YAML's billion laughs: nine levels of nine aliases each.
    const bomb = ['l0: &l0 [x, x, x, x, x, x, x, x, x]', ...Array.from({ length: 9 }, (_, i) => `l${i + 1}: &l${i + 1} [${Array(9).fill(`*l${i}`).join(', ')}]`)].join('\n');
    const yamlText = fc.oneof(
      { weight: 4, arbitrary: configObject.map((c) => { try { return stringify(c) ?? ''; } catch { return String(c); } }) },
      { weight: 1, arbitrary: fc.string({ unit: 'binary', maxLength: 200 }) },
      { weight: 1, arbitrary: fc.constantFrom(bomb, 'openPorts: !!js/function "x"', '<<: {openPorts: {ports: "1"}}', 'openPorts: {ports: 22, ports: 80}', `description: ${'x'.repeat(70_000)}`, '%YAML 9.9\n---\na: 1', 'openPorts: &x {ports: "22"}\nservices: *x') },
    );
    fc.assert(
      fc.property(yamlText, (text) => {
        const p = parseProfile(text);
        if (!p.ok) return expectErrorsDescribed(p.errors);
        ok++;
        expectConfigArgv(p.config);
      }),
      { numRuns: 800 },
    );
    expect(ok).toBeGreaterThan(50);
    expect(parseProfile(bomb).ok).toBe(false);
  });
});

describe('fuzz: IPv4-mapped and odd IP spellings never reach argv as written', () => {
  it('what is accepted is re-spelled canonically; mapped addresses are refused', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), fc.constantFrom('::ffff:', '::FFFF:', '0:0:0:0:0:ffff:', '::ffff:0:'), (n, prefix) => {
        const v4 = formatIPv4(n);
        const mapped = `${prefix}${v4}`;
        const o = parseTargets([mapped]).inputs[0];
        if (prefix === '::ffff:0:') return; // a different block (IPv4-translated): just must not throw
        expect(o).toMatchObject({ status: 'refused' });
        expect(() => buildOpenPortsArgv(DEFAULT_SCAN_CONFIG, { ip: formatIPv6(IPV4_MAPPED_FIRST + BigInt(n)) }, OUT)).toThrow(NmapArgvError);
      }),
      { numRuns: 500 },
    );
  });
});
