import { CommanderError } from 'commander';
import { CliError, EXIT } from './errors.js';
import type { Io } from './commands/context.js';
import { Printer } from './output/printer.js';
import { colorWanted, makeTheme } from './output/theme.js';
import { buildProgram } from './program.js';

export function processIo(): Io {
  return { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin, env: process.env };
}

/** Prints a failure on stderr (as JSON when --json was asked for) and returns its exit code. */
export function report(e: unknown, io: Io, argv: readonly string[]): number {
  const json = argv.includes('--json');
  const err = new Printer(io.stderr, io.stderr, makeTheme(false), makeTheme(colorWanted(io.stderr, io.env, !argv.includes('--no-color'))));
  if (e instanceof CliError) {
    if (json) io.stderr.write(`${JSON.stringify({ error: { kind: e.kind, exitCode: e.exitCode, message: e.message, hint: e.hint ?? null } })}\n`);
    else err.error(e.message, e.hint);
    return e.exitCode;
  }
  const message = e instanceof Error ? e.message : String(e);
  if (json) io.stderr.write(`${JSON.stringify({ error: { kind: 'failure', exitCode: EXIT.failure, message, hint: null } })}\n`);
  else err.error(`unexpected error: ${message}`, io.env.FALCLI_DEBUG ? (e as Error).stack : 'run again with FALCLI_DEBUG=1 for details');
  return EXIT.failure;
}

export async function main(argv: readonly string[] = process.argv, io: Io = processIo()): Promise<number> {
  const program = buildProgram(io);
  try {
    await program.parseAsync([...argv]);
    return EXIT.ok;
  } catch (e) {
    if (e instanceof CommanderError) {
      // Commander has already printed its message (or the help) through configureOutput.
      if (e.exitCode === 0) return EXIT.ok;
      return EXIT.usage;
    }
    return report(e, io, argv);
  }
}
