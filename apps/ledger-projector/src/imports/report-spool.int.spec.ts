// The spooler against the real file system: what fuzzing the import endpoint found
// (test/int/import-fuzz.int.spec.ts), pinned down without HTTP or Kafka.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { ReportError } from '#domain';
import { MAX_EVENT_BYTES, spoolReport } from './report-spool.js';

const HEAD = '<?xml version="1.0"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" args="nmap -p 80 10.0.0.0/16" start="1795300000" version="7.94">\n<scaninfo type="syn" protocol="tcp" numservices="1" services="80"/>\n';
const host = (i: number, extra = '') =>
  `<host><status state="up"/><address addr="10.0.${i >> 8}.${i & 255}" addrtype="ipv4"/><ports><port protocol="tcp" portid="80"><state state="open"/><service name="http" product="nginx"/>${extra}</port></ports></host>\n`;
const TAIL = '<runstats><finished time="1795300010"/></runstats>\n</nmaprun>\n';

describe('spoolReport', () => {
  let dir: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'falcoria-spool-test-'));
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const refusal = async (body: Readable, opts: { maxEventBytes?: number } = {}) => {
    try {
      await spoolReport(body, dir, { fileName: 'r.xml', maxBytes: 1 << 30, ...opts });
    } catch (e) {
      return e as ReportError;
    }
    throw new Error('expected a refusal');
  };

  // Found by fuzzing: a report refused while spool writes were still in flight destroyed the spool
  // file's stream with no 'error' listener, and the failed write killed the process (uncaught).
  it('refuses truncated reports while writes are in flight, without an unhandled stream error, and leaves no file', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (e: unknown) => uncaught.push(e);
    process.on('uncaughtException', onUncaught);
    try {
      const hosts = Array.from({ length: 2000 }, (_, i) => host(i)).join('');
      for (const cut of [0.3, 0.6, 0.9, 0.99]) {
        const text = HEAD + hosts;
        // Many small chunks so that the parser yields hosts (and the spool writes) throughout.
        const body = Readable.from((function* () {
          const bytes = Buffer.from(text.slice(0, Math.floor(text.length * cut)));
          for (let at = 0; at < bytes.length; at += 4096) yield bytes.subarray(at, at + 4096);
        })());
        const e = await refusal(body);
        expect(e).toBeInstanceOf(ReportError);
        expect(e.code).toBe('REPORT.TRUNCATED');
      }
      await new Promise((r) => setTimeout(r, 200));
      expect(uncaught).toEqual([]);
      expect(readdirSync(dir)).toEqual([]);
    } finally {
      process.off('uncaughtException', onUncaught);
    }
  });

  // Found by fuzzing: a host larger than a Kafka message failed the import half-published (500).
  it('refuses a host that would not fit in one event, naming it, before anything is published', async () => {
    const big = `<script id="vulscan" output="${'A'.repeat(300_000)}"/>`;
    const e = await refusal(Readable.from([HEAD, host(1), host(2, big), host(3), TAIL]), { maxEventBytes: 256 * 1024 });
    expect(e.code).toBe('REPORT.TOO_LARGE');
    expect(e.message).toMatch(/^r\.xml: <host> #2 \(10\.0\.0\.2\) holds 29\d KiB of data once parsed; one host may carry at most 256 KiB/);
    expect(readdirSync(dir)).toEqual([]);
  });

  it('counts the run and coverage that every host event repeats against the same limit', async () => {
    const nearly = `<script id="x" output="${'B'.repeat(200_000)}"/>`;
    const args = `nmap ${'-p 1 '.repeat(10_000)}`;
    const scanned = Array.from({ length: 16_000 }, (_, i) => 2 * i + 1).join(',');
    const head = HEAD.replace('args="nmap -p 80 10.0.0.0/16"', `args="${args}"`).replace('services="80"', `services="${scanned}"`);
    const e = await refusal(Readable.from([head, host(1, nearly), TAIL]), { maxEventBytes: 256 * 1024 });
    expect(e.code).toBe('REPORT.TOO_LARGE');
    expect(e.message).toMatch(/<host> #1/);
  });

  it('refuses a run header (pre/post-scan scripts) that would not fit in ImportCompleted', async () => {
    const post = `<postscript><script id="x" output="${'C'.repeat(300_000)}"/></postscript>`;
    const e = await refusal(Readable.from([HEAD, host(1), post, TAIL]), { maxEventBytes: 256 * 1024 });
    expect(e.code).toBe('REPORT.TOO_LARGE');
    expect(e.message).toMatch(/run's header, pre-scan and post-scan scripts hold 29\d KiB/);
  });

  it('keeps each host with its size, and caps the arguments every host event repeats', async () => {
    const args = `nmap ${'10.0.0.1 '.repeat(2000)}`;
    const report = await spoolReport(Readable.from([HEAD.replace('args="nmap -p 80 10.0.0.0/16"', `args="${args}"`), host(1), host(2, '<script id="s" output="é"/>'), TAIL]), dir, { fileName: 'r.xml', maxBytes: 1 << 30 });
    try {
      const hosts = [];
      for await (const h of report.hosts()) hosts.push(h);
      expect(hosts.map((h) => h.host.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
      for (const h of hosts) expect(h.bytes).toBe(Buffer.byteLength(JSON.stringify(h.host)));
      expect(report.meta.args).toBe(args);
      expect(report.run.args).toHaveLength(4097);
      expect(report.run.args!.endsWith('…')).toBe(true);
      expect(MAX_EVENT_BYTES).toBeLessThan(10 * 1024 * 1024);
    } finally {
      await report.discard();
    }
  });
});
