import { render } from 'ink';
import type { Api } from '../api/index.js';
import type { ProjectRef } from '../config/profiles.js';
import { App } from './app.js';
import { COLOR_THEME, DepsProvider, NO_COLOR_THEME } from './context.js';

export interface RunUiOptions {
  readonly api: Api;
  readonly project: ProjectRef | null;
  readonly profileName: string;
  readonly intervalMs: number;
  readonly env: NodeJS.ProcessEnv;
}

/** Runs the UI in the terminal's alternate screen, so quitting gives the shell back as it was. */
export async function runUi(opts: RunUiOptions): Promise<void> {
  const noColor = opts.env.NO_COLOR !== undefined && opts.env.NO_COLOR !== '';
  const deps = { api: opts.api, intervalMs: opts.intervalMs, theme: noColor ? NO_COLOR_THEME : COLOR_THEME, cwd: process.cwd() };
  process.stdout.write('\x1b[?1049h\x1b[H');
  try {
    const app = render(
      <DepsProvider deps={deps}>
        <App profileName={opts.profileName} initialProject={opts.project} />
      </DepsProvider>,
      { exitOnCtrlC: true, patchConsole: true },
    );
    await app.waitUntilExit();
  } finally {
    process.stdout.write('\x1b[?1049l');
  }
}
