import { formatKeyValue, formatTable, type Column } from './table.js';
import type { Theme } from './theme.js';

export interface Stream {
  write(s: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * All command output goes through here. Results go to stdout; warnings, errors and progress to
 * stderr. In machine mode (--json, or data streamed to stdout) confirmations move to stderr too,
 * so `falcli … --json | jq` and `falcli export … > file` always get clean data.
 */
export class Printer {
  /** Set by commands whose stdout is data. */
  machine = false;

  constructor(
    readonly out: Stream,
    readonly err: Stream,
    readonly theme: Theme,
    readonly errTheme: Theme,
  ) {}

  private say(s: string, paint: (t: Theme) => (s: string) => string, prefix: string): void {
    const [stream, theme] = this.machine ? [this.err, this.errTheme] : [this.out, this.theme];
    stream.write(`${prefix ? `${paint(theme)(prefix)} ` : ''}${s}\n`);
  }

  /** Data: a table, a key/value block, a line of a listing. */
  line(s = ''): void {
    this.out.write(`${s}\n`);
  }

  json(value: unknown): void {
    this.out.write(`${JSON.stringify(value, null, 2)}\n`);
  }

  table<T>(rows: readonly T[], columns: readonly Column<T>[]): void {
    if (rows.length) this.line(formatTable(rows, columns, this.theme));
  }

  kv(pairs: ReadonlyArray<readonly [string, string]>): void {
    this.line(formatKeyValue(pairs, this.theme));
  }

  success(msg: string): void {
    this.say(msg, (t) => t.ok, '[+]');
  }

  warn(msg: string): void {
    this.err.write(`${this.errTheme.warn('[!]')} ${msg}\n`);
  }

  note(msg: string): void {
    this.say(msg, (t) => t.muted, '');
  }

  error(msg: string, hint?: string): void {
    this.err.write(`${this.errTheme.error('[-]')} ${msg}\n`);
    if (hint) this.err.write(`    ${this.errTheme.muted(hint)}\n`);
  }
}
