import { createHash } from 'node:crypto';

/**
 * A UUID (version 8, RFC 9562 "custom") derived from the parts. Planning derives every id from its
 * inputs so that a planner that crashes after publishing and re-plans on redelivery writes the same
 * ids again, and consumers see one task, not two.
 */
export function derivedUuid(...parts: readonly string[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(`${p.length}:${p}|`);
  const b = h.digest().subarray(0, 16);
  b[6] = (b[6] & 0x0f) | 0x80;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = b.toString('hex');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

/** A retried request with the same idempotency key gets the same scan id, so it cannot plan twice. */
export const scanIdForIdempotencyKey = (projectId: string, key: string): string => derivedUuid('scan', projectId, key);
