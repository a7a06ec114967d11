import { ago, bytes, clock, dash, parseMoment, utc } from './format.js';
import { formatProgress, progressSink } from './progress.js';
import { formatKeyValue, formatTable } from './table.js';
import { colorWanted, makeTheme } from './theme.js';

const plain = makeTheme(false);
const color = makeTheme(true);

describe('formatTable', () => {
  const rows = [
    { ip: '10.0.0.1', ports: 3, name: 'web.example' },
    { ip: '192.168.100.200', ports: 12, name: '' },
  ];
  const cols = [
    { header: 'ip', value: (r: (typeof rows)[number]) => r.ip },
    { header: 'ports', value: (r: (typeof rows)[number]) => String(r.ports), right: true },
    { header: 'name', value: (r: (typeof rows)[number]) => dash(r.name) },
  ];

  it('aligns columns two spaces apart with upper-case headers and no trailing blanks', () => {
    expect(formatTable(rows, cols, plain).split('\n')).toEqual([
      'IP               PORTS  NAME',
      '10.0.0.1             3  web.example',
      '192.168.100.200     12  -',
    ]);
  });

  it('measures cells without their colour codes', () => {
    const painted = [{ header: 'state', value: (r: { s: string }) => color.ok(r.s) }, { header: 'x', value: () => 'y' }];
    const lines = formatTable([{ s: 'open' }, { s: 'filtered' }], painted, color).split('\n');
    expect(lines[1]).toBe('\x1b[32mopen\x1b[39m      y');
    expect(lines[2]).toBe('\x1b[32mfiltered\x1b[39m  y');
  });

  it('keeps a multi-line value on one line', () => {
    expect(formatTable([{ v: 'a\nb\tc' }], [{ header: 'v', value: (r: { v: string }) => r.v }], plain)).toBe('V\na b c');
  });

  it('aligns key/value pairs on the longest key', () => {
    expect(formatKeyValue([['name', 'acme'], ['comment', '-']], plain)).toBe('  name     : acme\n  comment  : -');
  });
});

describe('format', () => {
  it('prints times as UTC from ISO strings and epoch seconds or milliseconds', () => {
    expect(utc('2025-07-23T09:18:46.123Z')).toBe('2025-07-23 09:18:46');
    expect(utc(1753262326)).toBe('2025-07-23 09:18:46');
    expect(utc(1753262326000)).toBe('2025-07-23 09:18:46');
    expect(utc(null)).toBe('-');
  });

  it('renders empty values as - and lists joined with commas', () => {
    expect([dash(null), dash(''), dash([]), dash(['a', 'b']), dash(0)]).toEqual(['-', '-', '-', 'a, b', '0']);
  });

  it('says how long ago, in the units of the original', () => {
    const now = Date.parse('2026-01-01T12:00:00Z');
    expect(ago('2026-01-01T11:59:30Z', now)).toBe('30 sec ago');
    expect(ago('2026-01-01T11:50:00Z', now)).toBe('10 min ago');
    expect(ago('2026-01-01T09:00:00Z', now)).toBe('3 h ago');
  });

  it('formats durations and sizes', () => {
    expect(clock(65_000)).toBe('1:05');
    expect(clock(3_725_000)).toBe('1:02:05');
    expect([bytes(512), bytes(1536), bytes(5 * 1024 * 1024)]).toEqual(['512 B', '1.5 KB', '5.0 MB']);
  });

  it('reads spans back from now and absolute times, and refuses anything else', () => {
    const now = Date.parse('2026-01-08T00:00:00Z');
    expect(parseMoment('7d', now)).toBe('2026-01-01T00:00:00.000Z');
    expect(parseMoment('90m', now)).toBe('2026-01-07T22:30:00.000Z');
    expect(parseMoment('2026-01-01T10:00:00Z', now)).toBe('2026-01-01T10:00:00.000Z');
    expect(() => parseMoment('last tuesday', now)).toThrow(/neither a time/);
  });
});

describe('progress', () => {
  it('shows percent, amounts, average rate and ETA', () => {
    const line = formatProgress({ done: 5 * 1024 * 1024, total: 20 * 1024 * 1024, elapsedMs: 2000, unit: 'bytes', label: 'upload' }, 100);
    expect(line).toMatch(/^upload \[#+\.+\] {3}25% {2}5\.0 MB\/20 MB {2}2\.5 MB\/s {2}ETA 0:06$/);
    const bar = /\[([#.]+)\]/.exec(line)![1];
    expect(bar.replace(/\./g, '').length / bar.length).toBeCloseTo(0.25, 1);
  });

  it('without a total shows the amount, rate and elapsed time', () => {
    expect(formatProgress({ done: 30, total: null, elapsedMs: 10_000, unit: 'items' })).toMatch(/^\[\.+\] {2}30 {2}3\.0\/s {2}0:10$/);
  });

  it('fits the requested width', () => {
    expect(formatProgress({ done: 1, total: 3, elapsedMs: 1000, unit: 'items', label: 'x' }, 50).length).toBeLessThanOrEqual(50);
  });

  it('redraws one line on a terminal at most every 100 ms, and prints lines every 5 s elsewhere', () => {
    let t = 0;
    const tty = { isTTY: true, columns: 80, out: '' as string, write(s: string) { this.out += s; } };
    const sink = progressSink(tty, 'bytes', 'up', true, () => t);
    for (t = 0; t <= 1000; t += 10) sink.update(t, 1000);
    sink.finish();
    const frames = tty.out.split('\r\x1b[2K').filter(Boolean);
    expect(frames.length).toBeGreaterThanOrEqual(10);
    expect(frames.length).toBeLessThanOrEqual(12);
    expect(frames.at(-1)).toMatch(/100% .*\n$/);

    const log = { isTTY: false, out: '' as string, write(s: string) { this.out += s; } };
    t = 0;
    const sink2 = progressSink(log, 'items', 'apply', true, () => t);
    for (t = 0; t <= 12_000; t += 100) sink2.update(t, 12_000);
    expect(log.out.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/ 41% {2}5000\/12000 {2}1000\/s {2}ETA 0:07$/), expect.stringMatching(/ 83% {2}10000\/12000/)]);
    expect(log.out).not.toContain('\r');
  });

  it('says nothing when disabled', () => {
    const s = { out: '', write(x: string) { this.out += x; } };
    const sink = progressSink(s, 'bytes', 'x', false);
    sink.update(1, 2);
    sink.finish();
    expect(s.out).toBe('');
  });
});

describe('colorWanted', () => {
  it('colours a terminal only, never with NO_COLOR or --no-color, and always with FORCE_COLOR', () => {
    expect(colorWanted({ isTTY: true }, {}, undefined)).toBe(true);
    expect(colorWanted({ isTTY: false }, {}, undefined)).toBe(false);
    expect(colorWanted({ isTTY: true }, { NO_COLOR: '1' }, undefined)).toBe(false);
    expect(colorWanted({ isTTY: true }, {}, false)).toBe(false);
    expect(colorWanted({ isTTY: true }, { TERM: 'dumb' }, undefined)).toBe(false);
    expect(colorWanted({ isTTY: false }, { FORCE_COLOR: '1' }, undefined)).toBe(true);
  });

  it('a disabled theme leaves text untouched', () => {
    expect(plain.error('x') + plain.ok('y')).toBe('xy');
    expect(color.error('x')).toBe('\x1b[31mx\x1b[39m');
  });
});
