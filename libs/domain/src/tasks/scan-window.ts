// Scan windows: the daily local hours in which a project's tasks may run ("22:00–06:00 in
// Europe/Berlin"). The rule is about the wall clock of the project's time zone, so it follows DST:
// inside means start ≤ local time < end (across midnight when start > end). On a spring-forward
// day a local time that does not exist is never reached, on a fall-back day the repeated hour
// counts twice; both are what a wall-clock rule means.

export interface ScanWindow {
  /** "HH:MM", 24-hour local time of the zone. */
  readonly start: string;
  readonly end: string;
  /** An IANA zone name ("Europe/Berlin", "UTC"). */
  readonly timeZone: string;
}

export type ScanWindowError = { readonly path: string; readonly message: string };

const CLOCK = /^([01][0-9]|2[0-3]):([0-5][0-9])$/;

/** Minutes after local midnight, or null when not "HH:MM". */
export function parseClock(s: unknown): number | null {
  const m = typeof s === 'string' ? CLOCK.exec(s) : null;
  return m ? Number(m[1]) * 60 + Number(m[2]) : null;
}

const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', { timeZone, hourCycle: 'h23', hour: '2-digit', minute: '2-digit' });
    formatters.set(timeZone, f);
  }
  return f;
}

export function isTimeZone(tz: unknown): tz is string {
  if (typeof tz !== 'string' || tz.length === 0 || tz.length > 64) return false;
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

/** The zone's canonical spelling ("europe/berlin" → "Europe/Berlin"), as Intl resolves it. */
function canonicalZone(tz: string): string {
  return formatter(tz).resolvedOptions().timeZone;
}

export function validateScanWindow(w: unknown, path = 'window'): { ok: true; window: ScanWindow } | { ok: false; errors: ScanWindowError[] } {
  if (typeof w !== 'object' || w === null || Array.isArray(w)) return { ok: false, errors: [{ path, message: 'must be {start: "HH:MM", end: "HH:MM", timeZone} or null' }] };
  const o = w as Record<string, unknown>;
  const errors: ScanWindowError[] = [];
  for (const k of Object.keys(o)) if (!['start', 'end', 'timeZone'].includes(k)) errors.push({ path: `${path}.${k}`, message: 'unknown field' });
  const start = parseClock(o.start);
  const end = parseClock(o.end);
  if (start === null) errors.push({ path: `${path}.start`, message: 'must be HH:MM (00:00–23:59)' });
  if (end === null) errors.push({ path: `${path}.end`, message: 'must be HH:MM (00:00–23:59)' });
  if (start !== null && end !== null && start === end) errors.push({ path: `${path}.end`, message: 'must differ from start (for no restriction, set no window)' });
  if (!isTimeZone(o.timeZone)) errors.push({ path: `${path}.timeZone`, message: 'must be an IANA time zone such as Europe/Berlin or UTC' });
  if (errors.length) return { ok: false, errors };
  return { ok: true, window: { start: o.start as string, end: o.end as string, timeZone: canonicalZone(o.timeZone as string) } };
}

/** Local minutes after midnight at an instant, in the zone. */
export function localMinutes(timeZone: string, instant: number): number {
  let h = 0;
  let m = 0;
  for (const p of formatter(timeZone).formatToParts(new Date(instant))) {
    if (p.type === 'hour') h = Number(p.value);
    else if (p.type === 'minute') m = Number(p.value);
  }
  return h * 60 + m;
}

function insideMinutes(start: number, end: number, t: number): boolean {
  return start < end ? t >= start && t < end : t >= start || t < end;
}

/** Whether tasks may run at this instant (epoch ms or Date). */
export function isInsideWindow(w: ScanWindow, instant: number | Date): boolean {
  const start = parseClock(w.start);
  const end = parseClock(w.end);
  if (start === null || end === null) throw new Error(`invalid window ${JSON.stringify(w)}`);
  return insideMinutes(start, end, localMinutes(w.timeZone, +instant));
}

const MINUTE = 60_000;
/** More than any zone's offset change between two boundaries (DST moves by at most 2 h). */
const DST_MARGIN_MIN = 180;

/**
 * The first instant after `instant` at which isInsideWindow changes (a minute boundary), or null
 * when it never does within two days (cannot happen for a valid window; a guard, not a rule).
 */
export function nextWindowChange(w: ScanWindow, instant: number | Date): number | null {
  const t0 = +instant;
  const now = isInsideWindow(w, t0);
  const start = parseClock(w.start)!;
  const end = parseClock(w.end)!;
  // Jump close to the boundary in wall-clock minutes, then walk minute by minute: the walk absorbs
  // any offset change (DST) between here and there.
  const local = localMinutes(w.timeZone, t0);
  const target = now ? end : start;
  const ahead = (target - local + 1440) % 1440 || 1440;
  let t = Math.floor(t0 / MINUTE) * MINUTE + Math.max(0, ahead - DST_MARGIN_MIN) * MINUTE;
  if (t <= t0) t = Math.floor(t0 / MINUTE) * MINUTE + MINUTE;
  for (let i = 0; i < 2 * 1440 + DST_MARGIN_MIN; i++, t += MINUTE) {
    if (isInsideWindow(w, t) !== now) return t;
  }
  return null;
}

export function describeWindow(w: ScanWindow): string {
  return `${w.start}–${w.end} ${w.timeZone}`;
}
