// Conformance over real scanner output. Every file either parses, with host/port/script counts
// equal to an independent DOM parse (xml2js) of the same bytes, or is refused with a ReportError.
import { createReadStream, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import xml2js from 'xml2js';
import type { NmapHost, NmapRunMeta } from '#events';
import { hostCheck, runMetaCheck } from '../../../events/src/ledger/nmap.schema.js';
import { inferCoverage, parseNmapReport, portInCoverage, ReportError, type ReportErrorCode } from './index.js';

const CORPUS_DIR = process.env.FALCORIA_CORPUS_DIR ?? fileURLToPath(new URL('../../../../../shared/corpus/nmap-xml/', import.meta.url));
const corpusExists = existsSync(CORPUS_DIR) && statSync(CORPUS_DIR).isDirectory();
const files = corpusExists ? readdirSync(CORPUS_DIR).filter((f) => f !== 'INDEX.md' && !f.startsWith('.')).sort() : [];
const missing = () =>
  new Error(`nmap corpus directory ${CORPUS_DIR} is missing or empty; set FALCORIA_CORPUS_DIR to a directory of nmap -oX files (see /work/shared/corpus/nmap-xml/INDEX.md)`);

/** Flags from INDEX.md (MALFORMED, INCOMPLETE, NOT-NMAP, ...), per file. Absent index = no expectations beyond the rule above. */
function readFlags(): Map<string, Set<string>> {
  const flags = new Map<string, Set<string>>();
  const index = join(CORPUS_DIR, 'INDEX.md');
  if (!existsSync(index)) return flags;
  for (const line of readFileSync(index, 'utf8').split('\n')) {
    const m = /^\| `([^`]+)` \|/.exec(line);
    if (m === null) continue;
    flags.set(m[1], new Set([...line.matchAll(/\*\*([A-Z-]+)/g)].map((x) => x[1])));
  }
  return flags;
}
const FLAGS = readFlags();

// Files that are nmap-shaped but whose authors replaced the addresses with placeholders: a host
// without a usable IP cannot enter the ledger, so refusing them is the intended outcome.
const KNOWN_REFUSALS: Record<string, ReportErrorCode> = {
  'python-libnmap__test_osclass.xml': 'REPORT.BAD_HOST', // addr="IP"
  'seccubus__nmap_script_output.xml': 'REPORT.BAD_HOST', // addr="x.x.x.x"
};

// Hand-assembled fixtures that list ports outside their own <scaninfo> (real nmap never does).
const PORTS_OUTSIDE_SCANINFO = new Set(['modernistik-Nmap-Parser__instance.xml']);

const mustBeRefused = (file: string): boolean => {
  const f = FLAGS.get(file);
  return !file.endsWith('.xml') || (f !== undefined && (f.has('MALFORMED') || f.has('INCOMPLETE') || f.has('NOT-NMAP')));
};

type Dom = Record<string, unknown[] | undefined> & { $?: Record<string, string> };
const kids = (node: Dom | undefined, name: string): Dom[] => (node?.[name] as Dom[] | undefined) ?? [];

interface Counts {
  hosts: { ip: string; ports: number; scripts: number; addresses: number; hostnames: number }[];
  preScripts: number;
  postScripts: number;
}

const canonicalIp = (addr: string, type: string): string => (type === 'ipv6' ? new URL(`http://[${addr.split('%')[0]}]`).hostname.slice(1, -1) : addr);

/** Counts taken from an xml2js DOM of the whole file: independent of the streaming parser. */
async function domCounts(text: string): Promise<Counts> {
  const doc = (await xml2js.parseStringPromise(text)) as { nmaprun: Dom };
  const root = doc.nmaprun;
  return {
    hosts: kids(root, 'host').map((h) => {
      const ports = kids(h, 'ports').flatMap((p) => kids(p, 'port'));
      const ipAddr = kids(h, 'address').find((a) => a.$?.addrtype === 'ipv4' || a.$?.addrtype === 'ipv6' || a.$?.addrtype === undefined);
      return {
        ip: ipAddr ? canonicalIp(ipAddr.$!.addr, ipAddr.$!.addrtype ?? 'ipv4') : '',
        ports: ports.length,
        scripts: ports.flatMap((p) => kids(p, 'script')).length + kids(h, 'hostscript').flatMap((s) => kids(s, 'script')).length,
        addresses: kids(h, 'address').length,
        hostnames: kids(h, 'hostnames').flatMap((n) => kids(n, 'hostname')).length,
      };
    }),
    preScripts: kids(root, 'prescript').flatMap((s) => kids(s, 'script')).length,
    postScripts: kids(root, 'postscript').flatMap((s) => kids(s, 'script')).length,
  };
}

const ourCounts = (hosts: NmapHost[], meta: NmapRunMeta): Counts => ({
  hosts: hosts.map((h) => ({
    ip: h.ip.split('%')[0],
    ports: h.ports.length + (h.otherPorts?.length ?? 0),
    scripts: h.ports.reduce((n, p) => n + p.scripts.length, 0) + (h.otherPorts ?? []).reduce((n, p) => n + p.scripts.length, 0) + h.hostScripts.length,
    addresses: h.addresses.length,
    hostnames: h.hostnames.length,
  })),
  preScripts: meta.preScripts.length,
  postScripts: meta.postScripts.length,
});

async function parseFile(file: string): Promise<{ hosts: NmapHost[]; meta: NmapRunMeta; kinds: string[] } | ReportError> {
  const hosts: NmapHost[] = [];
  const kinds: string[] = [];
  let meta: NmapRunMeta | undefined;
  try {
    // small chunks so real files also exercise chunk boundaries
    for await (const e of parseNmapReport(createReadStream(join(CORPUS_DIR, file), { highWaterMark: 8192 }), { source: file })) {
      kinds.push(e.kind);
      if (e.kind === 'host') hosts.push(e.host);
      else if (e.kind === 'end') meta = e.meta;
    }
  } catch (e) {
    if (e instanceof ReportError) return e;
    throw e;
  }
  return { hosts, meta: meta!, kinds };
}

describe('nmap corpus conformance', () => {
  it('has a corpus to check', () => {
    if (!corpusExists || files.length === 0) throw missing();
    expect(files.length).toBeGreaterThan(0);
  });

  test.each(files.length > 0 ? files : ['(corpus missing)'])('%s', async (file) => {
    if (!corpusExists || files.length === 0) throw missing();
    const result = await parseFile(file);

    if (result instanceof ReportError) {
      const known = KNOWN_REFUSALS[file];
      if (!mustBeRefused(file) && known === undefined) {
        throw new Error(`${file} is not flagged MALFORMED/INCOMPLETE/NOT-NMAP but was refused: ${result.code}: ${result.message}`);
      }
      if (known !== undefined) expect(result.code).toBe(known);
      if (!file.endsWith('.xml')) expect(result.code).toBe('REPORT.NOT_XML');
      if (FLAGS.get(file)?.has('INCOMPLETE')) expect(result.code).toBe('REPORT.TRUNCATED');
      expect(result.message).toContain(file);
      expect(result.message.length).toBeGreaterThan(file.length + 20);
      if (result.code !== 'REPORT.EMPTY') expect(result.line).toBeGreaterThan(0);
      return;
    }

    if (mustBeRefused(file)) throw new Error(`${file} is flagged ${[...(FLAGS.get(file) ?? ['non-XML'])].join(',')} but parsed into ${result.hosts.length} hosts`);
    expect(result.kinds[0]).toBe('run');
    expect(result.kinds[result.kinds.length - 1]).toBe('end');
    expect(result.kinds.filter((k) => k !== 'host')).toEqual(['run', 'end']);

    const expected = await domCounts(readFileSync(join(CORPUS_DIR, file), 'utf8'));
    expect(ourCounts(result.hosts, result.meta)).toEqual(expected);

    for (const h of result.hosts) hostCheck(h, `${file}: host ${h.ip}`);
    runMetaCheck(result.meta, `${file}: run`);

    // Coverage must never claim less than nmap itself listed; edited fixtures are exempt.
    if (!FLAGS.get(file)?.has('EDITED') && !PORTS_OUTSIDE_SCANINFO.has(file)) {
      const coverage = inferCoverage(result.meta);
      const outside = result.hosts.flatMap((h) =>
        h.ports.filter((p) => coverage[p.protocol] !== undefined && !portInCoverage(coverage, p.protocol, p.port)).map((p) => `${h.ip} ${p.port}/${p.protocol}`),
      );
      expect(outside).toEqual([]);
    }
  });
});
