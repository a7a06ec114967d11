import { Box, Text } from 'ink';
import { useTheme } from '../context.js';

export interface Cell {
  readonly text: string;
  readonly color?: string;
}

export type Row = ReadonlyArray<string | Cell>;

const cell = (c: string | Cell): Cell => (typeof c === 'string' ? { text: c } : c);

/** Cuts to `width` characters with an ellipsis, so a long banner never wraps a row onto two lines. */
export function fit(text: string, width: number): string {
  const oneLine = text.replace(/[\r\n\t]+/g, ' ');
  if (width <= 0) return '';
  return oneLine.length > width ? `${oneLine.slice(0, Math.max(0, width - 1))}…` : oneLine.padEnd(width);
}

/**
 * Column widths: as wide as their content; when the row is too wide, the free-text columns (over
 * 20 characters) give way first, widest first, so a hostname list shrinks before an IP or a date.
 */
export function columnWidths(headers: readonly string[], rows: readonly Row[], width: number): number[] {
  const natural = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => cell(r[i] ?? '').text.length)));
  const widths = [...natural];
  let total = widths.reduce((a, w) => a + w, 0) + 2 * (widths.length - 1);
  for (const [floor, eligible] of [[10, (i: number) => natural[i] > 20], [4, () => true]] as const) {
    while (total > width) {
      let j = -1;
      widths.forEach((w, i) => {
        if (eligible(i) && w > floor && (j < 0 || w > widths[j])) j = i;
      });
      if (j < 0) break;
      widths[j]--;
      total--;
    }
  }
  return widths;
}

/** The slice of rows to show so the selected one stays visible. */
export function windowOf(count: number, selected: number, height: number): [number, number] {
  if (count <= height) return [0, count];
  const start = Math.min(Math.max(0, selected - Math.floor(height / 2)), count - height);
  return [start, start + height];
}

interface TableProps {
  readonly headers: readonly string[];
  readonly rows: readonly Row[];
  /** -1 for a table without a selection. */
  readonly selected: number;
  readonly height: number;
  readonly width: number;
  readonly empty?: string;
}

export function Table({ headers, rows, selected, height, width, empty = 'Nothing here yet.' }: TableProps) {
  const theme = useTheme();
  const widths = columnWidths(headers, rows, width - 2);
  const [start, end] = windowOf(rows.length, Math.max(0, selected), Math.max(1, height - 1));
  return (
    <Box flexDirection="column">
      <Text color={theme.muted}>{`  ${headers.map((h, i) => fit(h.toUpperCase(), widths[i])).join('  ')}`}</Text>
      {rows.length === 0 ? <Text color={theme.muted}>{`  ${empty}`}</Text> : null}
      {rows.slice(start, end).map((r, k) => {
        const i = start + k;
        const sel = i === selected;
        return (
          <Text key={i} inverse={sel} wrap="truncate">
            {sel ? '› ' : '  '}
            {r.map((c, j) => {
              const { text, color } = cell(c);
              return (
                <Text key={j} color={sel ? undefined : color}>
                  {fit(text, widths[j])}
                  {j < r.length - 1 ? '  ' : ''}
                </Text>
              );
            })}
          </Text>
        );
      })}
      {rows.length > end - start ? <Text color={theme.muted}>{`  ${start + 1}-${end} of ${rows.length}`}</Text> : null}
    </Box>
  );
}
