import { SaxesParser, type SaxesTagPlain } from 'saxes';
import type {
  NmapAddress,
  NmapExtraPorts,
  NmapExtraReason,
  NmapHost,
  NmapHostname,
  NmapOsClass,
  NmapOsMatch,
  NmapOtherPort,
  NmapPort,
  NmapPortState,
  NmapRunMeta,
  NmapScanInfo,
  NmapScript,
  NmapService,
  NmapTraceHop,
  Protocol,
  ScriptNode,
} from '#events';
import { ReportError, type ReportErrorCode } from './errors.js';
import { normalizeIpv4, normalizeIpv6 } from './ip.js';

export interface ParseNmapReportOptions {
  /** Deepest element nesting accepted (nmaprun = 1). Real reports stay under ~15. Default 64. */
  readonly maxDepth?: number;
  /**
   * Largest single markup token: a text run, a start tag with its attributes, a comment, a DTD.
   * Counted in UTF-16 code units (equal to bytes for ASCII, which nmap output almost always is).
   * Default 16 MiB: vulscan-style script output reaches ~1 MiB in the wild.
   */
  readonly maxValueSize?: number;
  /** Elements inside one <host> (or one pre/post-script block). Bounds memory for a single record. */
  readonly maxElementsPerHost?: number;
  /**
   * nmap itself writes `<!DOCTYPE nmaprun>` (and, before 5.x, a PUBLIC id pointing at nmap.dtd).
   * Those two exact shapes are accepted by default; every other DOCTYPE is refused. Set false to
   * refuse every DOCTYPE, which also refuses most real nmap output.
   */
  readonly allowNmapDoctype?: boolean;
  /** Name used in messages (e.g. the uploaded file name). */
  readonly source?: string;
}

export type NmapReportEvent =
  | { readonly kind: 'run'; readonly meta: NmapRunMeta }
  | { readonly kind: 'host'; readonly host: NmapHost }
  | { readonly kind: 'end'; readonly meta: NmapRunMeta };

type Mutable<T> = { -readonly [K in keyof T]: T[K] };
type Attrs = Record<string, string>;

// Slicing writes bounds how much saxes buffers between our checks, how many events queue up
// before the consumer sees them, and how far past a limit a hostile token can get.
const WRITE_SLICE = 1 << 16;
// nmap writes a few hundred bytes before <nmaprun> and one <scaninfo> per scan type; these only
// stop a hostile file from growing buffers that are not covered by the per-host limits.
const MAX_PROLOG = 1 << 20;
const MAX_SCANINFO = 1024;

// Element contexts. Each open element gets one; a child's handling depends only on its parent's.
const C_SKIP = 0; // ignored subtree (hosthint, taskprogress, output, unknown elements ...)
const C_DOC = 1;
const C_ROOT = 2;
const C_LEAF = 3; // consumed from its attributes; children ignored
const C_HOST = 4;
const C_PORTS = 5;
const C_PORT = 6;
const C_SERVICE = 7;
const C_SCRIPTS = 8; // hostscript / prescript / postscript
const C_SCRIPT = 9;
const C_TABLE = 10;
const C_ELEM = 11;
const C_CPE = 12;
const C_HOSTNAMES = 13;
const C_OS = 14;
const C_OSMATCH = 15;
const C_OSCLASS = 16;
const C_TRACE = 17;
const C_EXTRAPORTS = 18;
const C_RUNSTATS = 19;

const PROTOCOLS: Readonly<Record<string, Protocol>> = { tcp: 'tcp', udp: 'udp', sctp: 'sctp', ip: 'ip' };

const num = (s: string | undefined): number | undefined => {
  if (s === undefined || s === '') return undefined;
  const n = Number(s);
  return Number.isFinite(n) ? n : undefined;
};

const NMAP_PUBLIC_DOCTYPE =
  /^\s*nmaprun\s+PUBLIC\s+"-\/\/IDN nmap\.org\/\/DTD Nmap XML [0-9.]+\/\/EN"\s+"https?:\/\/(?:svn\.)?nmap\.org\/[A-Za-z0-9/._-]*nmap\.dtd"\s*$/;

/**
 * Streams an nmap `-oX` report (or masscan's nmap-compatible `-oX`) and yields, in document order:
 * one `run` event once the <nmaprun> header and <scaninfo> are known, one `host` event per <host>
 * as soon as it closes, and a final `end` event carrying runstats and pre/post-scripts. Memory
 * stays flat whatever the report size: only the host being read is held.
 *
 * Refusals throw {@link ReportError}. A refusal can come after hosts were already yielded
 * (truncation is only known at the end), so consumers must treat the import as applied only
 * once `end` has been received.
 *
 * masscan writes one <host> per open port and often repeats the same IP; each is yielded as its
 * own host, unmerged. Merging hosts that share an IP is the ledger fold's job, not the parser's.
 * masscan's icmp "port 0" lands in `host.otherPorts`, and `--banners` text in `service.banner`.
 */
