import { SlotPool } from './slot-pool.js';

describe('worker slots', () => {
  it('hands out at most size slots and wakes a waiter on release', async () => {
    const pool = new SlotPool(1);
    expect(await pool.acquire(async () => true)).toBe(true);
    let second = false;
    const waiting = pool.acquire(async () => true, 10_000).then((ok) => (second = ok));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    pool.release();
    await waiting;
    expect(second).toBe(true);
    expect(pool.free).toBe(0);
  });

  it('gives up waiting when the caller no longer wants the slot (a rebalance, a shutdown)', async () => {
    const pool = new SlotPool(1);
    await pool.acquire(async () => true);
    let wanted = true;
    const waiting = pool.acquire(async () => wanted, 10);
    wanted = false;
    expect(await waiting).toBe(false);
    expect(pool.free).toBe(0);
  });
});
