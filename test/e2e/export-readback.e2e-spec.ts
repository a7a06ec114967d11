// The nmap XML export read back by tools that are not ours: python-libnmap sees the same hosts,
// names, ports, services and scripts as the ledger's JSON export says; nmap's own ndiff parses it
// (an export against itself shows no difference, against the imported original no parse error and,
// where the ledger keeps the hosts as they were, none but the run header); xmllint finds it valid
// against the DTD nmap ships; and it re-imports with the same state. The tools come from
// `scripts/setup.sh --test`; without them the test fails rather than skips.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';

const CORPUS = process.env.FALCORIA_CORPUS_DIR ?? join(process.cwd(), '../shared/corpus/nmap-xml');
const PYTHON = join(process.env.FALCORIA_CACHE_DIR ?? join(process.cwd(), '.cache'), 'pyenv/bin/python');
const SUMMARY = join(process.cwd(), 'test/support/libnmap-summary.py');
const NDIFF_PY3 = join(process.cwd(), 'test/support/ndiff-py3.py');

/** nmap.dtd sits in nmap's data directory, next to the nmap binary's ../share/nmap. */
function nmapDtd(): string | null {
  const nmap = spawnSync('sh', ['-c', 'command -v nmap'], { encoding: 'utf8' }).stdout.trim();
  const candidates = [nmap && join(dirname(nmap), '../share/nmap/nmap.dtd'), '/usr/share/nmap/nmap.dtd', '/usr/local/share/nmap/nmap.dtd', '/opt/homebrew/share/nmap/nmap.dtd'];
  return candidates.find((c) => c && existsSync(c)) || null;
}

// Varied real reports (see the corpus INDEX.md): -sV/-sC with nested script tables, OS detection,
// traceroute, IPv6, PTR and user hostnames, UDP, masscan, closed and filtered ports, old nmap.
// `same`: the ledger holds the report's hosts as the report has them, so nmap's ndiff must find no
// difference but the run header. It does not for masscan's one <host> per port, for two targets
// resolving to one address (the ledger merges them), or for names the ledger lower-cases.
// `oldOs`: OS classes straight under <os> (nmap < 4.60); the export keeps them there, which the DTD
// nmap ships today has no place for, so those files are checked against it with just that allowed.
const FILES: readonly { file: string; same: boolean; oldOs?: true }[] = [
  { file: 'nmapgrafana__nmap.xml', same: true }, // 7.92 -A: versions, CPEs, script tables, OS, traceroute
  { file: 'DefectDojo__issue4406.xml', same: true }, // ssl-cert / vulners: deeply nested tables, tabs in output
  { file: 'HackTheBox__htb-forest_nmap.xml', same: true }, // AD host: host scripts, OS fingerprint, uptime
  { file: 'logstash-codec-nmap__ipv6_all.xml', same: true }, // IPv6 target, host script
  { file: 'AD-LAB__old_nmap_alludp.xml', same: true }, // UDP, extraports open|filtered
  { file: 'BBP-Private__masscan.xml', same: false }, // masscan: one <host> per port for the same address
  { file: 'HackTheBox__htb-tabby_nmap.xml', same: true }, // filtered and open ports
  { file: 'nmap__ndiff-complex.xml', same: true, oldOs: true }, // nmap's own ndiff test scan: TCP+UDP, closed ports, host scripts, OS
  { file: 'Keepnote_import_nmap__host_with_os.list.xml', same: false }, // 8 targets on 6 addresses, PTR+user names, TCP+UDP, OS
  { file: 'WebMap__std_cve.xml', same: false }, // 7.97 -A on 18 hosts: MAC vendors, vulners CVE tables, traceroute; mixed-case names
  { file: 'nmap__radialnet-nmap_example.xml', same: true, oldOs: true }, // nmap 4.53: traceroute hops, OS fingerprints
  { file: 'python-libnmap__1_os_banner_scripts.xml', same: true, oldOs: true }, // libnmap's own fixture: OS only as osclass
];