export async function* parseNmapReport(
  chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  opts: ParseNmapReportOptions = {},
): AsyncGenerator<NmapReportEvent, void, undefined> {
  const reader = new NmapReportReader(opts);
  for await (const chunk of chunks) {
    const text = reader.decode(chunk);
    for (let at = 0; at < text.length; at += WRITE_SLICE) {
      reader.write(at === 0 && text.length <= WRITE_SLICE ? text : text.slice(at, at + WRITE_SLICE));
      if (reader.queue.length !== 0) {
        const q = reader.queue;
        reader.queue = [];
        for (let i = 0; i < q.length; i++) yield q[i];
      }
    }
  }
  reader.finish();
  for (const e of reader.queue) yield e;
}

/** Convenience for tests and small files: the whole report as arrays. Do not use for uploads. */
export async function readNmapReport(
  chunks: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  opts?: ParseNmapReportOptions,
): Promise<{ meta: NmapRunMeta; hosts: NmapHost[]; runMeta: NmapRunMeta }> {
  const hosts: NmapHost[] = [];
  let runMeta: NmapRunMeta | undefined;
  let meta: NmapRunMeta | undefined;
  for await (const e of parseNmapReport(chunks, opts)) {
    if (e.kind === 'host') hosts.push(e.host);
    else if (e.kind === 'run') runMeta = e.meta;
    else meta = e.meta;
  }
  return { meta: meta!, hosts, runMeta: runMeta! };
}

interface ScriptFrame {
  readonly script: Mutable<NmapScript> & { nodes: ScriptNode[] };
  /** children arrays of the script and its open <table>s, innermost last */
  readonly stack: ScriptNode[][];
}

class NmapReportReader {
  queue: NmapReportEvent[] = [];

  private readonly p: SaxesParser<{ xmlns: false; position: true }>;
  private readonly maxDepth: number;
  private readonly maxValue: number;
  private readonly maxUnit: number;
  private readonly allowNmapDoctype: boolean;
  private readonly source: string;

  private readonly decoder = new TextDecoder('utf-8', { fatal: true });
  private bytesIn = 0;
  private charsIn = 0;
  private prevBytes: Uint8Array | undefined;
  private declaredEncoding: string | undefined;

  private readonly ctx: Uint8Array;
  private depth = 0;
  private written = 0;
  private lastPos = 0;
  private unitElements = 0;

  /** text written before the root element; null once the root has opened */
  private prolog: string | null = '';
  private doctypeSeen = false;
  private rootOpen = false;
  private rootClosed = false;
  private runEmitted = false;

  private readonly meta: Mutable<NmapRunMeta> & { scanInfo: NmapScanInfo[]; preScripts: NmapScript[]; postScripts: NmapScript[] };
  private scanProtocols = new Set<string>();

  private hostCount = 0;
  private hostLine = 0;
  private host!: Mutable<NmapHost> & {
    addresses: NmapAddress[];
    hostnames: NmapHostname[];
    ports: NmapPort[];
    extraPorts: NmapExtraPorts[];
    hostScripts: NmapScript[];
  };
  private ip: string | undefined;
  private port: Mutable<NmapPort> & { scripts: NmapScript[] } | undefined;
  private portProtocol = '';
  private otherPort = false;
  private service: Mutable<NmapService> & { cpes: string[] } | undefined;
  private scriptTarget: NmapScript[] = [];
  private script: ScriptFrame | undefined;
  private elemKey: string | undefined;
  private readonly textFn: (t: string) => void;
  private capturing = false;
  private text = '';
  private cpeTarget: string[] | undefined;
  private os: { matches: NmapOsMatch[]; portsUsed: { state: string; proto: string; portid: number }[]; fingerprint?: string; classes: NmapOsClass[] } | undefined;
  private osMatch: Mutable<NmapOsMatch> & { classes: NmapOsClass[] } | undefined;
  private osClass: Mutable<NmapOsClass> & { cpes: string[] } | undefined;
  private trace: { port?: number; proto?: string; hops: NmapTraceHop[] } | undefined;
  private extra: Mutable<NmapExtraPorts> & { reasons: NmapExtraReason[] } | undefined;
  private runStats: Mutable<NonNullable<NmapRunMeta['runStats']>> | undefined;

  constructor(opts: ParseNmapReportOptions) {
    this.maxDepth = opts.maxDepth ?? 64;
    this.maxValue = opts.maxValueSize ?? 16 * 1024 * 1024;
    this.maxUnit = opts.maxElementsPerHost ?? 1_000_000;
    this.allowNmapDoctype = opts.allowNmapDoctype ?? true;
    this.source = opts.source ?? 'report';
    this.ctx = new Uint8Array(this.maxDepth + 2);
    this.ctx[0] = C_DOC;
    this.meta = { scanner: 'unknown', scanInfo: [], preScripts: [], postScripts: [] };

    const p = new SaxesParser({ xmlns: false, position: true });
    this.p = p;
    // saxes stores each handler as a new property under a computed key; V8 turns the parser into
    // a slow dictionary-mode object at the 9th one, making it ~5x slower. Keep this list <= 8.
    p.on('opentag', this.onOpen.bind(this));
    p.on('closetag', this.onClose.bind(this));
    // Only <elem> and <cpe> carry text we keep, so the text handler is attached just while one is
    // open: saxes then neither slices nor reports the whitespace between all other tags. Size
    // limits still hold because every tag event checks the span since the previous event.
    this.textFn = this.onText.bind(this);
    p.on('text', this.textFn);
    p.off('text');
    p.on('cdata', this.textFn);
    p.on('doctype', (d) => this.onDoctype(d));
    p.on('xmldecl', (d) => {
      this.declaredEncoding = d.encoding;
      this.onPrologEvent();
    });
    p.on('error', (e) => {
      throw this.xmlError(e);
    });
  }

