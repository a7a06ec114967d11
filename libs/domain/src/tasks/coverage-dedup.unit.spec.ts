import { existsSync, readFileSync } from 'node:fs';
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from '../scanning/scan-config.js';
import { configForShard, defaultDedup, foldCoverage, hostWork, MAX_REMAINDER_SPEC, parseNmapServices, remainingWork, requestedPorts, type CoverageSpan, type RequestedPorts } from './coverage-dedup.js';

const NOW = '2026-03-01T12:00:00.000Z';
const DAY = 24 * 3600_000;
const span = (proto: 'tcp' | 'udp', ranges: [number, number][], observedAt = '2026-03-01T00:00:00.000Z', source = 'import:a'): CoverageSpan => ({ proto, ranges, observedAt, source });
const cfg = (openPorts: Partial<ScanConfig['openPorts']>, over: Partial<ScanConfig> = {}): ScanConfig => ({
  ...DEFAULT_SCAN_CONFIG,
  ...over,
  openPorts: { ...DEFAULT_SCAN_CONFIG.openPorts, allPorts: undefined, ...openPorts },
});

describe('remainingWork: requested − covered, per protocol', () => {
  it('given 1-1000/tcp scanned, when 1-2000/tcp is asked, then only 1001-2000 is left', () =>
    expect(remainingWork({ tcp: [[1, 2000]] }, [span('tcp', [[1, 1000]])], NOW, null)).toEqual({ tcp: [[1001, 2000]] }));

  it('given only TCP coverage, when UDP is asked, then all of UDP is left (protocols are independent)', () =>
    expect(remainingWork({ udp: [[1, 2000]], tcp: [[1, 2000]] }, [span('tcp', [[1, 65535]])], NOW, null)).toEqual({ udp: [[1, 2000]], tcp: [] }));

  it('given overlapping scans of different ranges, when the request lies across them, then only the holes are left', () =>
    expect(
      remainingWork({ tcp: [[1, 10000]] }, [span('tcp', [[1, 1000]], undefined, 'import:a'), span('tcp', [[500, 3000]], undefined, 'task:b'), span('tcp', [[8000, 9000]], undefined, 'task:c'), span('udp', [[3001, 7999]])], NOW, null),
    ).toEqual({ tcp: [[3001, 7999], [9001, 10000]] }));

  it('given a request already covered, then nothing is left', () => expect(remainingWork({ tcp: [[22, 22], [80, 80]] }, [span('tcp', [[1, 1000]])], NOW, null)).toEqual({ tcp: [] }));

  it('given coverage older than the staleness window, then it does not count; fresher coverage still does', () => {
    const cov = [span('tcp', [[1, 1000]], '2026-01-01T00:00:00.000Z'), span('tcp', [[1001, 2000]], '2026-02-28T00:00:00.000Z')];
    expect(remainingWork({ tcp: [[1, 2000]] }, cov, NOW, 30 * DAY)).toEqual({ tcp: [[1, 1000]] });
    expect(remainingWork({ tcp: [[1, 2000]] }, cov, NOW, null)).toEqual({ tcp: [] });
  });

  it('given an unresolvable top-N request, then only a scan of every port covers it', () => {
    const req: RequestedPorts = { tcp: null };
    expect(remainingWork(req, [span('tcp', [[1, 60000]])], NOW, null)).toEqual({ tcp: null });
    expect(remainingWork(req, [span('tcp', [[1, 65535]])], NOW, null)).toEqual({ tcp: [] });
  });
});

describe('foldCoverage: each port belongs to the latest scan that covered it', () => {
  it('given an older span, when a newer scan covers part of it, then the older loses that part', () =>
    expect(foldCoverage([span('tcp', [[1, 1000]], '2026-01-01T00:00:00Z', 'import:a')], span('tcp', [[500, 2000]], '2026-02-01T00:00:00Z', 'task:t'))).toEqual([
      span('tcp', [[1, 499]], '2026-01-01T00:00:00Z', 'import:a'),
      span('tcp', [[500, 2000]], '2026-02-01T00:00:00Z', 'task:t'),
    ]));

  it('given a newer span, when an older report arrives late, then it only gets what nobody newer covered', () =>
    expect(foldCoverage([span('tcp', [[1, 1000]], '2026-02-01T00:00:00Z', 'task:t')], span('tcp', [[1, 2000]], '2026-01-01T00:00:00Z', 'import:a'))).toEqual([
      span('tcp', [[1, 1000]], '2026-02-01T00:00:00Z', 'task:t'),
      span('tcp', [[1001, 2000]], '2026-01-01T00:00:00Z', 'import:a'),
    ]));

  it('keeps protocols apart and widens the span of a source seen again (one element per port)', () => {
    let spans = foldCoverage([], span('udp', [[53, 53]], undefined, 'import:m'));
    spans = foldCoverage(spans, span('tcp', [[80, 80]], undefined, 'import:m'));
    spans = foldCoverage(spans, span('tcp', [[443, 443]], undefined, 'import:m'));
    expect(spans).toEqual([span('udp', [[53, 53]], undefined, 'import:m'), span('tcp', [[80, 80], [443, 443]], undefined, 'import:m')]);
  });

  it('adds nothing for nothing new', () => {
    const spans = [span('tcp', [[1, 100]], '2026-02-01T00:00:00Z', 'task:t')];
    expect(foldCoverage(spans, span('tcp', [[1, 50]], '2026-01-01T00:00:00Z', 'import:a'))).toEqual(spans);
  });
});

