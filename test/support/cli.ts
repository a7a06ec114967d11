import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const FALCLI = resolve('cli/bin/falcli.js');

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly configDir: string;
  readonly env?: Record<string, string>;
  readonly input?: string;
  readonly cwd?: string;
  /** Told what falcli writes to stderr as it comes (a test can act on a warning mid-run). */
  readonly onStderr?: (chunk: string) => void;
}

/**
 * Runs the built CLI as a child process, with a clean environment (no FALCLI_* leaking in from the
 * developer's shell). Asynchronous on purpose: the ledger under test runs in this process, so a
 * synchronous spawn would block the server the CLI is talking to.
 */
export function falcli(args: readonly string[], opts: CliOptions): Promise<CliRun> {
  if (!existsSync('dist/cli/src/main.js')) throw new Error('falcli is not built: run npm run build first');
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [FALCLI, ...args], {
      cwd: opts.cwd ?? process.cwd(),
      env: { PATH: process.env.PATH ?? '', HOME: opts.configDir, FALCLI_CONFIG_DIR: opts.configDir, ...opts.env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => {
      stderr += c;
      opts.onStderr?.(String(c));
    });
    child.on('error', fail);
    child.on('close', (code) => done({ code: code ?? -1, stdout, stderr }));
    child.stdin.end(opts.input ?? '');
  });
}

export const tempDir = (prefix = 'falcli-e2e-') => mkdtempSync(join(tmpdir(), prefix));

/** A port nothing listens on: bound, then released. */
export async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

/** A config dir holding one active profile for `ledgerUrl`, created through the CLI itself. */
export async function profileFor(ledgerUrl: string, token: string, taskerUrl = ledgerUrl): Promise<string> {
  const configDir = tempDir();
  const r = await falcli(['profile', 'create', 'e2e', '--ledger-url', ledgerUrl, '--tasker-url', taskerUrl, '--token-stdin'], { configDir, input: token });
  if (r.code !== 0) throw new Error(`profile create failed: ${r.stderr}`);
  return configDir;
}