  // ---------------------------------------------------------------- input

  decode(chunk: Uint8Array | string): string {
    if (typeof chunk === 'string') {
      if (this.charsIn === 0 && this.bytesIn === 0 && chunk.charCodeAt(0) === 0xfeff) chunk = chunk.slice(1);
      this.charsIn += chunk.length;
      return chunk;
    }
    if (this.bytesIn === 0 && chunk.length >= 2 && ((chunk[0] === 0xff && chunk[1] === 0xfe) || (chunk[0] === 0xfe && chunk[1] === 0xff))) {
      throw new ReportError(
        'REPORT.NOT_UTF8',
        `${this.source} is UTF-16 encoded (byte-order mark ${chunk[0].toString(16).toUpperCase()} ${chunk[1].toString(16).toUpperCase()}); nmap writes UTF-8, so the file was probably re-saved by an editor or a PowerShell redirect. Re-run nmap with -oX <file>, or convert it to UTF-8.`,
        { byteOffset: 0, line: 1, column: 1 },
      );
    }
    let text: string;
    try {
      text = this.decoder.decode(chunk, { stream: true });
    } catch {
      throw this.utf8Error(chunk);
    }
    this.bytesIn += chunk.length;
    this.prevBytes = chunk;
    this.charsIn += text.length;
    return text;
  }

  write(text: string): void {
    if (this.prolog !== null) {
      this.prolog += text;
      if (this.prolog.length > MAX_PROLOG) {
        throw this.err('REPORT.TOO_LARGE', `more than ${MAX_PROLOG} characters before the root element; an nmap report starts with <nmaprun> within a few hundred bytes`);
      }
      this.checkDoctypeEarly();
      this.checkStartsWithMarkup();
    }
    this.p.write(text);
    this.written += text.length;
    if (this.written - this.lastPos > this.maxValue) this.tooLarge();
  }

  finish(): void {
    let rest: string;
    try {
      rest = this.decoder.decode();
    } catch {
      if (this.rootOpen && !this.rootClosed) throw this.truncated('in the middle of a multi-byte UTF-8 character');
      throw new ReportError('REPORT.NOT_UTF8', `${this.source} ends with an incomplete UTF-8 sequence`, { byteOffset: this.bytesIn });
    }
    if (rest.length !== 0) this.write(rest);
    if (this.bytesIn === 0 && this.charsIn === 0) {
      throw new ReportError('REPORT.EMPTY', `${this.source} is empty (0 bytes)`);
    }
    if (!this.rootOpen) {
      const pending = (this.prolog ?? '').replace(/<\?[^]*?\?>|<!--[^]*?-->|<!DOCTYPE[^>]*>/g, '');
      if (pending.trim() === '') {
        throw new ReportError('REPORT.EMPTY', `${this.source} contains no <nmaprun> element (only ${this.charsIn} characters of whitespace, XML declaration or comments)`);
      }
      throw this.truncated('before the root element <nmaprun> was complete');
    }
    if (!this.rootClosed) throw this.truncated('before </nmaprun>');
    this.p.close();
    this.emitRun();
    this.queue.push({ kind: 'end', meta: this.snapshotMeta() });
  }

  // ---------------------------------------------------------------- saxes handlers

  private onOpen(tag: SaxesTagPlain): void {
    const pos = this.p.position;
    if (pos - this.lastPos > this.maxValue) this.tooLarge();
    this.lastPos = pos;
    const d = ++this.depth;
    if (d > this.maxDepth) {
      throw this.err('REPORT.TOO_DEEP', `elements nest deeper than ${this.maxDepth} levels (at <${tag.name}>); nmap reports nest about 10 deep`);
    }
    const parent = this.ctx[d - 1];
    // Each child of <nmaprun> (a host, a pre/post-script block, a taskprogress...) is one record.
    if (parent === C_ROOT) this.unitElements = 0;
    if (++this.unitElements > this.maxUnit) {
      throw this.err('REPORT.TOO_LARGE', `more than ${this.maxUnit} elements inside one record (${this.unitName()})`);
    }
    if (parent === C_SKIP) {
      this.ctx[d] = C_SKIP;
      return;
    }
    const a = tag.attributes as Attrs;
    const name = tag.name;
    let c = C_SKIP;
    switch (parent) {
      case C_DOC:
        c = this.openRoot(name, a);
        break;
      case C_ROOT:
        c = this.openInRoot(name, a);
        break;
      case C_HOST:
        c = this.openInHost(name, a);
        break;
      case C_PORTS:
        if (name === 'port') c = this.openPort(a);
        else if (name === 'extraports') c = this.openExtraPorts(a);
        break;
      case C_PORT:
        c = this.openInPort(name, a);
        break;
      case C_SERVICE:
        if (name === 'cpe') c = this.startCpe(this.service!.cpes);
        break;
      case C_SCRIPTS:
        if (name === 'script') c = this.openScript(a);
        break;
      case C_SCRIPT:
      case C_TABLE:
        c = this.openInScript(name, a);
        break;
      case C_HOSTNAMES:
        if (name === 'hostname' && a.name !== undefined) {
          this.host.hostnames.push(a.type === undefined ? { name: a.name } : { name: a.name, type: a.type });
          c = C_LEAF;
        }
        break;
      case C_OS:
        c = this.openInOs(name, a);
        break;
      case C_OSMATCH:
        if (name === 'osclass') c = this.openOsClass(a);
        break;
      case C_OSCLASS:
        if (name === 'cpe') c = this.startCpe(this.osClass!.cpes);
        break;
      case C_TRACE:
        if (name === 'hop') c = this.openHop(a);
        break;
      case C_EXTRAPORTS:
        if (name === 'extrareasons') c = this.openExtraReason(a);
        break;
      case C_RUNSTATS:
        c = this.openInRunStats(name, a);
        break;
      default:
        break;
    }
    this.ctx[d] = c;
  }

