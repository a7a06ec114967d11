import fc from 'fast-check';
import type { Coverage, NmapRunMeta, NmapScanInfo, PortRange } from '#events';
import { mergeRanges, parseNmapArgs, tokenizeArgs } from './coverage.js';
import { coverageFromNmapArgs, inferCoverage, portInCoverage } from './index.js';

const meta = (args: string | undefined, scanInfo: NmapScanInfo[] = []): NmapRunMeta => ({
  scanner: 'nmap',
  ...(args === undefined ? {} : { args }),
  scanInfo,
  preScripts: [],
  postScripts: [],
});

describe('inferCoverage: <scaninfo> first', () => {
  it('reads services, sorting and merging ranges', () => {
    expect(inferCoverage(meta(undefined, [{ type: 'syn', protocol: 'tcp', numservices: 1002, services: '1433,1-1000,22,999-1001' }]))).toEqual({
      tcp: [
        [1, 1001],
        [1433, 1433],
      ],
    });
  });

  it('merges several scaninfo of one protocol and keeps protocols apart', () => {
    const cov = inferCoverage(
      meta(undefined, [
        { type: 'syn', protocol: 'tcp', services: '1-10' },
        { type: 'ack', protocol: 'tcp', services: '11-20,80' },
        { type: 'udp', protocol: 'udp', services: '53,161-162' },
        { type: 'sctpinit', protocol: 'sctp', services: '2905' },
        { type: 'ipproto', protocol: 'ip', services: '1,6,17' },
      ]),
    );
    expect(cov).toEqual({
      tcp: [
        [1, 20],
        [80, 80],
      ],
      udp: [
        [53, 53],
        [161, 162],
      ],
      sctp: [[2905, 2905]],
      ip: [
        [1, 1],
        [6, 6],
        [17, 17],
      ],
    });
  });

  it('prefers scaninfo over the command line, which top-ports would leave unknown', () => {
    expect(inferCoverage(meta('nmap --top-ports 3 -p 9999 10.0.0.1', [{ type: 'syn', protocol: 'tcp', services: '22,80,443' }]))).toEqual({
      tcp: [
        [22, 22],
        [80, 80],
        [443, 443],
      ],
    });
  });

  it('ignores protocols it cannot key and falls back to args when no scaninfo lists services', () => {
    expect(inferCoverage(meta(undefined, [{ type: 'syn', protocol: 'icmp', services: '0' }]))).toEqual({});
    expect(inferCoverage(meta('nmap -p 22 10.0.0.1', [{ type: 'syn', protocol: 'tcp' }]))).toEqual({ tcp: [[22, 22]] });
  });

  it('returns unknown coverage for masscan -oX, which lists no services and no args', () => {
    expect(inferCoverage({ scanner: 'masscan', version: '1.0-BETA', scanInfo: [{ type: 'syn', protocol: 'tcp' }], preScripts: [], postScripts: [] })).toEqual({});
  });
});

