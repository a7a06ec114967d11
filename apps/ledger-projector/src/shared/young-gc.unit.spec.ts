import { spawnSync } from 'node:child_process';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { collectYoung } from './young-gc.js';

// In a process of its own: --expose-gc must not leak into the test runner's workers.
const probe = `
import { collectYoung } from ${JSON.stringify(pathToFileURL(fileURLToPath(new URL('./young-gc.ts', import.meta.url))).href)};
const mb = () => process.memoryUsage().arrayBuffers / 1024 / 1024;
const before = mb();
// Below V8's external-memory trigger (64 MB), like the buffers of one Kafka send or SQL statement.
for (let i = 0; i < 24; i++) Buffer.alloc(1024 * 1024, i);
const allocated = mb() - before;
const ran = collectYoung();
// V8 may hand the backing stores to a background sweeper: a moment, too short for a scavenge of its own.
for (let i = 0; i < 5 && mb() - before > 4; i++) await new Promise((r) => setTimeout(r, 20));
console.log(JSON.stringify({ ran, allocated, left: mb() - before }));
`;
const run = (flags: string[]) => {
  const r = spawnSync(process.execPath, [...flags, '--no-warnings', '--input-type=module', '-e', probe], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(r.stderr);
  return JSON.parse(r.stdout) as { ran: boolean; allocated: number; left: number };
};

describe('collectYoung', () => {
  it('does nothing without --expose-gc', () => {
    expect(collectYoung()).toBe(false);
    const r = run([]);
    expect(r.ran).toBe(false);
    expect(r.left).toBeGreaterThan(20);
  });

  it('with it, frees dead buffers that no allocation of the JS heap would have collected yet', () => {
    const r = run(['--expose-gc']);
    expect(r.allocated).toBeGreaterThan(20);
    expect(r.ran).toBe(true);
    expect(r.left).toBeLessThan(4);
  });
});
