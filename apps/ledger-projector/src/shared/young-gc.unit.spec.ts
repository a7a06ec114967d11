import { collectYoung } from './young-gc.js';

const mb = () => process.memoryUsage().arrayBuffers / 1024 / 1024;

describe('collectYoung', () => {
  it('frees dead buffers that no allocation of the JS heap would have collected yet', async () => {
    const before = mb();
    // Below V8's external-memory trigger (64 MB), like the buffers of one Kafka send or SQL statement.
    for (let i = 0; i < 24; i++) Buffer.alloc(1024 * 1024, i);
    expect(mb() - before).toBeGreaterThan(20);
    collectYoung();
    // V8 may hand the backing stores to a background sweeper: a moment, not long enough for the
    // test's own allocation to cause a scavenge (with a no-op collectYoung, this fails).
    for (let i = 0; i < 5 && mb() - before > 4; i++) await new Promise((r) => setTimeout(r, 20));
    expect(mb() - before).toBeLessThan(4);
  });
});
