import type { PortRange } from '#events';

/**
 * Sorted, non-overlapping, non-adjacent inclusive ranges. Everything below assumes this shape, so
 * every range that enters the ledger goes through here first.
 */
export function normaliseRanges(ranges: readonly PortRange[]): PortRange[] {
  const valid = ranges
    .filter(([lo, hi]) => Number.isInteger(lo) && Number.isInteger(hi) && lo <= hi)
    .map(([lo, hi]) => [lo, hi] as [number, number])
    .sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  const out: [number, number][] = [];
  for (const [lo, hi] of valid) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

/** a − b, both normalised. */
export function subtractRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: [number, number][] = [];
  for (const [lo0, hi] of a) {
    let lo = lo0;
    for (const [blo, bhi] of b) {
      if (bhi < lo || blo > hi) continue;
      if (blo > lo) out.push([lo, blo - 1]);
      lo = bhi + 1;
      if (lo > hi) break;
    }
    if (lo <= hi) out.push([lo, hi]);
  }
  return out;
}

export function rangeContaining(ranges: readonly PortRange[], port: number): PortRange | null {
  return ranges.find(([lo, hi]) => lo <= port && port <= hi) ?? null;
}

export function formatRange([lo, hi]: PortRange): string {
  return lo === hi ? String(lo) : `${lo}-${hi}`;
}

/** a ∪ b, normalised. */
export function unionRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  return normaliseRanges([...a, ...b]);
}

/** a ∩ b, both normalised. */
export function intersectRanges(a: readonly PortRange[], b: readonly PortRange[]): PortRange[] {
  const out: [number, number][] = [];
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    const lo = Math.max(a[i][0], b[j][0]);
    const hi = Math.min(a[i][1], b[j][1]);
    if (lo <= hi) out.push([lo, hi]);
    if (a[i][1] < b[j][1]) i++;
    else j++;
  }
  return out;
}

/** How many ports normalised ranges hold. */
export function countRangePorts(ranges: readonly PortRange[]): number {
  return ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
}

/** "1-1000,8080": the compact text a range list is stored as; "" for none. */
export function formatRangeList(ranges: readonly PortRange[]): string {
  return normaliseRanges(ranges).map(formatRange).join(',');
}

/** Reads formatRangeList's text back (port 0 allowed, as coverage may hold it); null when it is not such a list. */
export function parseRangeList(text: string): PortRange[] | null {
  if (text === '') return [];
  const out: [number, number][] = [];
  for (const item of text.split(',')) {
    const m = /^(\d{1,5})(?:-(\d{1,5}))?$/.exec(item);
    if (m === null) return null;
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > hi || hi > 65535) return null;
    out.push([lo, hi]);
  }
  return normaliseRanges(out);
}