// What the other tools must also survive: characters XML attribute and text normalisation would
// change (newlines, tabs, CR), markup characters, non-ASCII, empty values, keyless nested tables.
const SYNTHETIC = `<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE nmaprun>
<nmaprun scanner="nmap" args="nmap -sS -sU -sV -sC -p T:22,80,443,U:53 -oX - 192.0.2.10 2001:db8::10" start="1795300000" version="7.94" xmloutputversion="1.05">
<scaninfo type="syn" protocol="tcp" numservices="3" services="22,80,443"/>
<scaninfo type="udp" protocol="udp" numservices="1" services="53"/>
<verbose level="0"/><debugging level="0"/>
<host starttime="1795300001" endtime="1795300009"><status state="up" reason="echo-reply" reason_ttl="63"/>
<address addr="192.0.2.10" addrtype="ipv4"/><address addr="00:11:22:33:44:55" addrtype="mac" vendor="Acme &amp; Sons"/>
<hostnames><hostname name="box.example" type="user"/><hostname name="box.example" type="PTR"/><hostname name="alias.example" type="PTR"/></hostnames>
<ports><extraports state="closed" count="1"><extrareasons reason="resets" count="1"/></extraports>
<port protocol="tcp" portid="22"><state state="open" reason="syn-ack" reason_ttl="63"/><service name="ssh" product="OpenSSH" version="9.6p1 Ubuntu 3ubuntu13" extrainfo="Ubuntu Linux; protocol 2.0" ostype="Linux" method="probed" conf="10"><cpe>cpe:/a:openbsd:openssh:9.6p1</cpe><cpe>cpe:/o:linux:linux_kernel</cpe></service><script id="ssh-hostkey" output="&#xa;  256 aa:bb:cc (ECDSA)&#xa;  256 dd:ee:ff (ED25519)"><table><elem key="type">ecdsa-sha2-nistp256</elem><elem key="bits">256</elem></table><table><elem key="type">ssh-ed25519</elem><elem key="bits">256</elem></table></script></port>
<port protocol="tcp" portid="80"><state state="open" reason="syn-ack" reason_ttl="63"/><service name="http" product="nginx" version="1.24.0" method="probed" conf="10"/><script id="http-title" output="Caf&#xe9; &lt;b&gt;&quot;menu&quot;&lt;/b&gt; &amp; &apos;bar&apos;&#x9;tab&#xd;&#xa;end"><elem key="title">Caf&#xe9; &lt;b&gt;"menu"&lt;/b&gt; &amp; 'bar'&#x9;tab&#xd;&#xa;end</elem><elem key="empty"></elem></script><script id="http-headers" output="&#xa;  Server: nginx&#xa;  &#xa;  (Request type: HEAD)&#xa;"><table key="headers"><elem>Server: nginx</elem><elem>Connection: close</elem></table><table key="nested"><table key="deeper"><elem key="k">  spaced  value  </elem></table></table></script></port>
<port protocol="tcp" portid="443"><state state="filtered" reason="no-response" reason_ttl="0"/><service name="https" method="table" conf="3"/></port>
<port protocol="udp" portid="53"><state state="open|filtered" reason="no-response" reason_ttl="0"/><service name="domain" method="table" conf="3"/></port>
</ports>
<os><portused state="open" proto="tcp" portid="22"/><osmatch name="Linux 5.0 - 5.14" accuracy="98" line="67000"><osclass type="general purpose" vendor="Linux" osfamily="Linux" osgen="5.X" accuracy="98"><cpe>cpe:/o:linux:linux_kernel:5</cpe></osclass></osmatch></os>
<uptime seconds="86400" lastboot="Thu Nov 21 10:00:00 2026"/>
<distance value="2"/>
<hostscript><script id="smb-os-discovery" output="&#xa;  OS: Unix&#xa;  Computer name: box"><elem key="os">Unix</elem><elem key="lanmanager">Samba</elem></script></hostscript>
<trace port="80" proto="tcp"><hop ttl="1" ipaddr="192.0.2.1" rtt="0.50"/><hop ttl="2" ipaddr="192.0.2.10" rtt="1.00" host="box.example"/></trace>
<times srtt="1000" rttvar="500" to="100000"/>
</host>
<host starttime="1795300001" endtime="1795300009"><status state="up" reason="echo-reply" reason_ttl="64"/>
<address addr="2001:db8::10" addrtype="ipv6"/><hostnames/>
<ports><port protocol="tcp" portid="22"><state state="closed" reason="reset" reason_ttl="64"/><service name="ssh" method="table" conf="3"/></port><port protocol="tcp" portid="443"><state state="open" reason="syn-ack" reason_ttl="64"/><service name="https" tunnel="ssl" method="probed" conf="10"/></port></ports>
</host>
<host><status state="down" reason="no-response" reason_ttl="0"/><address addr="192.0.2.11" addrtype="ipv4"/></host>
<runstats><finished time="1795300010" elapsed="10" exit="success"/><hosts up="2" down="1" total="3"/></runstats>
</nmaprun>
`;