describe('inferCoverage: from the command line', () => {
  const ALL: PortRange[] = [[1, 65535]];
  it.each<[string, Coverage]>([
    ['nmap -p 22,80 10.0.0.1', { tcp: [[22, 22], [80, 80]] }],
    ['nmap -p22,80 10.0.0.1', { tcp: [[22, 22], [80, 80]] }],
    ['nmap -p1-1000 10.0.0.1', { tcp: [[1, 1000]] }],
    ['nmap -p- 10.0.0.1', { tcp: ALL }],
    ['nmap -p - 10.0.0.1', { tcp: ALL }],
    ['nmap -p -100 10.0.0.1', { tcp: [[1, 100]] }],
    ['nmap -p 60000- 10.0.0.1', { tcp: [[60000, 65535]] }],
    ['nmap -p 0-10 10.0.0.1', { tcp: [[0, 10]] }],
    ['nmap -sS -sU -p T:22,80,U:53,161 10.0.0.1', { tcp: [[22, 22], [80, 80]], udp: [[53, 53], [161, 161]] }],
    ['nmap -sU -p 53,161 10.0.0.1', { udp: [[53, 53], [161, 161]] }],
    ['nmap -sSU -p 53 10.0.0.1', { tcp: [[53, 53]], udp: [[53, 53]] }],
    ['nmap -sU -sV -p U:53,T:22 10.0.0.1', { udp: [[53, 53]] }],
    ['nmap -p T:22,U:53 10.0.0.1', { tcp: [[22, 22]] }],
    ['nmap -sY -p 2905 10.0.0.1', { sctp: [[2905, 2905]] }],
    ['nmap -sO -p 1,6,17 10.0.0.1', { ip: [[1, 1], [6, 6], [17, 17]] }],
    ['nmap -sO -p- 10.0.0.1', { ip: [[1, 255]] }],
    ['nmap -p 1-1000 --exclude-ports 22,80 10.0.0.1', { tcp: [[1, 21], [23, 79], [81, 1000]] }],
    ['nmap --exclude-ports 22 -p 1-100 10.0.0.1', { tcp: [[1, 21], [23, 100]] }],
    ['nmap -sS -sU -p 1-100 --exclude-ports=T:22 10.0.0.1', { tcp: [[1, 21], [23, 100]], udp: [[1, 100]] }],
    ['nmap -p 1-100 -exclude-ports 50 10.0.0.1', { tcp: [[1, 49], [51, 100]] }],
    ['nmap -p http,22 10.0.0.1', { tcp: [[22, 22]] }],
    ['nmap -PS22,80 -PU53 -Pn -p 443 10.0.0.1', { tcp: [[443, 443]] }],
    ['nmap -oN -p80.txt -p 443 10.0.0.1', { tcp: [[443, 443]] }],
    ['nmap -iL targets-p1.txt --script "ssl-* and not -p" -p 443 10.0.0.1', { tcp: [[443, 443]] }],
    ['nmap -p 22 -- -p 80', { tcp: [[22, 22]] }],
    ['nmap -sV -T4 -p 22 -e eth0 -oA out 10.0.0.1', { tcp: [[22, 22]] }],
    ['"C:\\Program Files (x86)\\Nmap\\nmap.exe" -sV -O -p- --script=nmap-vulners/vulners.nse -oX nmap_output.xml 212.143.237.23-30', { tcp: ALL }],
    ['"C:\\Program Files\\Nmap\\nmap.exe" -oX "C:\\My Scans\\-p 1.xml" -p 8080 10.0.0.1', { tcp: [[8080, 8080]] }],
    ["nmap -oX '/tmp/a b/-p-.xml' -p 25 10.0.0.1", { tcp: [[25, 25]] }],
  ])('%s', (args, expected) => {
    expect(inferCoverage(meta(args))).toEqual(expected);
  });

  it.each([
    ['nmap 10.0.0.1', 'default top 1000 ports'],
    ['nmap --top-ports 100 10.0.0.1', '--top-ports'],
    ['nmap --top-ports=100 10.0.0.1', '--top-ports='],
    ['nmap -top-ports 10 10.0.0.1', 'single-dash long option'],
    ['nmap -F 10.0.0.1', 'fast scan'],
    ['nmap -p 1-100 --top-ports 10 10.0.0.1', 'top ports among a -p set'],
    ['nmap --port-ratio 0.1 10.0.0.1', 'port ratio'],
    ['nmap -sn -p 22 10.0.0.0/24', 'ping scan: no ports'],
    ['nmap -sL 10.0.0.0/24', 'list scan'],
    ['nmap -p 1-100 --exclude-ports http 10.0.0.1', 'exclusion by service name cannot be resolved'],
    ['nmap -p [1-1024] 10.0.0.1', 'bracket ranges depend on nmap-services'],
    ['nmap -sO 10.0.0.1', 'protocol scan without -p'],
    ['nmap --exclude-ports 22 10.0.0.1', 'exclude-ports is not -p'],
  ])('%s → unknown coverage ({}) because of %s', (args) => {
    expect(inferCoverage(meta(args))).toEqual({});
  });

  it('exports the args-only reading too', () => {
    expect(coverageFromNmapArgs('nmap -p 7 x')).toEqual({ tcp: [[7, 7]] });
  });
});

describe('argument tokenising', () => {
  it('keeps quoted Windows paths whole and honours \\" inside double quotes', () => {
    expect(tokenizeArgs('"C:\\Program Files\\Nmap\\nmap.exe" -oX "a \\"b\\".xml" \'c d\' e\\ f')).toEqual([
      'C:\\Program Files\\Nmap\\nmap.exe',
      '-oX',
      'a "b".xml',
      'c d',
      'e f',
    ]);
  });

  it('skips the arguments of options that take one', () => {
    expect(parseNmapArgs('nmap --datadir -p -D -p,ME -S -p -g -p -p 1').portSpecs).toEqual(['1']);
  });
});

describe('portInCoverage', () => {
  const cov: Coverage = {
    tcp: [
      [1, 10],
      [20, 20],
      [100, 65535],
    ],
  };
  it.each([
    ['tcp', 1, true],
    ['tcp', 10, true],
    ['tcp', 11, false],
    ['tcp', 19, false],
    ['tcp', 20, true],
    ['tcp', 21, false],
    ['tcp', 99, false],
    ['tcp', 65535, true],
    ['tcp', 0, false],
    ['udp', 5, false],
  ] as const)('%s/%d → %s', (proto, port, inside) => {
    expect(portInCoverage(cov, proto, port)).toBe(inside);
  });

  it('agrees with a brute-force membership test on merged random ranges', () => {
    const range = fc.tuple(fc.integer({ min: 0, max: 300 }), fc.integer({ min: 0, max: 40 })).map(([lo, len]): PortRange => [lo, lo + len]);
    fc.assert(
      fc.property(fc.array(range, { maxLength: 12 }), fc.integer({ min: 0, max: 400 }), (ranges, port) => {
        const merged = mergeRanges(ranges);
        for (let i = 1; i < merged.length; i++) expect(merged[i][0]).toBeGreaterThan(merged[i - 1][1] + 1);
        expect(portInCoverage({ udp: merged }, 'udp', port)).toBe(ranges.some(([lo, hi]) => port >= lo && port <= hi));
      }),
    );
  });

  it('matches scaninfo services port by port', () => {
    fc.assert(
      fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 2000 }), { minLength: 1, maxLength: 50 }), (ports) => {
        const cov = inferCoverage(meta(undefined, [{ protocol: 'tcp', services: ports.join(',') }]));
        const wrong: number[] = [];
        for (let p = 0; p <= 2001; p++) if (portInCoverage(cov, 'tcp', p) !== ports.includes(p)) wrong.push(p);
        expect(wrong).toEqual([]);
      }),
      { numRuns: 30 },
    );
  });
});