  private onClose(_tag: SaxesTagPlain): void {
    this.lastPos = this.p.position;
    const c = this.ctx[this.depth--];
    switch (c) {
      case C_SKIP:
      case C_LEAF:
        return;
      case C_ELEM: {
        const v = this.endCapture();
        this.script!.stack[this.script!.stack.length - 1].push(
          this.elemKey === undefined ? { kind: 'elem', value: v } : { kind: 'elem', key: this.elemKey, value: v },
        );
        return;
      }
      case C_TABLE:
        this.script!.stack.pop();
        return;
      case C_SCRIPT:
        this.scriptTarget.push(this.script!.script);
        this.script = undefined;
        return;
      case C_CPE: {
        const v = this.endCapture();
        if (v !== '') this.cpeTarget!.push(v);
        this.cpeTarget = undefined;
        return;
      }
      case C_PORT:
        this.closePort();
        return;
      case C_SERVICE:
        this.port!.service = this.service;
        this.service = undefined;
        return;
      case C_OSCLASS:
        (this.osMatch !== undefined ? this.osMatch.classes : this.os!.classes).push(this.osClass!);
        this.osClass = undefined;
        return;
      case C_OSMATCH:
        this.os!.matches.push(this.osMatch!);
        this.osMatch = undefined;
        return;
      case C_OS:
        this.closeOs();
        return;
      case C_TRACE:
        this.host.trace = this.trace;
        this.trace = undefined;
        return;
      case C_EXTRAPORTS:
        this.closeExtraPorts();
        return;
      case C_HOST:
        this.closeHost();
        return;
      case C_RUNSTATS:
        this.meta.runStats = this.runStats;
        return;
      case C_ROOT:
        this.rootClosed = true;
        return;
      default:
        return;
    }
  }

  private onText(t: string): void {
    const pos = this.p.position;
    if (pos - this.lastPos > this.maxValue) this.tooLarge();
    this.lastPos = pos;
    if (this.capturing) {
      this.text += t;
      if (this.text.length > this.maxValue) this.tooLarge();
    }
  }


  private onPrologEvent(): void {
    this.lastPos = this.p.position;
  }

  private onDoctype(d: string): void {
    this.onPrologEvent();
    this.doctypeSeen = true;
    if (this.allowNmapDoctype && (/^\s*nmaprun\s*$/.test(d) || NMAP_PUBLIC_DOCTYPE.test(d))) return;
    throw this.err(
      'REPORT.DTD_FORBIDDEN',
      `DOCTYPE declarations are refused (found <!DOCTYPE${d.length > 80 ? `${d.slice(0, 80)}...` : d}>); ${
        this.allowNmapDoctype ? 'only nmap\'s own <!DOCTYPE nmaprun> is accepted' : 'this importer accepts none'
      }, so no external DTD or entity can ever be resolved or expanded`,
    );
  }

  /**
   * saxes reports a DOCTYPE only once it is complete; refuse an internal subset ("[") or a
   * runaway declaration as soon as it appears so nothing of it is buffered.
   */
  private checkDoctypeEarly(): void {
    if (this.doctypeSeen) return;
    const prolog = this.prolog!;
    const at = prolog.indexOf('<!DOCTYPE');
    if (at < 0) return;
    const close = prolog.indexOf('>', at);
    const decl = close < 0 ? prolog.slice(at) : prolog.slice(at, close);
    if (decl.includes('[') || decl.length > 512) {
      throw this.err(
        'REPORT.DTD_FORBIDDEN',
        `DOCTYPE with an internal subset or oversized declaration refused (${JSON.stringify(decl.slice(0, 60))}...); entity declarations are never honoured`,
      );
    }
  }

  /**
   * saxes reports text before the root only once the text run ends, which for a non-XML upload
   * (nmap -oN, a PDF) means after a whole slice. Refuse at its first character instead.
   */
  private checkStartsWithMarkup(): void {
    const prolog = this.prolog!;
    const m = /\S/.exec(prolog);
    if (m === null || m[0] === '<') return;
    const before = prolog.slice(0, m.index);
    const line = 1 + (before.match(/\n/g)?.length ?? 0);
    const column = m.index - before.lastIndexOf('\n');
    const first = m[0];
    const hint =
      first === '{' || first === '['
        ? 'this looks like JSON, e.g. masscan -oJ/-oD; upload nmap or masscan -oX XML instead'
        : 'is it nmap -oN/-oG text output? Upload the -oX file';
    throw new ReportError(
      'REPORT.NOT_XML',
      `${this.source} is not XML: it starts with ${JSON.stringify(prolog.slice(m.index, m.index + 20))} at line ${line}, column ${column} instead of "<" (${hint})`,
      { line, column },
    );
  }

