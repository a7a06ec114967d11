import fc from 'fast-check';
import { DEFAULT_SCAN_CONFIG, type ScanConfig } from '../scanning/scan-config.js';
import { parseTargets } from '../scanning/targets.js';
import { addressesOf, EMPTY_SET, rangesToSet } from './address-sets.js';
import { planKeys } from './portset.js';
import { planScan, type PlanWorld, type ScanPlan } from './plan-scan.js';
import type { CoverageSpan, TopPortsTable } from './coverage-dedup.js';

const limits = { maxTasks: 16384, maxAddressesPerTask: 256 };
const config = (over: Partial<ScanConfig> = {}): ScanConfig => ({ ...DEFAULT_SCAN_CONFIG, openPorts: { ...DEFAULT_SCAN_CONFIG.openPorts, ports: '22,80', allPorts: undefined }, ...over });
const targets = (...t: string[]) => parseTargets(t, { cidrCap: { ipv4: 8 } }).targets;
const set = (...t: string[]) => targets(...t);

interface World {
  running?: Record<string, string[]>;
  queued?: Record<string, string[]>;
  done?: Record<string, string[]>;
  known?: string[];
}
const world = (w: World): PlanWorld => ({
  running: (k) => (w.running?.[k] ? set(...w.running[k]) : EMPTY_SET),
  queued: (k) => (w.queued?.[k] ? set(...w.queued[k]) : EMPTY_SET),
  done: (f) => (w.done?.[f] ? set(...w.done[f]) : EMPTY_SET),
  known: () => (w.known ? set(...w.known) : EMPTY_SET),
});

const given = (w: World) => ({
  when: (req: { targets: string[]; config?: ScanConfig; rescan?: boolean; hostnames?: Record<string, string[]>; scanId?: string }) => {
    const plan = planScan(
      { scanId: req.scanId ?? 's1', config: req.config ?? config(), rescan: req.rescan ?? false, targets: targets(...req.targets), hostnames: req.hostnames ?? {}, limits },
      world(w),
    );
    return { then: (check: (p: ScanPlan) => void) => check(plan) };
  },
});
const all = (p: ScanPlan) => [...p.tasks()];
const ips = (p: ScanPlan) => all(p).flatMap((t) => [...addressesOf(t.ranges)]);
const key = planKeys(config())[0];

