import { isInsideWindow, nextWindowChange, validateScanWindow, type ScanWindow } from './scan-window.js';

const at = (iso: string) => Date.parse(iso);
const night: ScanWindow = { start: '22:00', end: '06:00', timeZone: 'Europe/Berlin' };

const given = (w: ScanWindow) => ({
  whenAt: (iso: string) => ({
    thenInside: (expected: boolean) => expect(isInsideWindow(w, at(iso))).toBe(expected),
    thenNextChangeIs: (expected: string | null) => expect(nextWindowChange(w, at(iso))).toBe(expected === null ? null : at(expected)),
  }),
});

describe('scan windows (local wall clock of the project zone)', () => {
  it('given 22:00–06:00 Berlin in winter (UTC+1), then it is inside from 22:00 up to, not including, 06:00 local', () => {
    given(night).whenAt('2026-01-15T20:59:59Z').thenInside(false); // 21:59:59
    given(night).whenAt('2026-01-15T21:00:00Z').thenInside(true); // 22:00
    given(night).whenAt('2026-01-15T23:30:00Z').thenInside(true); // 00:30, across midnight
    given(night).whenAt('2026-01-16T04:59:00Z').thenInside(true); // 05:59
    given(night).whenAt('2026-01-16T05:00:00Z').thenInside(false); // 06:00
    given(night).whenAt('2026-01-16T11:00:00Z').thenInside(false);
  });

  it('given the same window in summer (UTC+2), then the UTC edges move by an hour', () => {
    given(night).whenAt('2026-07-15T19:59:00Z').thenInside(false); // 21:59 CEST
    given(night).whenAt('2026-07-15T20:00:00Z').thenInside(true); // 22:00 CEST
    given(night).whenAt('2026-07-16T04:00:00Z').thenInside(false); // 06:00 CEST
  });

  it('given a daytime window, then start ≤ t < end within one day', () => {
    const day: ScanWindow = { start: '09:30', end: '17:00', timeZone: 'UTC' };
    given(day).whenAt('2026-05-01T09:29:59Z').thenInside(false);
    given(day).whenAt('2026-05-01T09:30:00Z').thenInside(true);
    given(day).whenAt('2026-05-01T16:59:59Z').thenInside(true);
    given(day).whenAt('2026-05-01T17:00:00Z').thenInside(false);
  });

  it('given an outside instant, when asking for the next change, then it is the next opening; inside, the next closing', () => {
    given(night).whenAt('2026-01-15T12:00:00Z').thenNextChangeIs('2026-01-15T21:00:00Z');
    given(night).whenAt('2026-01-15T21:00:00Z').thenNextChangeIs('2026-01-16T05:00:00Z');
    given(night).whenAt('2026-01-15T20:59:30Z').thenNextChangeIs('2026-01-15T21:00:00Z');
  });

  it('given the spring-forward night (Berlin, 2026-03-29, 02:00 → 03:00), then a window on the skipped hour is not reached that day', () => {
    const skipped: ScanWindow = { start: '02:00', end: '03:00', timeZone: 'Europe/Berlin' };
    given(skipped).whenAt('2026-03-29T00:59:00Z').thenInside(false); // 01:59 CET
    given(skipped).whenAt('2026-03-29T01:00:00Z').thenInside(false); // 03:00 CEST
    given(skipped).whenAt('2026-03-28T12:00:00Z').thenNextChangeIs('2026-03-30T00:00:00Z'); // 02:00 CEST the next night
  });

  it('given a night window across the spring-forward night, then it closes at 06:00 CEST, an hour less of real time', () => {
    given(night).whenAt('2026-03-28T22:00:00Z').thenInside(true); // 23:00 CET
    given(night).whenAt('2026-03-28T22:00:00Z').thenNextChangeIs('2026-03-29T04:00:00Z');
  });

  it('given the fall-back night (Berlin, 2026-10-25, 03:00 → 02:00), then the repeated hour is inside both times', () => {
    const repeated: ScanWindow = { start: '02:00', end: '03:00', timeZone: 'Europe/Berlin' };
    given(repeated).whenAt('2026-10-25T00:30:00Z').thenInside(true); // 02:30 CEST
    given(repeated).whenAt('2026-10-25T01:30:00Z').thenInside(true); // 02:30 CET
    given(repeated).whenAt('2026-10-25T00:30:00Z').thenNextChangeIs('2026-10-25T02:00:00Z'); // 03:00 CET
  });

  it('given a zone east of UTC with a half-hour offset, then its own wall clock rules', () => {
    const india: ScanWindow = { start: '22:00', end: '06:00', timeZone: 'Asia/Kolkata' };
    given(india).whenAt('2026-01-15T16:29:00Z').thenInside(false); // 21:59 IST
    given(india).whenAt('2026-01-15T16:30:00Z').thenInside(true); // 22:00 IST
  });

  it('validates: HH:MM, distinct edges, a real IANA zone (canonical spelling), no unknown fields', () => {
    expect(validateScanWindow({ start: '22:00', end: '06:00', timeZone: 'europe/berlin' })).toEqual({ ok: true, window: { start: '22:00', end: '06:00', timeZone: 'Europe/Berlin' } });
    const bad = validateScanWindow({ start: '24:00', end: '6:00', timeZone: 'Mars/Olympus', extra: 1 });
    expect(bad.ok).toBe(false);
    if (!bad.ok) expect(bad.errors.map((e) => e.path).sort()).toEqual(['window.end', 'window.extra', 'window.start', 'window.timeZone']);
    const same = validateScanWindow({ start: '10:00', end: '10:00', timeZone: 'UTC' });
    expect(same.ok).toBe(false);
    expect(validateScanWindow('22-06').ok).toBe(false);
  });
});