  // ---------------------------------------------------------------- elements

  private openRoot(name: string, a: Attrs): number {
    if (name !== 'nmaprun') {
      throw this.err('REPORT.NOT_NMAP', `root element is <${name}>, expected <nmaprun>: this is not nmap -oX (or masscan -oX) output`);
    }
    this.rootOpen = true;
    this.prolog = null;
    const m = this.meta;
    m.scanner = a.scanner ?? 'unknown';
    if (a.args !== undefined) m.args = a.args;
    if (a.version !== undefined) m.version = a.version;
    if (a.xmloutputversion !== undefined) m.xmlOutputVersion = a.xmloutputversion;
    const start = num(a.start);
    if (start !== undefined) m.start = start;
    return C_ROOT;
  }

  private openInRoot(name: string, a: Attrs): number {
    switch (name) {
      case 'host':
        this.emitRun();
        this.beginHost(a);
        return C_HOST;
      case 'scaninfo': {
        if (this.meta.scanInfo.length >= MAX_SCANINFO) throw this.err('REPORT.TOO_LARGE', `more than ${MAX_SCANINFO} <scaninfo> elements`);
        const s: Mutable<NmapScanInfo> = { protocol: a.protocol ?? '' };
        if (a.type !== undefined) s.type = a.type;
        const n = num(a.numservices);
        if (n !== undefined) s.numservices = n;
        if (a.services !== undefined) s.services = a.services;
        if (a.scanflags !== undefined) s.scanflags = a.scanflags;
        this.meta.scanInfo.push(s);
        if (s.protocol !== '') this.scanProtocols.add(s.protocol);
        return C_LEAF;
      }
      case 'prescript':
        this.scriptTarget = this.meta.preScripts;
        return C_SCRIPTS;
      case 'postscript':
        this.emitRun();
        this.scriptTarget = this.meta.postScripts;
        return C_SCRIPTS;
      case 'runstats':
        this.emitRun();
        this.runStats = {};
        return C_RUNSTATS;
      default:
        return C_SKIP;
    }
  }

  private beginHost(a: Attrs): void {
    this.hostCount++;
    this.hostLine = this.p.line;
    this.ip = undefined;
    const h: NmapReportReader['host'] = { ip: '', addresses: [], hostnames: [], ports: [], extraPorts: [], hostScripts: [] };
    const st = num(a.starttime);
    if (st !== undefined) h.startTime = st;
    const et = num(a.endtime);
    if (et !== undefined) h.endTime = et;
    if (a.comment !== undefined) h.comment = a.comment;
    this.host = h;
  }

  private openInHost(name: string, a: Attrs): number {
    const h = this.host;
    switch (name) {
      case 'address':
        this.address(a);
        return C_LEAF;
      case 'hostnames':
        return C_HOSTNAMES;
      case 'status': {
        const s: { state: string; reason?: string; reasonTtl?: number } = { state: a.state ?? 'unknown' };
        // reason="" (what an export writes for a status known without a reason) is no reason.
        if (a.reason !== undefined && a.reason !== '') s.reason = a.reason;
        const ttl = num(a.reason_ttl);
        if (ttl !== undefined) s.reasonTtl = ttl;
        h.status = s;
        return C_LEAF;
      }
      case 'ports':
        return C_PORTS;
      case 'hostscript':
        this.scriptTarget = h.hostScripts;
        return C_SCRIPTS;
      case 'os':
        this.os = { matches: [], portsUsed: [], classes: [] };
        return C_OS;
      case 'uptime': {
        const seconds = num(a.seconds);
        if (seconds !== undefined) h.uptime = a.lastboot === undefined ? { seconds } : { seconds, lastboot: a.lastboot };
        return C_LEAF;
      }
      case 'distance': {
        const v = num(a.value);
        if (v !== undefined) h.distance = v;
        return C_LEAF;
      }
      case 'times': {
        const t: { srtt?: number; rttvar?: number; to?: number } = {};
        const srtt = num(a.srtt);
        if (srtt !== undefined) t.srtt = srtt;
        const rttvar = num(a.rttvar);
        if (rttvar !== undefined) t.rttvar = rttvar;
        const to = num(a.to);
        if (to !== undefined) t.to = to;
        h.times = t;
        return C_LEAF;
      }
      case 'trace': {
        this.trace = { hops: [] };
        const port = num(a.port);
        if (port !== undefined) this.trace.port = port;
        if (a.proto !== undefined) this.trace.proto = a.proto;
        return C_TRACE;
      }
      case 'tcpsequence': {
        const s: { index?: number; difficulty?: string; values?: string } = {};
        const index = num(a.index);
        if (index !== undefined) s.index = index;
        if (a.difficulty !== undefined) s.difficulty = a.difficulty;
        if (a.values !== undefined) s.values = a.values;
        h.tcpSequence = s;
        return C_LEAF;
      }
      case 'ipidsequence':
      case 'tcptssequence': {
        const s: { class?: string; values?: string } = {};
        if (a.class !== undefined) s.class = a.class;
        if (a.values !== undefined) s.values = a.values;
        if (name === 'ipidsequence') h.ipIdSequence = s;
        else h.tcpTsSequence = s;
        return C_LEAF;
      }
      default:
        return C_SKIP;
    }
  }

