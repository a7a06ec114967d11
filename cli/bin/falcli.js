#!/usr/bin/env node
// Launcher: the CLI is TypeScript compiled by `npm run build` into dist/.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const entry = new URL('../../dist/cli/src/main.js', import.meta.url);
if (!existsSync(fileURLToPath(entry))) {
  process.stderr.write(`falcli is not built yet: run 'npm run build' in ${fileURLToPath(new URL('../..', import.meta.url))}\n`);
  process.exit(1);
}

// `falcli … | head` closes the pipe early; that is the reader's choice, not an error.
process.stdout.on('error', (e) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});
process.on('SIGINT', () => {
  process.stderr.write('\n[!] Interrupted.\n');
  process.exit(130);
});

const { main } = await import(entry.href);
process.exit(await main(process.argv));
