import { visibleLength, type Theme } from './theme.js';

export interface Column<T> {
  readonly header: string;
  readonly value: (row: T) => string;
  /** Right-align (numbers). */
  readonly right?: boolean;
}

const pad = (s: string, width: number, right = false) => {
  const fill = ' '.repeat(Math.max(0, width - visibleLength(s)));
  return right ? fill + s : s + fill;
};

/**
 * "docker ps" layout: upper-case headers, columns two spaces apart, each as wide as its widest
 * cell. The last column is not padded, so lines carry no trailing blanks.
 */
export function formatTable<T>(rows: readonly T[], columns: readonly Column<T>[], theme: Theme): string {
  const cells = rows.map((r) => columns.map((c) => oneLine(c.value(r))));
  const headers = columns.map((c) => c.header.toUpperCase());
  const widths = columns.map((_, i) => Math.max(headers[i].length, ...cells.map((row) => visibleLength(row[i]))));
  const line = (values: string[], paint = (s: string) => s) =>
    values
      .map((v, i) => (i === values.length - 1 && !columns[i].right ? paint(v) : paint(pad(v, widths[i], columns[i].right))))
      .join('  ')
      .trimEnd();
  return [line(headers, theme.muted), ...cells.map((c) => line(c))].join('\n');
}

/** `  key   : value` lines with keys aligned, as `project get` prints them. */
export function formatKeyValue(pairs: ReadonlyArray<readonly [string, string]>, theme: Theme, indent = '  '): string {
  const width = Math.max(0, ...pairs.map(([k]) => k.length)) + 2;
  return pairs.map(([k, v]) => `${indent}${theme.muted(k.padEnd(width))}: ${v}`).join('\n');
}

/** Cells are one line each: a newline from a banner or a comment would break the columns. */
export function oneLine(s: string): string {
  return s.replace(/[\r\n\t]+/g, ' ');
}