  private address(a: Attrs): void {
    const type = a.addrtype ?? 'ipv4';
    const raw = a.addr;
    if (raw === undefined) throw this.badHost('has an <address> without addr');
    let addr: string | undefined;
    if (type === 'ipv4' || type === 'ipv6') {
      addr = type === 'ipv4' ? normalizeIpv4(raw) : normalizeIpv6(raw);
      if (addr === undefined) throw this.badHost(`has an invalid ${type} address ${JSON.stringify(raw.slice(0, 64))}`);
      if (this.ip === undefined) this.ip = addr;
    } else if (type === 'mac') {
      addr = raw.toUpperCase();
    } else {
      return;
    }
    this.host.addresses.push(a.vendor === undefined ? { addr, addrtype: type } : { addr, addrtype: type, vendor: a.vendor });
  }

  private openPort(a: Attrs): number {
    const proto = a.protocol ?? '';
    const id = a.portid;
    const portNo = id !== undefined && /^\d{1,5}$/.test(id) ? Number(id) : -1;
    if (portNo < 0 || portNo > 65535) {
      throw this.badHost(`has a <port> with an invalid portid ${JSON.stringify(id ?? '')} (protocol ${JSON.stringify(proto)})`);
    }
    const known = PROTOCOLS[proto];
    this.otherPort = known === undefined;
    this.portProtocol = proto;
    this.port = { protocol: known ?? ('tcp' as Protocol), port: portNo, state: undefined as unknown as NmapPortState, scripts: [] };
    return C_PORT;
  }

  private openInPort(name: string, a: Attrs): number {
    const port = this.port!;
    switch (name) {
      case 'state': {
        const s: Mutable<NmapPortState> = { state: a.state ?? 'unknown' };
        if (a.reason !== undefined) s.reason = a.reason;
        const ttl = num(a.reason_ttl);
        if (ttl !== undefined) s.reasonTtl = ttl;
        if (a.reason_ip !== undefined) s.reasonIp = normalizeIpv4(a.reason_ip) ?? normalizeIpv6(a.reason_ip) ?? a.reason_ip;
        port.state = s;
        return C_LEAF;
      }
      case 'service':
        this.service = this.readService(a);
        return C_SERVICE;
      case 'script':
        this.scriptTarget = port.scripts;
        return this.openScript(a);
      case 'owner':
        if (a.name !== undefined) port.owner = a.name;
        return C_LEAF;
      default:
        return C_SKIP;
    }
  }

  private readService(a: Attrs): Mutable<NmapService> & { cpes: string[] } {
    const s: Mutable<NmapService> & { cpes: string[] } = { cpes: [] };
    for (const k in a) {
      const v = a[k];
      switch (k) {
        case 'conf': {
          const n = num(v);
          if (n !== undefined) s.conf = n;
          break;
        }
        case 'name':
        case 'product':
        case 'version':
        case 'extrainfo':
        case 'ostype':
        case 'method':
        case 'tunnel':
        case 'proto':
        case 'rpcnum':
        case 'lowver':
        case 'highver':
        case 'hostname':
        case 'devicetype':
        case 'servicefp':
        case 'banner':
          s[k] = v;
          break;
        default:
          break;
      }
    }
    return s;
  }

  private closePort(): void {
    const port = this.port!;
    this.port = undefined;
    if (port.state === undefined) throw this.badHost(`has port ${port.port}/${this.portProtocol} without a <state>`);
    if (this.otherPort) {
      const other = port as unknown as Mutable<NmapOtherPort>;
      other.protocol = this.portProtocol;
      ((this.host.otherPorts ??= []) as NmapOtherPort[]).push(other);
    } else {
      this.host.ports.push(port);
    }
  }

  private openExtraPorts(a: Attrs): number {
    this.extra = { state: a.state ?? 'unknown', count: num(a.count) ?? 0, reasons: [] };
    return C_EXTRAPORTS;
  }

  private openExtraReason(a: Attrs): number {
    const r: Mutable<NmapExtraReason> = { reason: a.reason ?? '', count: num(a.count) ?? 0 };
    if (a.proto !== undefined) r.proto = a.proto;
    if (a.ports !== undefined) r.ports = a.ports;
    this.extra!.reasons.push(r);
    return C_LEAF;
  }

  /**
   * <extraports> carries no protocol. nmap >= 7.90 puts one on each <extrareasons>; older reports
   * only tell us through <scaninfo>, and only when a single protocol was scanned.
   */
  private closeExtraPorts(): void {
    const e = this.extra!;
    this.extra = undefined;
    let proto: string | undefined;
    let consistent = e.reasons.length > 0;
    for (const r of e.reasons) {
      if (r.proto === undefined || (proto !== undefined && r.proto !== proto)) {
        consistent = false;
        break;
      }
      proto = r.proto;
    }
    if (!consistent) proto = this.scanProtocols.size === 1 ? this.scanProtocols.values().next().value : undefined;
    const known = proto === undefined ? undefined : PROTOCOLS[proto];
    const out: Mutable<NmapExtraPorts> = { state: e.state, count: e.count };
    if (known !== undefined) out.protocol = known;
    if (e.reasons.length !== 0) out.reasons = e.reasons;
    this.host.extraPorts.push(out);
  }

