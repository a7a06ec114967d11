import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type Gc = (opts: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

// --expose-gc set at run time gives `gc` to contexts created afterwards only; the app's own global
// stays as it was.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as Gc | undefined;

/**
 * A scavenge (~1 ms), asked for after the ledger has handed a produce request to Kafka. kafkajs
 * builds each one through a chain of power-of-two buffers (~10× the batch in all, zero-filled)
 * outside the JS heap, and V8 frees them only at a scavenge, which the JS heap's own allocation
 * triggers every semi-space (16 MB): in between, up to ~60 MB of dead buffers were resident at the
 * ledger's peak during an import (docs/benchmarks.md, "2026-12-07, memory"). Not called after
 * projection chunks, although pg's parameter buffers are the same kind of garbage: with a scavenge
 * there, test/int/import-broker-outage failed in three runs of three (the import stayed "applying"
 * after the broker came back), for a reason not found yet. Without the function (never expected) it does nothing.
 */
export function collectYoung(): void {
  gc?.({ type: 'minor' });
}
