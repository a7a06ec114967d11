import { RevocationList } from './revocations.js';

const run = { scanId: 's1', taskId: 't1', attempt: 1, workerId: 'w1' };

describe('revocations a worker folds from the control topic', () => {
  it('covers every task of a cancelled scan', () => {
    const r = new RevocationList();
    r.apply({ reason: 'cancelled', scanIds: ['s1'], tasks: [] });
    expect(r.covers(run)).toBe(true);
    expect(r.covers({ ...run, scanId: 's2' })).toBe(false);
  });
  it('matches a task on attempt and worker when they are given', () => {
    const r = new RevocationList();
    r.apply({ reason: 'superseded', scanIds: [], tasks: [{ taskId: 't1', attempt: 1, workerId: 'w2' }] });
    expect(r.covers(run)).toBe(false); // only w2's run of attempt 1
    expect(r.covers({ ...run, workerId: 'w2' })).toBe(true);
    expect(r.covers({ ...run, workerId: 'w2', attempt: 2 })).toBe(false);
    r.apply({ reason: 'cancelled', scanIds: [], tasks: [{ taskId: 't1', attempt: null, workerId: null }] });
    expect(r.covers({ ...run, attempt: 7 })).toBe(true);
  });
});