describe('planning a scan', () => {
  it('given nothing in flight, when a small scan comes in, then every address is its own task and names ride along', () =>
    given({})
      .when({ targets: ['127.0.0.1', '127.0.0.2-127.0.0.3'], hostnames: { '127.0.0.2': ['app.test'] } })
      .then((p) => {
        expect(ips(p)).toEqual(['127.0.0.1', '127.0.0.2', '127.0.0.3']);
        expect(p.addressesPerTask).toBe(1);
        expect(all(p).find((t) => t.ranges[0][0] === '127.0.0.2')?.hostnames).toEqual({ '127.0.0.2': ['app.test'] });
        expect(all(p)[0].hostnames).toEqual({});
        expect(p.skipped).toEqual({ already_running: 0, already_queued: 0, already_done: 0, already_known: 0, covered: 0 });
        expect(p.queuedAddresses).toBe(3);
      }));

  it('given the same ports running or queued for some addresses, then those are skipped with the reason', () =>
    given({ running: { [key.portsetKey]: ['127.0.0.1'] }, queued: { [key.portsetKey]: ['127.0.0.2', '127.0.0.1'] } })
      .when({ targets: ['127.0.0.1-127.0.0.4'] })
      .then((p) => {
        expect(ips(p)).toEqual(['127.0.0.3', '127.0.0.4']);
        expect(p.skipped).toMatchObject({ already_running: 1, already_queued: 1 });
      }));

  it('given other ports in flight for the address, then it is still planned (a different port set is other work)', () =>
    given({ queued: { 'tcp|443': ['127.0.0.1'] } })
      .when({ targets: ['127.0.0.1'] })
      .then((p) => expect(ips(p)).toEqual(['127.0.0.1'])));

  it('given a finished run of the same command, then re-running resumes; rescan scans again', () => {
    given({ done: { [key.fingerprint]: ['127.0.0.1'] } })
      .when({ targets: ['127.0.0.1', '127.0.0.2'] })
      .then((p) => {
        expect(ips(p)).toEqual(['127.0.0.2']);
        expect(p.skipped.already_done).toBe(1);
      });
    given({ done: { [key.fingerprint]: ['127.0.0.1'] } })
      .when({ targets: ['127.0.0.1', '127.0.0.2'], rescan: true })
      .then((p) => expect(ips(p)).toEqual(['127.0.0.1', '127.0.0.2']));
  });

  it('given hosts the ledger knows, then insert mode skips them and still sends their new names; append rescans them', () => {
    given({ known: ['127.0.0.1', '127.0.0.9'] })
      .when({ targets: ['127.0.0.1', '127.0.0.2'], hostnames: { '127.0.0.1': ['db.test'] } })
      .then((p) => {
        expect(ips(p)).toEqual(['127.0.0.2']);
        expect(p.skipped.already_known).toBe(1);
        expect(p.hostnameMerges).toEqual([{ ip: '127.0.0.1', hostnames: ['db.test'] }]);
      });
    given({ known: ['127.0.0.1'] })
      .when({ targets: ['127.0.0.1'], config: config({ importMode: 'append' }) })
      .then((p) => {
        expect(ips(p)).toEqual(['127.0.0.1']);
        expect(p.hostnameMerges).toEqual([]);
      });
  });

  it('derives task ids from the scan and the block: a re-plan writes the same ids, another scan other ids', () => {
    let first: string[] = [];
    given({}).when({ targets: ['127.0.0.1-127.0.0.3'] }).then((p) => (first = all(p).map((t) => t.taskId)));
    given({}).when({ targets: ['127.0.0.1-127.0.0.3'] }).then((p) => expect(all(p).map((t) => t.taskId)).toEqual(first));
    given({}).when({ targets: ['127.0.0.1-127.0.0.3'], scanId: 's2' }).then((p) => expect(all(p).map((t) => t.taskId).some((id) => first.includes(id))).toBe(false));
    expect(new Set(first).size).toBe(3);
  });

  it('given a /12, then it becomes 16384 aligned tasks of 64 addresses', () =>
    given({})
      .when({ targets: ['127.0.0.0/12'], config: config() })
      .then((p) => {
        expect(p.taskCount).toBe(16384);
        expect(all(p)).toHaveLength(16384);
        expect(p.addressesPerTask).toBe(64);
        expect(all(p)[1].ranges).toEqual([['127.0.0.64', '127.0.0.127']]);
        expect(p.queuedAddresses).toBe(1 << 20);
      }));

  it('given port shards, then each address gets one task per shard with its own port set', () =>
    given({})
      .when({ targets: ['127.0.0.1'], config: { ...DEFAULT_SCAN_CONFIG, importMode: 'append', shards: 4 } })
      .then((p) => {
        expect(all(p).map((t) => t.shard.ports)).toEqual(['1-16384', '16385-32768', '32769-49152', '49153-65535']);
        expect(new Set(all(p).map((t) => t.portsetKey)).size).toBe(4);
        expect(new Set(all(p).map((t) => t.taskId)).size).toBe(4);
      }));

  it('never loses or doubles an address: planned ∪ skipped = requested, and no address is in two tasks', () =>
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 1, maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 30 }),
        fc.array(fc.integer({ min: 0, max: 300 }), { maxLength: 30 }),
        fc.integer({ min: 1, max: 40 }),
        (req, running, known, maxTasks) => {
          const a = (n: number) => `127.0.${n >> 8}.${n & 255}`;
          const plan = planScan(
            { scanId: 's', config: config(), rescan: false, targets: targets(...req.map(a)), hostnames: {}, limits: { maxTasks, maxAddressesPerTask: 256 } },
            world({ running: { [key.portsetKey]: running.map(a) }, known: known.map(a) }),
          );
          const planned = ips(plan);
          expect(new Set(planned).size).toBe(planned.length);
          const requested = new Set(req.map(a));
          const skipped = plan.skipped.already_running + plan.skipped.already_known;
          expect(planned.length + skipped).toBe(requested.size);
          for (const x of planned) expect(requested.has(x) && !running.map(a).includes(x) && !known.map(a).includes(x)).toBe(true);
          for (const t of plan.tasks()) expect(t.addresses).toBeLessThanOrEqual(plan.addressesPerTask);
          expect(plan.taskCount).toBe(all(plan).length);
        },
      ),
    ));

  it('keeps IPv6 in tasks of its own', () =>
    given({})
      .when({ targets: ['::1', '127.0.0.1'] })
      .then((p) => expect(all(p).map((t) => [t.family, t.ranges])).toEqual([[4, [['127.0.0.1', '127.0.0.1']]], [6, [['::1', '::1']]]])));

  it('turns an empty remainder into no tasks', () =>
    given({ queued: { [key.portsetKey]: ['127.0.0.1'] } })
      .when({ targets: ['127.0.0.1'] })
      .then((p) => {
        expect(all(p)).toEqual([]);
        expect(p.taskCount).toBe(0);
        expect(p.queuedAddresses).toBe(0);
      }));
});

