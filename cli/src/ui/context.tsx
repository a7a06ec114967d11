import { createContext, useContext, type ReactNode } from 'react';
import type { Api } from '../api/index.js';

/** Semantic colours for the UI; all undefined under NO_COLOR, so components never branch on it. */
export interface UiTheme {
  readonly ok?: string;
  readonly warn?: string;
  readonly error?: string;
  readonly muted?: string;
  readonly accent?: string;
}

export const COLOR_THEME: UiTheme = { ok: 'green', warn: 'yellow', error: 'red', muted: 'gray', accent: 'cyan' };
export const NO_COLOR_THEME: UiTheme = {};

export interface UiDeps {
  readonly api: Api;
  readonly intervalMs: number;
  readonly theme: UiTheme;
  /** Where the import screen lists reports from. */
  readonly cwd: string;
}

const DepsContext = createContext<UiDeps | null>(null);

export function DepsProvider({ deps, children }: { deps: UiDeps; children: ReactNode }) {
  return <DepsContext.Provider value={deps}>{children}</DepsContext.Provider>;
}

export function useDeps(): UiDeps {
  const d = useContext(DepsContext);
  if (!d) throw new Error('useDeps outside DepsProvider');
  return d;
}

export const useTheme = (): UiTheme => useDeps().theme;

/**
 * While a text field has the keyboard (filter, path), global keys such as q and 1-5 must not fire.
 * The field claims the keyboard here; the app's global handler listens only when nobody has.
 */
export interface KeyboardClaim {
  readonly claimed: boolean;
  claim(on: boolean): void;
}

export const KeyboardContext = createContext<KeyboardClaim>({ claimed: false, claim: () => undefined });
export const useKeyboard = () => useContext(KeyboardContext);
