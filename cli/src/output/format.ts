/** The empty value in every table: `-` as in the original, so columns never collapse. */
export function dash(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  if (Array.isArray(v)) return v.length ? v.map(dash).join(', ') : '-';
  if (typeof v === 'object') return JSON.stringify(v);
  return String(v);
}

/** UTC `YYYY-MM-DD HH:MM:SS`, accepting ISO strings or epoch seconds/milliseconds. */
export function utc(v: unknown): string {
  if (v === null || v === undefined || v === '') return '-';
  const d = typeof v === 'number' ? new Date(v < 1e12 ? v * 1000 : v) : new Date(String(v));
  if (Number.isNaN(d.getTime())) return String(v);
  return d.toISOString().replace('T', ' ').slice(0, 19);
}

/** `H:MM:SS` (or `M:SS` under an hour), as a running target's elapsed time. */
export function clock(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

export function ago(v: unknown, now: number = Date.now()): string {
  if (v === null || v === undefined || v === '') return '-';
  const t = new Date(String(v)).getTime();
  if (Number.isNaN(t)) return String(v);
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} sec ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86400)} d ago`;
}

export function bytes(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(v < 10 ? 1 : 0)} ${units[i]}`;
}

/** Relative moments for --since/--until: `7d`, `12h`, `30m`, or anything Date parses. */
export function parseMoment(v: string, now: number = Date.now()): string {
  const rel = /^(\d+)([smhdw])$/.exec(v.trim());
  if (rel) {
    const unit = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 }[rel[2] as 's' | 'm' | 'h' | 'd' | 'w'];
    return new Date(now - Number(rel[1]) * unit * 1000).toISOString();
  }
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) throw new RangeError(`'${v}' is neither a time (2025-07-01T10:00:00Z) nor a span back from now (30m, 12h, 7d)`);
  return d.toISOString();
}
