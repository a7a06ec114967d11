import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { once } from 'node:events';
import type { NmapHost, NmapRunMeta } from '#events';
import { inferCoverage, parseNmapReport, ReportError } from '#domain';

export interface SpooledHost {
  readonly host: NmapHost;
  /** Its JSON size in bytes, so that publishing can batch by size. */
  readonly bytes: number;
}

export interface SpooledReport {
  readonly path: string;
  readonly sha256: string;
  readonly bytes: number;
  readonly hostCount: number;
  readonly meta: NmapRunMeta;
  readonly coverage: ReturnType<typeof inferCoverage>;
  /** What every HostObserved carries of the run, arguments capped (see provenanceRun). */
  readonly run: ProvenanceRun;
  hosts(): AsyncIterable<SpooledHost>;
  discard(): Promise<void>;
}

/**
 * Every event of an import is one Kafka message, and the topics take at most 10 MiB
 * (max.message.bytes). A host (with the run and coverage each HostObserved repeats) and the run's
 * header (ImportCompleted) must fit with room to spare, or the import would fail half-published.
 */
export const MAX_EVENT_BYTES = 8 * 1024 * 1024;
/** Envelope, provenance and file name around a payload. */
const EVENT_SLACK = 16 * 1024;
const MAX_PROVENANCE_ARGS = 4096;

export type ProvenanceRun = { readonly scanner: string; readonly version?: string; readonly args?: string };

/**
 * The run as each HostObserved records it. The arguments are capped: repeated in every host's
 * event, a megabyte of arguments would multiply by the host count. ImportCompleted keeps them whole.
 */
export function provenanceRun(meta: NmapRunMeta): ProvenanceRun {
  const args = meta.args !== undefined && meta.args.length > MAX_PROVENANCE_ARGS ? `${meta.args.slice(0, MAX_PROVENANCE_ARGS)}…` : meta.args;
  return { scanner: meta.scanner, version: meta.version, args };
}

const mib = (n: number) => (n >= 1024 * 1024 ? `${(n / 1024 / 1024).toFixed(1)} MiB` : `${Math.ceil(n / 1024)} KiB`);

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
export async function spoolReport(body: Readable, dir: string, opts: { fileName: string; maxBytes: number; maxEventBytes?: number }): Promise<SpooledReport> {
  const maxEventBytes = opts.maxEventBytes ?? MAX_EVENT_BYTES;
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
  let largest = { bytes: 0, index: 0, ip: '' };
  try {
    for await (const ev of parseNmapReport(chunks, { source: opts.fileName })) {
      if (ev.kind === 'host') {
        hostCount++;
        const line = JSON.stringify(ev.host);
        const size = Buffer.byteLength(line);
        if (size > largest.bytes) largest = { bytes: size, index: hostCount, ip: ev.host.ip };
        if (size > maxEventBytes) throw hostTooLarge(opts.fileName, largest, maxEventBytes);
        await write(out, `${size} ${line}\n`);
      } else meta = ev.meta;
    }
    out.end();
    await once(out, 'finish');
    if (meta) {
      const budget = maxEventBytes - EVENT_SLACK - Buffer.byteLength(opts.fileName) * 2;
      const around = Buffer.byteLength(JSON.stringify({ run: provenanceRun(meta), coverage: inferCoverage(meta) }));
      if (largest.bytes + around > budget) throw hostTooLarge(opts.fileName, largest, budget - around);
      const header = Buffer.byteLength(JSON.stringify(meta));
      if (header > budget) {
        throw new ReportError(
          'REPORT.TOO_LARGE',
          `${opts.fileName}: the run's header, pre-scan and post-scan scripts hold ${mib(header)} of data; at most ${mib(budget)} fit in one event`,
        );
      }
    }
  } catch (e) {
    // A spool write can still be in flight: destroying the stream fails it with an 'error' event
    // that, unheard, would take the whole process down (found by fuzzing with truncated reports).
    out.on('error', () => {});
    if (!out.closed) {
      const closed = new Promise<void>((r) => out.once('close', () => r()));
      out.destroy();
      await closed;
    }
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
    run: provenanceRun(finalMeta),
    async *hosts() {
      const rl = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
      for await (const line of rl) {
        if (!line) continue;
        const space = line.indexOf(' ');
        yield { bytes: Number(line.slice(0, space)), host: JSON.parse(line.slice(space + 1)) as NmapHost };
      }
    },
    discard: () => rm(path, { force: true }),
  };
}

function hostTooLarge(fileName: string, host: { bytes: number; index: number; ip: string }, limit: number): ReportError {
  return new ReportError(
    'REPORT.TOO_LARGE',
    `${fileName}: <host> #${host.index} (${host.ip}) holds ${mib(host.bytes)} of data once parsed; one host may carry at most ${mib(limit)}, since each host travels as one event`,
  );
}
