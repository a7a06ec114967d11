import { dash } from '../output/format.js';
import type { Ctx } from './context.js';

const scalar = (v: unknown) => (v !== null && typeof v === 'object' && !Array.isArray(v) ? JSON.stringify(v) : dash(v));

/**
 * For answers whose shape is still settling (routes planned by other issues): an array of objects
 * becomes a table of their keys, an object a key/value block. --json always gives the exact answer.
 */
export function printGeneric(ctx: Ctx, data: unknown): void {
  const rows = Array.isArray(data) ? data : data && typeof data === 'object' && Array.isArray((data as { items?: unknown }).items) ? (data as { items: unknown[] }).items : null;
  if (rows) {
    if (!rows.length) return ctx.printer.warn('Nothing to show.');
    const keys = [...new Set(rows.flatMap((r) => (r && typeof r === 'object' ? Object.keys(r) : [])))].slice(0, 8);
    ctx.printer.table(rows as Record<string, unknown>[], keys.map((k) => ({ header: k, value: (r: Record<string, unknown>) => scalar(r[k]) })));
    return;
  }
  if (data && typeof data === 'object') return ctx.printer.kv(Object.entries(data).map(([k, v]) => [k, scalar(v)] as const));
  ctx.printer.line(dash(data));
}
