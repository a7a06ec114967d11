type Gc = (opts: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

/**
 * A scavenge (~1 ms), asked for after the ledger has handed a produce request to Kafka. kafkajs
 * builds each one through a chain of power-of-two buffers (~10× the batch in all, zero-filled)
 * outside the JS heap, and V8 frees them only at a scavenge, which the JS heap's own allocation
 * triggers every semi-space (16 MB): in between, up to ~60 MB of dead buffers were resident at the
 * ledger's peak during an import (docs/benchmarks.md, "2026-12-07, memory"). Needs `--expose-gc`,
 * which the ledger's launchers pass (README, "Memory of the ledger"); without it, it does nothing.
 * (Turning the flag on at run time with v8.setFlagsFromString changed the whole process it was
 * loaded into, tests included; it is not done.)
 */
export function collectYoung(): boolean {
  const gc = (globalThis as { gc?: Gc }).gc;
  if (!gc) return false;
  gc({ type: 'minor' });
  return true;
}
