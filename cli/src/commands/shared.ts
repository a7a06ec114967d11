import { InvalidArgumentError, Option, type Command } from 'commander';
import { IMPORT_MODES, type ImportMode } from '#events';
import { parseMoment } from '../output/format.js';
import { looksLikeId } from './context.js';

/** Every command's --help ends with examples; a unit test walks the tree to hold us to it. */
export function examples(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

export const jsonOption = () => new Option('--json', 'print JSON on stdout instead of a table');
export const projectOption = () => new Option('-p, --project <id|name>', 'project (default: the current project of the profile, or FALCLI_PROJECT)');
export const yesOption = () => new Option('-y, --yes', 'do not ask for confirmation');
export const modeOption = (def?: ImportMode) => {
  const o = new Option('--mode <mode>', 'import mode for hosts the ledger already knows').choices(IMPORT_MODES);
  return def ? o.default(def) : o;
};

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

export function nonNegativeInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('expected a whole number, 0 or more');
  return n;
}

export function port(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}

export function moment(value: string): string {
  try {
    return parseMoment(value);
  } catch (e) {
    throw new InvalidArgumentError((e as Error).message);
  }
}

/** A moment, or an import/scan id, which the ledger reads as "right after it was applied". */
export function momentOrId(value: string): string {
  try {
    return parseMoment(value);
  } catch {
    if (looksLikeId(value)) return value;
    throw new InvalidArgumentError(`'${value}' is neither a time, a span (7d, 12h) nor an import id`);
  }
}

/** `30d`, `12h`, `90m` or plain seconds, as token lifetimes are given. */
export function lifetime(value: string): number {
  const m = /^(\d+)([smhdw]?)$/.exec(value.trim());
  if (!m) throw new InvalidArgumentError("expected a lifetime such as 3600, 90m, 12h, 30d or 52w");
  const unit: Record<string, number> = { '': 1, s: 1, m: 60, h: 3600, d: 86400, w: 604800 };
  return Number(m[1]) * unit[m[2]];
}

export function list(value: string, previous: string[] = []): string[] {
  return [...previous, ...value.split(',').map((s) => s.trim()).filter(Boolean)];
}

export function isoTime(value: string): string {
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) throw new InvalidArgumentError('expected a time such as 2027-01-01T00:00:00Z');
  return d.toISOString();
}