// Values nmap's DTD requires that older nmap did not write (status and port reasons, the osmatch
// line) or that a report may leave empty (script output, a service name): the export writes them
// empty, which the importer reads back as no value. ndiff tells name="" from no name, hence not `same`.
const SPARSE = `<?xml version="1.0"?>
<nmaprun scanner="nmap" args="nmap -sV -O -p 22,443,8080 192.0.2.20" start="1795300000" version="4.20" xmloutputversion="1.01">
<scaninfo type="syn" protocol="tcp" numservices="3" services="22,443,8080"/>
<host><status state="up"/><address addr="192.0.2.20" addrtype="ipv4"/>
<ports><port protocol="tcp" portid="22"><state state="closed"/><service name="ssh" method="table" conf="3"/></port><port protocol="tcp" portid="443"><state state="open"/><service name="https" method="table" conf="3"/><script id="banner" output=""/></port><port protocol="tcp" portid="8080"><state state="open"/><service product="Jetty" method="probed" conf="10"/></port></ports>
<os><osmatch name="Linux 2.6.X" accuracy="100"/></os>
</host>
<runstats><finished time="1795300010"/><hosts up="1" down="0" total="1"/></runstats>
</nmaprun>
`;

type Json = any;
type Element = string | null | Element[] | { [key: string]: Element };

// python-libnmap folds a script's <table>/<elem> tree into dicts: keyless entries under Python's
// None (JSON "null"), repeated keys into lists, except that a top-level <elem> replaces what its
// key held. Reproducing that from the ledger's nodes is what it must have read.
const keyOf = (n: Json) => n.key ?? 'null';
const leaf = (n: Json): Element => (n.value === '' ? null : n.value);
function tableOf(nodes: Json[]): { [key: string]: Element } {
  const d: { [key: string]: Element } = {};
  for (const n of nodes) {
    const v = n.kind === 'elem' ? leaf(n) : tableOf(n.children);
    const k = keyOf(n);
    if (k in d) d[k] = Array.isArray(d[k]) ? [...(d[k] as Element[]), v] : [d[k], v];
    else d[k] = v;
  }
  return d;
}
function elementsOf(nodes: Json[]): { [key: string]: Element } {
  const d: { [key: string]: Element } = {};
  for (const n of nodes) {
    const k = keyOf(n);
    if (n.kind === 'elem') d[k] = leaf(n);
    else if (k in d) d[k] = Array.isArray(d[k]) ? [...(d[k] as Element[]), tableOf(n.children)] : [d[k], tableOf(n.children)];
    else d[k] = tableOf(n.children);
  }
  return d;
}
const scriptOf = (s: Json) => ({ id: s.id, output: s.output, elements: elementsOf(s.nodes) });

/**
 * python-libnmap's OS matches: the <osmatch> list, then each old-style <osclass> straight under <os>
 * joins the first match of equal accuracy or else becomes a "type:vendor:family" match of its own.
 */
function osMatchesOf(os: Json) {
  const matches = (os?.matches ?? []).map((m: Json) => ({ name: m.name, accuracy: Number(m.accuracy) }));
  for (const c of os?.classes ?? [])
    if (!matches.some((m: Json) => m.accuracy === Number(c.accuracy))) matches.push({ name: [c.type, c.vendor, c.osfamily].map((v) => v ?? 'None').join(':'), accuracy: Number(c.accuracy) });
  return matches;
}

/** What python-libnmap must report for a host, from the ledger's JSON export of it. */
function expectedFromLedger(h: Json) {
  const mac = h.addresses.find((a: Json) => a.type === 'mac');
  const vendors = h.addresses.filter((a: Json) => a.vendor);
  const ports = h.ports.map((p: Json) => ({
    proto: p.proto,
    port: p.port,
    state: p.state,
    reason: p.reason ?? '',
    name: p.service.name ?? '',
    product: p.service.product ?? null,
    version: p.service.version ?? null,
    extrainfo: p.service.extrainfo ?? null,
    tunnel: p.service.tunnel ?? '',
    cpes: p.cpes,
    scripts: p.scripts.map(scriptOf),
  }));
  return {
    address: h.ip,
    ipv4: h.ip.includes(':') ? '' : h.ip,
    ipv6: h.ip.includes(':') ? h.ip : '',
    mac: mac?.addr ?? '',
    vendor: vendors.length ? vendors[vendors.length - 1].vendor : '',
    status: h.status?.state ?? 'up',
    hostnames: h.hostnames.flatMap((n: Json) => (n.types.length ? n.types.map(() => n.name) : [n.name])),
    ports,
    openPorts: h.ports.filter((p: Json) => p.state === 'open').map((p: Json) => [p.proto, p.port]).sort((a: Json, b: Json) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] - b[1])),
    hostScripts: h.hostScripts.map(scriptOf),
    osMatches: osMatchesOf(h.os),
    distance: h.distance ?? 0,
  };
}

