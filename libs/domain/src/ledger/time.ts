// Timestamps arrive as strings from reports and envelopes. Comparing them as instants matters when
// producers disagree on precision or offset ("…:00Z" vs "…:00.000+00:00"); a string without an
// explicit zone is compared as text, because Date.parse would read it in the machine's local zone
// and two replicas could then fold differently.
const zoned = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2}))?$/i;

function instant(s: string): number {
  return zoned.test(s) ? Date.parse(s) : Number.NaN;
}

/** <0 when a is earlier than b. */
export function compareTime(a: string, b: string): number {
  const x = instant(a);
  const y = instant(b);
  if (Number.isFinite(x) && Number.isFinite(y) && x !== y) return x - y;
  if (Number.isFinite(x) && Number.isFinite(y)) return 0;
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The later of the two; on a tie the first, so re-folding the same evidence changes nothing. */
export function laterOf(current: string, candidate: string): string {
  return compareTime(candidate, current) > 0 ? candidate : current;
}

export function earlierOf(current: string, candidate: string): string {
  return compareTime(candidate, current) < 0 ? candidate : current;
}
