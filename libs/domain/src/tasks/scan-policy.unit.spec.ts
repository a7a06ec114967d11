import type { AddressRanges } from '#events';
import { buildOpenPortsArgv, buildServicesArgv } from '../scanning/nmap-argv.js';
import { capScanRate } from '../scanning/rate-cap.js';
import { DEFAULT_SCAN_CONFIG } from '../scanning/scan-config.js';
import { BudgetLedger, describeWaiting, dispatchGate, perHostRate, rangesTouch, validateScanPolicy, type RateBudget } from './scan-policy.js';

const one = (ip: string): AddressRanges => [[ip, ip]];
const budget = (cidr: string, maxHosts: number, maxPps?: number): RateBudget => ({ cidr, maxHosts, ...(maxPps ? { maxPps } : {}) });

const given = (budgets: RateBudget[], inFlight: AddressRanges[] = []) => {
  const ledger = new BudgetLedger(budgets);
  for (const r of inFlight) ledger.hold(r);
  return { ledger, when: (ranges: AddressRanges) => ({ then: (check: (a: ReturnType<BudgetLedger['admit']>, l: BudgetLedger) => void) => check(ledger.admit(ranges), ledger) }) };
};

describe('rate budgets (fleet-wide hosts at once and packets per second per network)', () => {
  it('given 2 hosts of 10.0.0.0/16 in flight and a budget of 2, when a third task of that network asks, then it waits for that budget', () =>
    given([budget('10.0.0.0/16', 2, 300)], [one('10.0.1.1'), one('10.0.2.2')])
      .when(one('10.0.3.3'))
      .then((a, l) => {
        expect(a).toEqual({ ok: false, blockedBy: '10.0.0.0/16' });
        expect(l.usage()).toEqual([{ cidr: '10.0.0.0/16', maxHosts: 2, maxPps: 300, inFlight: 2, waiting: 1 }]);
        expect(describeWaiting({ kind: 'open' }, l.usage())).toBe('waiting: budget 10.0.0.0/16 2/2 hosts');
      }));

  it('given room in the budget, when a task is admitted, then it runs at maxPps / maxHosts and counts as in flight', () =>
    given([budget('10.0.0.0/16', 2, 300)], [one('10.0.1.1')])
      .when(one('10.0.9.9'))
      .then((a, l) => {
        expect(a).toEqual({ ok: true, maxRate: 150 });
        expect(l.usage()[0].inFlight).toBe(2);
        expect(l.allFull).toBe(true);
      }));

  it('given a full budget, when a task outside its network asks, then it goes without a rate limit', () =>
    given([budget('10.0.0.0/16', 1)], [one('10.0.0.1')]).when(one('192.0.2.10')).then((a) => expect(a).toEqual({ ok: true })));

  it('given a block task of 256 addresses, then it holds one host (its addresses run one nmap at a time)', () =>
    given([budget('10.0.0.0/16', 2)], [[['10.0.0.0', '10.0.0.255']]]).when([['10.0.1.0', '10.0.1.255']]).then((a, l) => {
      expect(a.ok).toBe(true);
      expect(l.usage()[0].inFlight).toBe(2);
    }));

  it('given overlapping budgets, when a task touches both, then it needs room in both and runs at the lower share', () => {
    given([budget('10.0.0.0/8', 10, 1000), budget('10.0.0.0/24', 2, 100)]).when(one('10.0.0.5')).then((a) => expect(a).toEqual({ ok: true, maxRate: 50 }));
    given([budget('10.0.0.0/8', 10, 1000), budget('10.0.0.0/24', 1)], [one('10.0.0.9')]).when(one('10.0.0.5')).then((a) => expect(a).toEqual({ ok: false, blockedBy: '10.0.0.0/24' }));
  });

  it('keeps families apart and sees ranges that only partly overlap the network', () => {
    expect(rangesTouch(one('2001:db8::1'), '10.0.0.0/8')).toBe(false);
    expect(rangesTouch(one('2001:db8::1'), '2001:db8::/64')).toBe(true);
    expect(rangesTouch([['9.255.255.250', '10.0.0.1']], '10.0.0.0/8')).toBe(true);
    expect(rangesTouch([['11.0.0.0', '11.0.0.9']], '10.0.0.0/8')).toBe(false);
  });

  it('the per-host share never rounds to zero', () => {
    expect(perHostRate(budget('10.0.0.0/8', 3, 10))).toBe(3);
    expect(perHostRate(budget('10.0.0.0/8', 3))).toBeUndefined();
  });
});