/** nmap's ndiff, run by its own interpreter through a shim that fixes two Python 3 crashes of ndiff itself. */
function ndiff(args: string[]) {
  const bin = spawnSync('sh', ['-c', 'command -v ndiff'], { encoding: 'utf8' }).stdout.trim();
  if (!bin) throw new Error('ndiff is missing: run `bash scripts/setup.sh --test` (npm test does; Debian package ndiff)');
  const [interpreter, ...flags] = readFileSync(bin, 'utf8').split('\n')[0].replace(/^#!/, '').trim().split(/\s+/);
  return run(interpreter, [...flags, NDIFF_PY3, bin, ...args]);
}

function run(cmd: string, args: string[]) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
  if (r.error) throw new Error(`${cmd} could not run (${r.error.message}): run \`bash scripts/setup.sh --test\` (npm test does)`);
  return r;
}

describe('nmap XML export read back by python-libnmap, ndiff and nmap.dtd', () => {
  let s: RunningApp;
  let dir: string;
  let dtd: { current: string; oldOs: string };

  beforeAll(async () => {
    // Fail, never skip: without the readers this test would prove nothing.
    if (!existsSync(PYTHON) || spawnSync(PYTHON, ['-c', 'import libnmap']).status !== 0)
      throw new Error(`python-libnmap is missing from ${dirname(dirname(PYTHON))}: run \`bash scripts/setup.sh --test\` (npm test does; it needs PyPI)`);
    expect(ndiff(['--help']).status).toBe(0);
    run('xmllint', ['--version']);
    const nmapDtdPath = nmapDtd();
    if (!nmapDtdPath) throw new Error('nmap.dtd was not found next to nmap (…/share/nmap/nmap.dtd)');
    dir = mkdtempSync(join(tmpdir(), 'falcoria-readback-'));
    const text = readFileSync(nmapDtdPath, 'utf8');
    const os = /<!ELEMENT os\s*\(\s*portused\*\s*,\s*osmatch\*\s*,\s*osfingerprint\*\s*\)\s*>/;
    expect(text).toMatch(os);
    dtd = { current: nmapDtdPath, oldOs: join(dir, 'nmap-old-osclass.dtd') };
    writeFileSync(dtd.oldOs, text.replace(os, '<!ELEMENT os (portused*, osclass*, osmatch*, osfingerprint*)>'));
    s = await startLedgerApp();
  });
  afterAll(async () => {
    await s?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  type Case = { content: () => string; same: boolean; oldOs?: true };
  const cases: [string, Case][] = [
    ...FILES.map(({ file, ...rest }): [string, Case] => [file, { content: () => readFileSync(join(CORPUS, file), 'utf8'), ...rest }]),
    ['synthetic (escapes, nesting, IPv6, MAC, a down host)', { content: () => SYNTHETIC, same: true }],
    ['synthetic (values older nmap left out)', { content: () => SPARSE, same: false }],
  ];
  const exportOf = async (project: string, format: string) =>
    (await fetch(`${s.url}/projects/${project}/export?format=${format}`, { headers: { authorization: `Bearer ${s.adminToken}` } })).text();
  const importInto = async (name: string, file: string) => {
    const project = (await call(s.url, 'POST', '/projects', s.adminToken, { name })).body.id as string;
    const r = await upload(s.url, project, s.adminToken, readFileSync(file), { mode: 'replace' }, name);
    expect(r.status).toBe(202);
    expect(r.body.status).toBe('completed');
    return project;
  };
  const libnmap = (file: string) => {
    const py = run(PYTHON, [SUMMARY, file]);
    expect(py.stderr).toBe('');
    expect(py.status).toBe(0);
    return JSON.parse(py.stdout);
  };

  it.each(cases)('%s: libnmap, ndiff and the DTD read the export back as the ledger holds it', async (name, { content, same, oldOs }) => {
    const n = cases.findIndex((c) => c[0] === name);
    const original = join(dir, `${n}-original.xml`);
    const exported = join(dir, `${n}-export.xml`);
    writeFileSync(original, content());
    const project = await importInto(`readback-${n}`, original);
    writeFileSync(exported, await exportOf(project, 'xml'));
    const ledger = JSON.parse(await exportOf(project, 'json')).hosts as Json[];
    expect(ledger.length).toBeGreaterThan(0);

    // nmap's DTD: every required attribute, every value from its enumerations, element order.
    const valid = run('xmllint', ['--noout', '--dtdvalid', oldOs ? dtd.oldOs : dtd.current, exported]);
    expect(valid.stderr).toBe('');
    expect(valid.status).toBe(0);

    // nmap's own parser (ndiff): the export equals itself, and compares with the original without
    // an error (exit 2); where the ledger keeps the hosts as they were, only the run header differs.
    const self = ndiff([exported, exported]);
    expect({ status: self.status, stdout: self.stdout, stderr: self.stderr }).toEqual({ status: 0, stdout: '', stderr: '' });
    const vsOriginal = ndiff([original, exported]);
    expect(vsOriginal.stderr).toBe('');
    expect([0, 1]).toContain(vsOriginal.status);
    const lines = vsOriginal.stdout.split('\n').filter((l) => l !== '');
    if (same) {
      expect(lines.slice(2)).toEqual([]);
      expect(lines[1]).toMatch(/^\+Nmap [\d.]+ scan initiated .* as: falcoria export$/);
    }

    // python-libnmap: the same hosts with the same content as the ledger's JSON export.
    const lib = libnmap(exported);
    const up = ledger.filter((h) => (h.status?.state ?? 'up') === 'up').length;
    expect({ total: lib.hostsTotal, up: lib.hostsUp, down: lib.hostsDown }).toEqual({ total: ledger.length, up, down: ledger.length - up });
    expect(lib.hosts).toEqual(ledger.map(expectedFromLedger));

    // And the export re-imports into an empty project with the same state; a host known without a
    // status (masscan) was written, and so comes back, as nmap -Pn writes one.
    const again = await importInto(`readback-${n}-again`, exported);
    const strip = (h: Json) => ({ ...h, firstSeen: undefined, lastSeen: undefined, coverage: undefined, ports: h.ports.map((p: Json) => ({ ...p, setBy: undefined, cause: undefined, firstSeen: undefined, lastSeen: undefined })) });
    const pn = { state: 'up', reason: 'user-set', reasonTtl: 0 };
    expect((JSON.parse(await exportOf(again, 'json')).hosts as Json[]).map(strip)).toEqual(ledger.map((h) => strip({ ...h, status: h.status ?? pn })));
  });

  it('keeps what XML normalisation would change (newlines, tabs, CR), markup, non-ASCII and the down count', async () => {
    // Literal newlines or tabs in an attribute read back as spaces, a literal CR in text as a newline.
    const original = join(dir, 'escapes-original.xml');
    const exported = join(dir, 'escapes-export.xml');
    writeFileSync(original, SYNTHETIC);
    writeFileSync(exported, await exportOf(await importInto('readback-escapes', original), 'xml'));
    const lib = libnmap(exported);
    const box = lib.hosts.find((h: Json) => h.address === '192.0.2.10');
    const http = box.ports.find((p: Json) => p.port === 80);
    // Scripts come out by id, as nmap writes them.
    expect(http.scripts.map((x: Json) => x.id)).toEqual(['http-headers', 'http-title']);
    expect(http.scripts[1].output).toBe('Caf\u00e9 <b>"menu"</b> & \'bar\'\ttab\r\nend');
    expect(http.scripts[1].elements.title).toBe('Caf\u00e9 <b>"menu"</b> & \'bar\'\ttab\r\nend');
    expect(http.scripts[0].output).toBe('\n  Server: nginx\n  \n  (Request type: HEAD)\n');
    expect(http.scripts[0].elements.nested.deeper.k).toBe('  spaced  value  ');
    expect(box.hostScripts[0].output).toBe('\n  OS: Unix\n  Computer name: box');
    expect(box.vendor).toBe('Acme & Sons');
    // runstats counts the down host as down.
    expect([lib.hostsUp, lib.hostsDown]).toEqual([2, 1]);
  });
});
