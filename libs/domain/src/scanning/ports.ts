// Port lists ("22,80,8000-8100") as merged ranges: one canonical text per set, so the same ports
// always render the same -p argument and the same shard boundaries.

export type PortRange = readonly [lo: number, hi: number];

export type PortSpecParse = { readonly ok: true; readonly ranges: readonly PortRange[] } | { readonly ok: false; readonly message: string };

const PORT = /^[1-9][0-9]{0,4}$/;
const MAX_SPEC_LENGTH = 20_000;

function port(text: string): number | null {
  if (!PORT.test(text)) return null;
  const n = Number(text);
  return n <= 65535 ? n : null;
}

/** Items are "N" or "A-B" (A ≤ B), 1..65535, comma-separated, no spaces; overlaps are merged. */
export function parsePortSpec(spec: string): PortSpecParse {
  if (typeof spec !== 'string' || spec === '') return { ok: false, message: 'port list is empty' };
  if (spec.length > MAX_SPEC_LENGTH) return { ok: false, message: `port list is longer than ${MAX_SPEC_LENGTH} characters` };
  const ranges: [number, number][] = [];
  for (const item of spec.split(',')) {
    const dash = item.indexOf('-');
    const loText = dash < 0 ? item : item.slice(0, dash);
    const hiText = dash < 0 ? item : item.slice(dash + 1);
    const lo = port(loText);
    const hi = port(hiText);
    if (lo === null || hi === null) {
      return { ok: false, message: `"${item.slice(0, 20)}" is not a port (1..65535) or a range of ports (A-B)` };
    }
    if (lo > hi) return { ok: false, message: `range ${item} must be ascending` };
    ranges.push([lo, hi]);
  }
  return { ok: true, ranges: mergePortRanges(ranges) };
}

export function mergePortRanges(ranges: readonly PortRange[]): PortRange[] {
  const sorted = [...ranges].sort((a, b) => a[0] - b[0]);
  const out: [number, number][] = [];
  for (const [lo, hi] of sorted) {
    const last = out[out.length - 1];
    if (last && lo <= last[1] + 1) last[1] = Math.max(last[1], hi);
    else out.push([lo, hi]);
  }
  return out;
}

export function formatPortSpec(ranges: readonly PortRange[]): string {
  return ranges.map(([lo, hi]) => (lo === hi ? `${lo}` : `${lo}-${hi}`)).join(',');
}

export function countPorts(ranges: readonly PortRange[]): number {
  return ranges.reduce((n, [lo, hi]) => n + hi - lo + 1, 0);
}

/**
 * Splits merged ranges into at most `n` contiguous, disjoint groups whose sizes differ by at most
 * one port, cutting ranges at the boundaries. Fewer groups come back when there are fewer ports.
 */
export function splitPortRanges(ranges: readonly PortRange[], n: number): PortRange[][] {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`shard count must be a positive integer, got ${n}`);
  const total = countPorts(ranges);
  const groups = Math.min(n, total);
  const out: PortRange[][] = [];
  let i = 0;
  let cursor = ranges.length ? ranges[0][0] : 0;
  for (let g = 0; g < groups; g++) {
    let want = Math.floor(total / groups) + (g < total % groups ? 1 : 0);
    const group: PortRange[] = [];
    while (want > 0) {
      const [, hi] = ranges[i];
      const take = Math.min(want, hi - cursor + 1);
      group.push([cursor, cursor + take - 1]);
      want -= take;
      cursor += take;
      if (cursor > hi && ++i < ranges.length) cursor = ranges[i][0];
    }
    out.push(group);
  }
  return out;
}
