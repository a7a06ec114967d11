import { createWriteStream } from 'node:fs';
import { rename, rm } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { Command, Option } from 'commander';
import type { ExportFormat, HostFilters } from '../api/index.js';
import type { ProjectRef } from '../config/profiles.js';
import { fileError } from '../errors.js';
import { progressSink } from '../output/progress.js';
import { action, type Ctx, type Io } from './context.js';
import { hostFilterOptions, hostFilters } from './host-filters.js';
import { examples, projectOption } from './shared.js';

export const EXPORT_FORMATS: readonly ExportFormat[] = ['xml', 'json', 'csv', 'ipport'];

export const formatOption = (cmd: Command, def: ExportFormat = 'xml') =>
  cmd.addOption(new Option('--format <format>', 'xml (nmap, re-importable), json, csv, or ipport (one ip:port per line)').choices(EXPORT_FORMATS).default(def));

/**
 * Streams an export to a file (written under a temporary name, renamed when complete, so a broken
 * download never leaves a truncated report behind) or to stdout for `-`.
 */
export async function exportTo(ctx: Ctx, p: ProjectRef, format: ExportFormat, filters: HostFilters, out: string): Promise<void> {
  const res = await ctx.api().ledger.exportStream(p.id, format, { ...filters });
  if (!res.body) throw fileError('the server sent an empty export');
  const total = Number(res.headers.get('content-length')) || null;
  const toStdout = out === '-';
  const sink = progressSink(ctx.io.stderr, 'bytes', 'download', ctx.io.stderr.isTTY === true && !toStdout);
  let done = 0;
  const body = Readable.fromWeb(res.body as import('node:stream/web').ReadableStream<Uint8Array>);
  body.on('data', (c: Buffer) => sink.update((done += c.length), total));
  if (toStdout) {
    await pipeline(body, ctx.io.stdout, { end: false });
    return;
  }
  const tmp = `${out}.part`;
  try {
    await pipeline(body, createWriteStream(tmp, { mode: 0o644 }));
    await rename(tmp, out);
  } catch (e) {
    await rm(tmp, { force: true });
    const code = (e as { code?: string }).code;
    if (code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR') throw fileError(`cannot write ${out}: ${code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'it is a directory' : 'no such directory'}`);
    throw e;
  }
  sink.finish();
  ctx.printer.success(`Exported project '${p.name}' as ${format}.`);
  ctx.printer.note(`Saved to: ${out}`);
}

export function exportCommand(io: Io): Command {
  return examples(
    formatOption(hostFilterOptions(new Command('export').description('export the hosts, streamed: nmap XML, JSON, CSV, or ip:port lines (stdout by default)')))
      .option('-o, --out <path>', 'write to a file instead of stdout')
      .addOption(projectOption())
      .action(
        action(io, async (ctx, opts) => {
          const p = await ctx.project();
          const out = opts.out ?? '-';
          if (out === '-') ctx.printer.machine = true;
          await exportTo(ctx, p, opts.format, hostFilters(opts), out);
        }),
      ),
    'falcli export --format ipport --port 443 > https.txt',
    'falcli export --format xml -o acme.xml',
    'falcli export --format csv --service ssh | column -s, -t',
  );
}
