// Every real report of the corpus through the whole pipeline (HTTP upload → Kafka → projector →
// PostgreSQL): it either lands with host, port and script counts equal to an independent DOM
// count of the same file (xml2js), or it is refused with a clear 4xx and leaves nothing behind.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import xml2js from 'xml2js';
import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';

const CORPUS = process.env.FALCORIA_CORPUS_DIR ?? join(process.cwd(), '../shared/corpus/nmap-xml');
if (!existsSync(CORPUS)) throw new Error(`corpus directory ${CORPUS} is missing: set FALCORIA_CORPUS_DIR`);
const files = readdirSync(CORPUS).filter((f) => f !== 'INDEX.md').sort();

type Dom = Record<string, any>;
const list = (n: Dom | undefined, k: string): Dom[] => (n?.[k] as Dom[] | undefined) ?? [];
const v6 = (a: string) => new URL(`http://[${a.split('%')[0]}]`).hostname.slice(1, -1);

async function independentCounts(text: string) {
  const doc = (await xml2js.parseStringPromise(text)) as { nmaprun: Dom };
  const ips = new Set<string>();
  const ports = new Set<string>();
  const scripts = new Set<string>();
  for (const h of list(doc.nmaprun, 'host')) {
    const a = list(h, 'address').find((x) => x.$.addrtype === 'ipv4' || x.$.addrtype === 'ipv6');
    if (!a) continue;
    const ip = a.$.addrtype === 'ipv6' ? v6(a.$.addr) : a.$.addr;
    ips.add(ip);
    for (const ps of list(h, 'ports'))
      for (const p of list(ps, 'port')) {
        if (!['tcp', 'udp', 'sctp', 'ip'].includes(p.$.protocol)) continue;
        const key = `${ip}|${p.$.protocol}|${Number(p.$.portid)}`;
        ports.add(key);
        for (const s of list(p, 'script')) scripts.add(`${key}|${s.$.id}`);
      }
    for (const hs of list(h, 'hostscript')) for (const s of list(hs, 'script')) scripts.add(`${ip}|host|${s.$.id}`);
  }
  return { hosts: ips.size, ports: ports.size, scripts: scripts.size };
}

describe('the nmap corpus through the whole ledger pipeline', () => {
  let s: RunningApp;
  beforeAll(async () => {
    s = await startLedgerApp();
  });
  afterAll(() => s?.close());

  it('has files to test', () => expect(files.length).toBeGreaterThan(100));

  it.each(files)('%s imports with independent counts, or is refused cleanly', async (file) => {
    const text = readFileSync(join(CORPUS, file));
    const project = (await call(s.url, 'POST', '/projects', s.adminToken, { name: `c-${files.indexOf(file)}` })).body.id as string;
    const r = await upload(s.url, project, s.adminToken, text, { mode: 'replace' }, file);
    if (r.status !== 202) {
      expect([400, 413, 415, 422]).toContain(r.status);
      expect(r.body.code).toMatch(/^REPORT\./);
      expect(r.body.message).toMatch(new RegExp(file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&').slice(0, 20)));
      const imports = (await call(s.url, 'GET', `/projects/${project}/imports`, s.adminToken)).body.items;
      expect(imports).toEqual([]);
      return;
    }
    expect(r.body.status).toBe('completed');
    const expected = await independentCounts(text.toString('utf8'));
    const hosts: { ip: string }[] = [];
    let cursor: string | null = null;
    do {
      const page: any = (await call(s.url, 'GET', `/projects/${project}/hosts?limit=1000${cursor ? `&cursor=${cursor}` : ''}`, s.adminToken)).body;
      hosts.push(...page.items);
      cursor = page.nextCursor;
    } while (cursor);
    let ports = 0;
    let scripts = 0;
    for (const h of hosts) {
      const d = (await call(s.url, 'GET', `/projects/${project}/hosts/${h.ip}`, s.adminToken)).body;
      ports += d.ports.length;
      scripts += d.hostScripts.length + d.ports.reduce((n: number, p: any) => n + p.scripts.length, 0);
    }
    expect({ hosts: hosts.length, ports, scripts }).toEqual(expected);
  });
});
