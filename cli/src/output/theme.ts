import { stripVTControlCharacters } from 'node:util';

type Paint = (s: string) => string;

/** Semantic colours: commands say what a thing is (ok, warn, muted…), never which colour it gets. */
export interface Theme {
  readonly enabled: boolean;
  readonly ok: Paint;
  readonly warn: Paint;
  readonly error: Paint;
  readonly muted: Paint;
  readonly strong: Paint;
  readonly accent: Paint;
}

const sgr = (open: number, close: number): Paint => (s) => `\x1b[${open}m${s}\x1b[${close}m`;
const plain: Paint = (s) => s;

export function makeTheme(enabled: boolean): Theme {
  if (!enabled) return { enabled, ok: plain, warn: plain, error: plain, muted: plain, strong: plain, accent: plain };
  return { enabled, ok: sgr(32, 39), warn: sgr(33, 39), error: sgr(31, 39), muted: sgr(90, 39), strong: sgr(1, 22), accent: sgr(36, 39) };
}

/** Colour only for a terminal, and never when NO_COLOR is set (no-color.org) or --no-color given. */
export function colorWanted(stream: { isTTY?: boolean }, env: NodeJS.ProcessEnv, flag: boolean | undefined): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0') return true;
  return stream.isTTY === true && env.TERM !== 'dumb';
}

export const visibleLength = (s: string): number => stripVTControlCharacters(s).length;

/** A port or task state in its usual colour: open/done green, closed/failed red, the rest amber. */
export function paintState(theme: Theme, state: string): string {
  if (/^(open|done|completed|up|online|running)$/.test(state)) return theme.ok(state);
  if (/^(closed|failed|down|cancelled|offline|dead)$/.test(state)) return theme.error(state);
  if (/^(filtered|queued|pending|stale|open\|filtered)$/.test(state)) return theme.warn(state);
  return state;
}