  private openScript(a: Attrs): number {
    const script = { id: a.id ?? '', output: a.output ?? '', nodes: [] as ScriptNode[] };
    this.script = { script, stack: [script.nodes] };
    return C_SCRIPT;
  }

  private openInScript(name: string, a: Attrs): number {
    const frame = this.script!;
    if (name === 'elem') {
      this.elemKey = a.key;
      this.beginCapture();
      return C_ELEM;
    }
    if (name === 'table') {
      const children: ScriptNode[] = [];
      frame.stack[frame.stack.length - 1].push(a.key === undefined ? { kind: 'table', children } : { kind: 'table', key: a.key, children });
      frame.stack.push(children);
      return C_TABLE;
    }
    return C_SKIP;
  }

  private startCpe(target: string[]): number {
    this.cpeTarget = target;
    this.beginCapture();
    return C_CPE;
  }

  private beginCapture(): void {
    this.capturing = true;
    this.text = '';
    this.p.on('text', this.textFn);
  }

  private endCapture(): string {
    const v = this.text;
    this.capturing = false;
    this.text = '';
    this.p.off('text');
    return v;
  }

  private openInOs(name: string, a: Attrs): number {
    const os = this.os!;
    switch (name) {
      case 'portused': {
        const portid = num(a.portid);
        if (portid !== undefined) os.portsUsed.push({ state: a.state ?? '', proto: a.proto ?? '', portid });
        return C_LEAF;
      }
      case 'osmatch': {
        const m: NmapReportReader['osMatch'] & object = { name: a.name ?? '', classes: [] };
        const acc = num(a.accuracy);
        if (acc !== undefined) m.accuracy = acc;
        const line = num(a.line);
        if (line !== undefined) m.line = line;
        this.osMatch = m;
        return C_OSMATCH;
      }
      case 'osclass':
        this.osMatch = undefined;
        return this.openOsClass(a);
      case 'osfingerprint':
        if (a.fingerprint !== undefined && os.fingerprint === undefined) os.fingerprint = a.fingerprint;
        return C_LEAF;
      default:
        return C_SKIP;
    }
  }

  private openOsClass(a: Attrs): number {
    const c: NmapReportReader['osClass'] & object = { cpes: [] };
    if (a.type !== undefined) c.type = a.type;
    if (a.vendor !== undefined) c.vendor = a.vendor;
    if (a.osfamily !== undefined) c.osfamily = a.osfamily;
    if (a.osgen !== undefined) c.osgen = a.osgen;
    const acc = num(a.accuracy);
    if (acc !== undefined) c.accuracy = acc;
    this.osClass = c;
    return C_OSCLASS;
  }

  private closeOs(): void {
    const os = this.os!;
    this.os = undefined;
    const out: { -readonly [K in keyof NonNullable<NmapHost['os']>]: NonNullable<NmapHost['os']>[K] } = { matches: os.matches, portsUsed: os.portsUsed };
    if (os.fingerprint !== undefined) out.fingerprint = os.fingerprint;
    if (os.classes.length !== 0) out.classes = os.classes;
    this.host.os = out;
  }

  private openHop(a: Attrs): number {
    const ttl = num(a.ttl);
    if (ttl === undefined) return C_LEAF;
    const hop: Mutable<NmapTraceHop> = { ttl };
    if (a.ipaddr !== undefined) hop.ipaddr = normalizeIpv4(a.ipaddr) ?? normalizeIpv6(a.ipaddr) ?? a.ipaddr;
    const rtt = num(a.rtt);
    if (rtt !== undefined) hop.rtt = rtt;
    if (a.host !== undefined) hop.host = a.host;
    this.trace!.hops.push(hop);
    return C_LEAF;
  }

  private closeHost(): void {
    const h = this.host;
    if (this.ip === undefined) {
      throw this.badHost(
        h.addresses.length === 0 ? 'has no <address>' : `has no IPv4/IPv6 address (only ${h.addresses.map((x) => `${x.addrtype} ${x.addr}`).join(', ')})`,
        this.hostLine,
      );
    }
    h.ip = this.ip;
    this.queue.push({ kind: 'host', host: h });
    this.host = undefined as unknown as NmapReportReader['host'];
  }

  private openInRunStats(name: string, a: Attrs): number {
    const r = this.runStats!;
    if (name === 'finished') {
      const t = num(a.time);
      if (t !== undefined) r.finishedTime = t;
      const e = num(a.elapsed);
      if (e !== undefined) r.elapsed = e;
      if (a.summary !== undefined) r.summary = a.summary;
      if (a.exit !== undefined) r.exit = a.exit;
      if (a.errormsg !== undefined) r.errormsg = a.errormsg;
      return C_LEAF;
    }
    if (name === 'hosts') {
      const up = num(a.up);
      if (up !== undefined) r.hostsUp = up;
      const down = num(a.down);
      if (down !== undefined) r.hostsDown = down;
      const total = num(a.total);
      if (total !== undefined) r.hostsTotal = total;
      return C_LEAF;
    }
    return C_SKIP;
  }

  // ---------------------------------------------------------------- events

  private emitRun(): void {
    if (this.runEmitted) return;
    this.runEmitted = true;
    this.queue.push({ kind: 'run', meta: this.snapshotMeta() });
  }