describe('hostWork: the units of work a host needs for one shard', () => {
  const req: RequestedPorts = { tcp: [[1, 2000]], udp: [[1, 2000]] };
  it('given nothing covered, then one unit: the request as asked', () =>
    expect(hostWork(['tcp', 'udp'], req, { tcp: [[1, 2000]], udp: [[1, 2000]] })).toEqual({ units: [{ protocols: ['tcp', 'udp'] }], covered: false, partial: false }));

  it('given everything covered, then no unit', () => expect(hostWork(['tcp', 'udp'], req, { tcp: [], udp: [] })).toEqual({ units: [], covered: true, partial: false }));

  it('given TCP partly covered and UDP not, then one unit per protocol', () =>
    expect(hostWork(['tcp', 'udp'], req, { tcp: [[1001, 2000]], udp: [[1, 2000]] })).toEqual({
      units: [{ protocols: ['tcp'], ports: '1001-2000' }, { protocols: ['udp'] }],
      covered: false,
      partial: true,
    }));

  it('given the same remainder for both protocols, then they share one unit', () =>
    expect(hostWork(['tcp', 'udp'], req, { tcp: [[1001, 2000]], udp: [[1001, 2000]] }).units).toEqual([{ protocols: ['tcp', 'udp'], ports: '1001-2000' }]));

  it('given UDP covered, then only TCP is left, as asked', () => expect(hostWork(['tcp', 'udp'], req, { tcp: [[1, 2000]], udp: [] })).toEqual({ units: [{ protocols: ['tcp'] }], covered: false, partial: true }));

  it('given a remainder too scattered to list, then the protocol is scanned as asked', () => {
    const holes: [number, number][] = Array.from({ length: 20000 }, (_, i) => [2 * i + 1, 2 * i + 1]);
    const w = hostWork(['tcp'], { tcp: [[1, 65535]] }, { tcp: holes });
    expect(w.units).toEqual([{ protocols: ['tcp'] }]);
    expect(w.partial).toBe(true);
    expect(MAX_REMAINDER_SPEC).toBeLessThan(20000);
  });
});

describe('requestedPorts and top-N', () => {
  // A made-up services file: frequencies decide the order, ties go to the lower port.
  const table = parseNmapServices(['# comment', 'http\t80/tcp\t0.48\t# web', 'ssh\t22/tcp\t0.18', 'a\t8080/tcp\t0.18', 'dns\t53/udp\t0.21', 'x\t53/tcp\t0.05', 'bad line', 'z\t0/tcp\t0.9'].join('\n'));

  it('resolves top-N per protocol in nmap order (frequency, then port), port 0 never', () => {
    expect(table.top('tcp', 1)).toEqual([[80, 80]]);
    expect(table.top('tcp', 2)).toEqual([[22, 22], [80, 80]]);
    expect(table.top('tcp', 3)).toEqual([[22, 22], [80, 80], [8080, 8080]]);
    expect(table.top('tcp', 100)).toEqual([[22, 22], [53, 53], [80, 80], [8080, 8080]]);
    expect(table.top('udp', 5)).toEqual([[53, 53]]);
    expect(parseNmapServices('').top('tcp', 10)).toBeNull();
  });

  it('gives each protocol its own list for top-N, the shard or list for explicit ports, everything for allPorts', () => {
    expect(requestedPorts(cfg({ protocols: ['tcp', 'udp'], topPorts: 1 }), { index: 0, of: 1 } as never, table)).toEqual({ tcp: [[80, 80]], udp: [[53, 53]] });
    expect(requestedPorts(cfg({ protocols: ['tcp'], topPorts: 1 }), {})).toEqual({ tcp: null });
    expect(requestedPorts(cfg({ ports: '22,80' }), {})).toEqual({ tcp: [[22, 22], [80, 80]] });
    expect(requestedPorts(cfg({ allPorts: true }), { ports: '1-100' })).toEqual({ tcp: [[1, 100]] });
    expect(requestedPorts(cfg({ allPorts: true }), {})).toEqual({ tcp: [[1, 65535]] });
  });

  const services = '/usr/share/nmap/nmap-services';
  (existsSync(services) ? it : it.skip)("matches nmap's own --top-ports 20 on this machine's nmap-services", () =>
    expect(
      parseNmapServices(readFileSync(services, 'utf8'))
        .top('tcp', 20)!
        .map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`))
        .join(','),
    ).toBe('21-23,25,53,80,110-111,135,139,143,443,445,993,995,1723,3306,3389,5900,8080'));
});

describe('dedup defaults and per-task configs', () => {
  it('insert and append dedup by coverage; update and replace refresh what is asked', () => {
    expect(['insert', 'append', 'update', 'replace'].map((importMode) => defaultDedup({ importMode: importMode as ScanConfig['importMode'] }))).toEqual(['coverage', 'coverage', 'none', 'none']);
  });

  it('a shard naming protocols runs only those; one naming none of the config is refused', () => {
    const both = cfg({ protocols: ['tcp', 'udp'], ports: '1-10' });
    expect(configForShard(both, { protocols: ['udp'] })?.openPorts.protocols).toEqual(['udp']);
    expect(configForShard(both, {})).toBe(both);
    expect(configForShard(cfg({ protocols: ['tcp'], ports: '1' }), { protocols: ['udp'] })).toBeNull();
  });
});
