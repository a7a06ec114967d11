import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import type { NmapHost, NmapRunMeta } from '#events';
import { inferCoverage, parseNmapReport, ReportError } from '#domain';

export interface SpooledReport {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly hostCount: number;
  readonly meta: NmapRunMeta;
  readonly coverage: ReturnType<typeof inferCoverage>;
  hosts(): AsyncIterable<NmapHost>;
  discard(): Promise<void>;
}

export class UploadTooLargeError extends Error {
  readonly code = 'REPORT.TOO_LARGE';
}

async function write(out: WriteStream, line: string): Promise<void> {
  if (!out.write(line)) await once(out, 'drain');
}

/**
 * First pass over an upload: hash it, parse it completely and keep each host as one JSON line in a
 * spool file. Nothing is published until the whole report has parsed, so a malformed, truncated
 * or hostile report changes nothing; memory stays flat whatever the size.
 */
export async function spoolReport(body: Readable, dir: string, opts: { fileName: string; maxBytes: number }): Promise<SpooledReport> {
  await mkdir(dir, { recursive: true });
  const path = join(dir, `${randomUUID()}.jsonl`);
  const out = createWriteStream(path);
  const hash = createHash('sha256');
  let bytes = 0;
  const chunks = (async function* () {
    for await (const c of body) {
      bytes += (c as Buffer).length;
      if (bytes > opts.maxBytes) throw new UploadTooLargeError(`report is larger than the limit of ${opts.maxBytes} bytes`);
      hash.update(c as Buffer);
      yield c as Buffer;
    }
  })();
  let hostCount = 0;
  let meta: NmapRunMeta | undefined;
  try {
    for await (const ev of parseNmapReport(chunks, { source: opts.fileName })) {
      if (ev.kind === 'host') {
        hostCount++;
        await write(out, JSON.stringify(ev.host) + '\n');
      } else meta = ev.meta;
    }
    out.end();
    await once(out, 'finish');
  } catch (e) {
    out.destroy();
    await rm(path, { force: true });
    // Drain what the client still sends so it receives our answer instead of a reset.
    body.resume();
    throw e;
  }
  if (!meta) {
    await rm(path, { force: true });
    throw new ReportError('REPORT.EMPTY', `${opts.fileName}: the report has no <nmaprun> content`);
  }
  if (hostCount === 0) {
    await rm(path, { force: true });
    throw new ReportError('REPORT.EMPTY', `${opts.fileName}: the report lists no hosts, nothing to import`);
  }
  const finalMeta = meta;
  return {
    path,
    sha256: hash.digest('hex'),
    bytes,
    hostCount,
    meta: finalMeta,
    coverage: inferCoverage(finalMeta),
    async *hosts() {
      const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
      for await (const line of rl) if (line) yield JSON.parse(line) as NmapHost;
    },
    discard: () => rm(path, { force: true }),
  };
}