  private snapshotMeta(): NmapRunMeta {
    return { ...this.meta, scanInfo: [...this.meta.scanInfo], preScripts: [...this.meta.preScripts], postScripts: [...this.meta.postScripts] };
  }

  // ---------------------------------------------------------------- errors

  private where(): { line: number; column: number } {
    return { line: this.p.line, column: this.p.column };
  }

  private err(code: ReportErrorCode, what: string): ReportError {
    const w = this.where();
    return new ReportError(code, `${this.source}: ${what} (line ${w.line}, column ${w.column})`, w);
  }

  private tooLarge(): never {
    throw this.err(
      'REPORT.TOO_LARGE',
      `a single text, attribute or markup value exceeds ${this.maxValue} characters; the limit is configurable (maxValueSize)`,
    );
  }

  private badHost(what: string, line = this.hostLine): ReportError {
    return new ReportError('REPORT.BAD_HOST', `${this.source}: <host> #${this.hostCount} starting at line ${line} ${what}`, { line });
  }

  private truncated(how: string): ReportError {
    const w = this.where();
    const inside = this.rootOpen
      ? this.hostCount > 0
        ? `; ${this.host !== undefined ? `host #${this.hostCount} was incomplete` : `${this.hostCount} complete host(s) were read`}`
        : '; no complete host was read'
      : '';
    return new ReportError(
      'REPORT.TRUNCATED',
      `${this.source} ends ${how} at line ${w.line}, column ${w.column}: the file is truncated (interrupted scan or partial upload)${inside}`,
      w,
    );
  }

  private unitName(): string {
    return this.host !== undefined ? `<host> #${this.hostCount} starting at line ${this.hostLine}` : 'a run-level block';
  }

  private xmlError(e: Error): ReportError {
    const m = /^(\d+):(\d+): (.*)$/s.exec(e.message);
    const line = m ? Number(m[1]) : this.p.line;
    const column = m ? Number(m[2]) : this.p.column;
    const what = (m ? m[3] : e.message).replace(/\.$/, '');
    if (/doctype/i.test(what)) {
      return new ReportError('REPORT.DTD_FORBIDDEN', `${this.source}: misplaced DOCTYPE declaration refused at line ${line}, column ${column}`, { line, column });
    }
    return new ReportError('REPORT.NOT_XML', `${this.source} is not well-formed XML: ${what} at line ${line}, column ${column}`, { line, column });
  }

  private utf8Error(chunk: Uint8Array): ReportError {
    // Only runs on failure: locate the first bad byte, counting any incomplete sequence the
    // decoder carried over from the previous chunk.
    let carried: Uint8Array = new Uint8Array(0);
    const prev = this.prevBytes;
    if (prev !== undefined) {
      for (let back = 1; back <= 3 && back <= prev.length; back++) {
        const b = prev[prev.length - back];
        if ((b & 0xc0) === 0x80) continue;
        const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
        if (need > back) carried = prev.subarray(prev.length - back);
        break;
      }
    }
    const all = new Uint8Array(carried.length + chunk.length);
    all.set(carried, 0);
    all.set(chunk, carried.length);
    const bad = firstInvalidUtf8(all);
    const at = bad < 0 ? all.length : bad;
    const before = new TextDecoder('utf-8').decode(all.subarray(0, at));
    const nl = before.lastIndexOf('\n');
    const line = this.p.line + (before.match(/\n/g)?.length ?? 0);
    const column = nl < 0 ? this.p.column + before.length + 1 : before.length - nl;
    const byteOffset = this.bytesIn - carried.length + at;
    const byte = at < all.length ? `0x${all[at].toString(16).toUpperCase().padStart(2, '0')}` : 'sequence';
    const encoding = this.declaredEncoding ?? /^\s*<\?xml[^>]*?encoding\s*=\s*["']([^"']*)["']/.exec(before)?.[1];
    const declared =
      encoding !== undefined && !/^utf-?8$/i.test(encoding)
        ? ` The XML declaration says encoding="${encoding}", which this importer does not accept.`
        : ' It is probably Latin-1/Windows-1252 text.';
    return new ReportError(
      'REPORT.NOT_UTF8',
      `${this.source} is not valid UTF-8: invalid byte ${byte} at byte offset ${byteOffset} (line ${line}, column ${column}).${declared} nmap writes UTF-8; convert the file to UTF-8 and upload it again.`,
      { line, column, byteOffset },
    );
  }
}

/** Index of the first byte that starts an invalid UTF-8 sequence, or -1 (a sequence cut at the end is not an error here). */
export function firstInvalidUtf8(b: Uint8Array): number {
  const n = b.length;
  let i = 0;
  while (i < n) {
    const c = b[i];
    if (c < 0x80) {
      i++;
      continue;
    }
    let need: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c >= 0xc2 && c <= 0xdf) need = 1;
    else if (c >= 0xe0 && c <= 0xef) {
      need = 2;
      if (c === 0xe0) lo = 0xa0;
      else if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      need = 3;
      if (c === 0xf0) lo = 0x90;
      else if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k <= need; k++) {
      if (i + k >= n) return -1;
      const x = b[i + k];
      if (k === 1 ? x < lo || x > hi : x < 0x80 || x > 0xbf) return i;
    }
    i += need + 1;
  }
  return -1;
}