describe('planning with coverage dedup (issue 8)', () => {
  const NOW = '2026-03-01T12:00:00.000Z';
  const span = (proto: 'tcp' | 'udp', ranges: [number, number][], observedAt = '2026-03-01T00:00:00.000Z'): CoverageSpan => ({ proto, ranges, observedAt, source: 'import:i1' });
  const ports = (p: string, over: Partial<ScanConfig['openPorts']> = {}, rest: Partial<ScanConfig> = {}) => config({ openPorts: { ...DEFAULT_SCAN_CONFIG.openPorts, allPorts: undefined, ports: p, ...over }, importMode: 'append', ...rest });
  const plan = (req: { targets: string[]; config: ScanConfig; coverage: Record<string, CoverageSpan[]>; hostnames?: Record<string, string[]>; staleAfterMs?: number; maxTasks?: number; topPorts?: TopPortsTable }) =>
    planScan(
      {
        scanId: 's1', config: req.config, rescan: false, targets: targets(...req.targets), hostnames: req.hostnames ?? {}, limits: { ...limits, maxTasks: req.maxTasks ?? limits.maxTasks },
        dedup: 'coverage', now: NOW, staleAfterMs: req.staleAfterMs ?? null, topPorts: req.topPorts,
      },
      { ...world({ known: Object.keys(req.coverage) }), coverage: (ip) => req.coverage[ip] ?? [] },
    );
  const view = (p: ScanPlan) => all(p).map((t) => [t.ranges.map((r) => r.join('-')).join(','), t.shard.ports ?? '*', (t.shard.protocols ?? ['all']).join('+'), t.importMode]);

  it('given 1-1000/tcp scanned on a host, when 1-2000/tcp is asked, then its task covers 1001-2000 only; a host the ledger never saw gets all of it', () => {
    const p = plan({ targets: ['127.0.0.1', '127.0.0.2'], config: ports('1-2000'), coverage: { '127.0.0.1': [span('tcp', [[1, 1000]])] } });
    expect(view(p)).toEqual([
      ['127.0.0.2-127.0.0.2', '*', 'all', 'append'],
      ['127.0.0.1-127.0.0.1', '1001-2000', 'all', 'append'],
    ]);
    expect(p).toMatchObject({ partiallyCovered: 1, queuedAddresses: 2, taskCount: 2, skipped: { covered: 0 } });
  });

  it('given a host whose coverage holds the whole request, then it is skipped as covered and its new names still reach the ledger', () => {
    const p = plan({ targets: ['127.0.0.1'], config: ports('22,80'), coverage: { '127.0.0.1': [span('tcp', [[1, 1000]])] }, hostnames: { '127.0.0.1': ['db.test'] } });
    expect(all(p)).toEqual([]);
    expect(p.skipped.covered).toBe(1);
    expect(p.hostnameMerges).toEqual([{ ip: '127.0.0.1', hostnames: ['db.test'] }]);
  });

  it('given TCP coverage only, when UDP is asked, then UDP is not deduplicated', () => {
    const p = plan({ targets: ['127.0.0.1'], config: ports('1-2000', { protocols: ['udp'] }), coverage: { '127.0.0.1': [span('tcp', [[1, 65535]])] } });
    expect(view(p)).toEqual([['127.0.0.1-127.0.0.1', '*', 'all', 'append']]);
    expect(p.partiallyCovered).toBe(0);
  });

  it('given TCP partly covered, when TCP and UDP are asked, then TCP and UDP become separate tasks with their own remainders and ids', () => {
    const p = plan({ targets: ['127.0.0.1'], config: ports('1-2000', { protocols: ['tcp', 'udp'] }), coverage: { '127.0.0.1': [span('tcp', [[1, 1000]]), span('udp', [[1500, 2000]])] } });
    expect(view(p)).toEqual([
      ['127.0.0.1-127.0.0.1', '1001-2000', 'tcp', 'append'],
      ['127.0.0.1-127.0.0.1', '1-1499', 'udp', 'append'],
    ]);
    expect(new Set(all(p).map((t) => t.taskId)).size).toBe(2);
    expect(p.queuedAddresses).toBe(1);
  });

  it('groups hosts by identical remainder, so blocks stay few when the task budget is tight', () => {
    const a = [span('tcp', [[1, 1000]])];
    const b = [span('tcp', [[1, 1500]])];
    const p = plan({ targets: ['127.0.0.0/29'], config: ports('1-2000'), maxTasks: 2, coverage: { '127.0.0.1': a, '127.0.0.2': a, '127.0.0.5': b, '127.0.0.6': b } });
    expect(p.addressesPerTask).toBe(4);
    expect(view(p)).toEqual([
      ['127.0.0.0-127.0.0.0,127.0.0.3-127.0.0.3', '*', 'all', 'append'],
      ['127.0.0.4-127.0.0.4,127.0.0.7-127.0.0.7', '*', 'all', 'append'],
      ['127.0.0.1-127.0.0.2', '1001-2000', 'all', 'append'],
      ['127.0.0.5-127.0.0.6', '1501-2000', 'all', 'append'],
    ]);
    expect(p.taskCount).toBe(4);
  });

  it('in insert mode, a known host gets its uncovered ports merged as append; unknown hosts stay insert', () => {
    const p = plan({ targets: ['127.0.0.1-127.0.0.3'], config: ports('1-2000', {}, { importMode: 'insert' }), coverage: { '127.0.0.1': [span('tcp', [[1, 1000]])], '127.0.0.2': [] } });
    expect(view(p)).toEqual([
      ['127.0.0.3-127.0.0.3', '*', 'all', 'insert'],
      ['127.0.0.2-127.0.0.2', '*', 'all', 'append'],
      ['127.0.0.1-127.0.0.1', '1001-2000', 'all', 'append'],
    ]);
    expect(p.skipped.already_known).toBe(0);
  });

  it('given coverage older than the staleness window, then the host is scanned again', () => {
    const old = { '127.0.0.1': [span('tcp', [[1, 65535]], '2025-12-01T00:00:00.000Z')] };
    expect(plan({ targets: ['127.0.0.1'], config: ports('22'), coverage: old }).skipped.covered).toBe(1);
    expect(view(plan({ targets: ['127.0.0.1'], config: ports('22'), coverage: old, staleAfterMs: 30 * 24 * 3600_000 }))).toEqual([['127.0.0.1-127.0.0.1', '*', 'all', 'append']]);
  });

  it('resolves top-N to its ports before subtracting; without a table a top-N host is covered only by every port', () => {
    const topPorts: TopPortsTable = { top: (proto, n) => (proto === 'tcp' && n === 3 ? [[22, 22], [80, 80], [443, 443]] : null) };
    const top3 = config({ openPorts: { ...DEFAULT_SCAN_CONFIG.openPorts, allPorts: undefined, topPorts: 3 }, importMode: 'append' });
    const cov = { '127.0.0.1': [span('tcp', [[1, 100]])] };
    expect(view(plan({ targets: ['127.0.0.1'], config: top3, coverage: cov, topPorts }))).toEqual([['127.0.0.1-127.0.0.1', '443', 'all', 'append']]);
    expect(view(plan({ targets: ['127.0.0.1'], config: top3, coverage: cov }))).toEqual([['127.0.0.1-127.0.0.1', '*', 'all', 'append']]);
    expect(plan({ targets: ['127.0.0.1'], config: top3, coverage: { '127.0.0.1': [span('tcp', [[1, 65535]])] } }).skipped.covered).toBe(1);
  });

  it('subtracts coverage within each port shard', () => {
    const p = plan({ targets: ['127.0.0.1'], config: config({ ...DEFAULT_SCAN_CONFIG, importMode: 'append', shards: 2 }), coverage: { '127.0.0.1': [span('tcp', [[1, 40000]])] } });
    expect(all(p).map((t) => [t.shard.index, t.shard.ports])).toEqual([[1, '40001-65535']]);
    expect(p.skipped.covered).toBe(1); // shard 0 (1-32768) is covered
  });

  it('never loses or doubles work: per address and protocol, queued ports ∪ covered ports = requested ports', () =>
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 12 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 40 }), fc.constantFrom<'tcp' | 'udp'>('tcp', 'udp'), fc.integer({ min: 1, max: 60 }), fc.integer({ min: 0, max: 30 })), { maxLength: 20 }),
        fc.integer({ min: 1, max: 6 }),
        (req, cov, maxTasks) => {
          const a = (n: number) => `127.0.0.${n}`;
          const coverage: Record<string, CoverageSpan[]> = {};
          for (const [h, proto, lo, w] of cov) (coverage[a(h)] ??= []).push(span(proto, [[lo, lo + w]]));
          const p = plan({ targets: req.map(a), config: ports('1-50', { protocols: ['tcp', 'udp'] }), coverage, maxTasks });
          const got = new Set<string>();
          const doubled: string[] = [];
          const expand = (spec: string) => spec.split(',').flatMap((x) => {
            const [lo, hi = lo] = x.split('-').map(Number);
            return Array.from({ length: hi - lo + 1 }, (_, i) => lo + i);
          });
          for (const t of all(p)) {
            const list = expand(t.shard.ports ?? '1-50');
            for (const ip of addressesOf(t.ranges)) for (const proto of t.shard.protocols ?? ['tcp', 'udp']) for (const port of list) {
              const k = `${ip}/${proto}/${port}`;
              if (got.has(k)) doubled.push(k);
              got.add(k);
            }
          }
          const wrong: string[] = [];
          for (const ip of new Set(req.map(a))) for (const proto of ['tcp', 'udp'] as const) for (let port = 1; port <= 50; port++) {
            const isCovered = (coverage[ip] ?? []).some((c) => c.proto === proto && c.ranges.some(([lo, hi]) => lo <= port && port <= hi));
            if (got.has(`${ip}/${proto}/${port}`) === isCovered) wrong.push(`${ip}/${proto}/${port}`);
          }
          expect([doubled, wrong]).toEqual([[], []]);
          expect(p.taskCount).toBe(all(p).length);
        },
      ),
      { numRuns: 100 },
    ));
});

it('rangesToSet merges what it reads', () => expect(rangesToSet([['127.0.0.1', '127.0.0.2'], ['127.0.0.3', '127.0.0.3']]).v4).toHaveLength(1));
