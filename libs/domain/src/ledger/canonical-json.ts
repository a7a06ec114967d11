import { createHash } from 'node:crypto';

/**
 * JSON with object keys sorted at every level, so two structurally equal values always give the
 * same text whatever order their keys were built or read back in (Postgres JSONB reorders keys).
 * Follows JSON.stringify for everything else: undefined properties vanish, undefined array items
 * and non-finite numbers become null.
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value)) ?? 'null';
}

/** sha256 of canonicalJson, hex: compares a rebuilt read model with the live one. */
export function canonicalHash(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

/**
 * A detached, key-sorted copy of plain data. The ledger stores pieces of events through this so the
 * state never aliases an event object and its key order does not depend on the producer's.
 */
export function plain<T>(value: T): T {
  return sortKeys(value) as T;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v) => (v === undefined ? null : sortKeys(v)));
  if (value !== null && typeof value === 'object') {
    const o = value as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(o).sort()) if (o[k] !== undefined) out[k] = sortKeys(o[k]);
    return out;
  }
  if (typeof value === 'number' && !Number.isFinite(value)) return null;
  return value;
}

/** Structural equality as the ledger sees it (key order and undefined properties ignored). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}