describe('dispatch gate', () => {
  const window = { start: '22:00', end: '06:00', timeZone: 'UTC' };
  const noon = Date.parse('2026-01-15T12:00:00Z');
  it('given an emergency stop, then nothing is offered whatever the window says', () =>
    expect(dispatchGate({ budgets: [], window }, { active: true, since: 't' }, Date.parse('2026-01-15T23:00:00Z')).gate).toEqual({ kind: 'emergency_stop', since: 't' }));
  it('given a closed window, then tasks wait until it opens, and the planner is woken then', () => {
    const g = dispatchGate({ budgets: [], window }, { active: false }, noon);
    expect(g).toEqual({ gate: { kind: 'window', opensAt: Date.parse('2026-01-15T22:00:00Z') }, nextCheckAt: Date.parse('2026-01-15T22:00:00Z') });
    expect(describeWaiting(g.gate, [])).toBe('waiting: window opens at 2026-01-15T22:00:00.000Z');
  });
  it('given an open window, then the gate is open and the next check is its close', () =>
    expect(dispatchGate({ budgets: [], window }, { active: false }, Date.parse('2026-01-15T23:00:00Z'))).toEqual({ gate: { kind: 'open' }, nextCheckAt: Date.parse('2026-01-16T06:00:00Z') }));
  it('given no policy, then the gate is open and nothing needs the clock', () => expect(dispatchGate(null, { active: false }, noon)).toEqual({ gate: { kind: 'open' }, nextCheckAt: null }));
});

describe('scan policy validation', () => {
  it('normalises networks and windows', () =>
    expect(validateScanPolicy({ budgets: [{ cidr: '10.0.5.7/16', maxHosts: 2, maxPps: 300 }], window: { start: '22:00', end: '06:00', timeZone: 'UTC' } })).toEqual({
      ok: true,
      policy: { budgets: [{ cidr: '10.0.0.0/16', maxHosts: 2, maxPps: 300 }], window: { start: '22:00', end: '06:00', timeZone: 'UTC' } },
    }));
  it('refuses what it cannot enforce, naming each field', () => {
    const v = validateScanPolicy({ budgets: [{ cidr: '10.0.0.0/33', maxHosts: 0 }, { cidr: '10.0.0.0/8', maxHosts: 4, maxPps: 2 }, { cidr: 'x', maxHosts: 1, rate: 1 }], window: { start: 'late' }, extra: true });
    expect(v.ok).toBe(false);
    if (!v.ok)
      expect(v.errors.map((e) => e.path)).toEqual(['extra', 'budgets[0].cidr', 'budgets[0].maxHosts', 'budgets[1].maxPps', 'budgets[2].rate', 'budgets[2].cidr', 'window.start', 'window.end', 'window.timeZone']);
  });
  it('an empty policy is valid and lifts every restriction', () => expect(validateScanPolicy({ budgets: [], window: null })).toEqual({ ok: true, policy: { budgets: [], window: null } }));
});

describe('a task under a rate share', () => {
  it('given the default config (min-rate 2000), when capped at 150 pps, then both phases run with --max-rate 150 and min-rate is lowered with it', () => {
    const c = capScanRate(DEFAULT_SCAN_CONFIG, 150);
    expect(c.openPorts).toMatchObject({ maxRate: 150, minRate: 150 });
    const p1 = buildOpenPortsArgv(c, { ip: '10.0.0.1' }, '/tmp/x.xml');
    expect(p1.slice(p1.indexOf('--max-rate'), p1.indexOf('--max-rate') + 2)).toEqual(['--max-rate', '150']);
    const p2 = buildServicesArgv(c, { ip: '10.0.0.1' }, [{ proto: 'tcp', port: 22 }], '/tmp/y.xml');
    expect(p2.slice(p2.indexOf('--max-rate'), p2.indexOf('--max-rate') + 2)).toEqual(['--max-rate', '150']);
  });
  it('given a config slower than the share, then it keeps its own rate; without a share nothing changes', () => {
    const slow = { ...DEFAULT_SCAN_CONFIG, openPorts: { ...DEFAULT_SCAN_CONFIG.openPorts, minRate: undefined, maxRate: 100 } };
    expect(capScanRate(slow, 150).openPorts.maxRate).toBe(100);
    expect(capScanRate(slow, undefined)).toBe(slow);
  });
});
