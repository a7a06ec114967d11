import type { NmapOsClass, NmapScript, ScriptNode } from '#events';
import type { HostState } from '#domain';

const REFS: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;', '\n': '&#xa;', '\r': '&#xd;', '\t': '&#x9;' };
// A reader folds a literal newline, CR or tab inside an attribute into a space (XML 1.0 §3.3.3), so
// multi-line script output would come back on one line: those go as character references, as nmap
// writes them. In text a literal CR would come back as a newline (§2.11).
const esc = (v: unknown): string => String(v).replace(/[&<>"'\n\r\t]/g, (c) => REFS[c]!);
const escText = (v: unknown): string => String(v).replace(/[&<>\r]/g, (c) => REFS[c]!);

/**
 * Attributes with a value; those nmap's DTD marks #REQUIRED (`required`) are written even when the
 * ledger has no value, as "" (which the importer reads back as no value), so the file stays valid.
 */
const attrs = (o: Record<string, unknown>, required: readonly string[] = []): string =>
  Object.entries(o)
    .filter(([k, v]) => required.includes(k) || (v !== undefined && v !== null && v !== ''))
    .map(([k, v]) => ` ${k}="${esc(v ?? '')}"`)
    .join('');

function nodes(list: readonly ScriptNode[]): string {
  return list
    .map((n) => (n.kind === 'elem' ? `<elem${attrs({ key: n.key })}>${escText(n.value)}</elem>` : `<table${attrs({ key: n.key })}>${nodes(n.children)}</table>`))
    .join('');
}

const script = (s: NmapScript) => `<script${attrs({ id: s.id, output: s.output }, ['id', 'output'])}>${nodes(s.nodes)}</script>`;

export const NMAP_XML_HEAD = (startUnix: number) =>
  `<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" args="falcoria export" start="${startUnix}" startstr="${esc(new Date(startUnix * 1000).toUTCString())}" version="7.93" xmloutputversion="1.05">\n<verbose level="0"/>\n<debugging level="0"/>\n`;

/** The run's totals: nmap readers (python-libnmap's hosts_up/hosts_down) take them from here. */
export const NMAP_XML_TAIL = (endUnix: number, hosts: number, up: number) =>
  `<runstats><finished time="${endUnix}" timestr="${esc(new Date(endUnix * 1000).toUTCString())}" summary="Falcoria export: ${hosts} hosts" elapsed="0" exit="success"/><hosts up="${up}" down="${hosts - up}" total="${hosts}"/></runstats>\n</nmaprun>\n`;

/** Whether the export writes the host as up (a host without a known status is written as up). */
export const hostIsUp = (s: HostState): boolean => (s.status?.value.state ?? 'up') === 'up';

/**
 * One host as nmap writes it, from the ledger's state: every kept port (not only open ones),
 * services with CPEs, scripts with their structured output, OS, uptime, trace and times. A report
 * made of these re-imports into an empty project with the same state.
 */
export function hostXml(s: HostState): string {
  const st = s.status?.value;
  const times = s.scanTime?.value;
  const out: string[] = [`<host${attrs({ starttime: times?.start, endtime: times?.end })}>`];
  // nmap's DTD and readers such as python-libnmap need a <status>; a host the ledger knows without
  // one (masscan output has none) is written as nmap -Pn writes it: up, reason user-set.
  const status = st ? { state: st.state, reason: st.reason, reason_ttl: st.reasonTtl } : { state: 'up', reason: 'user-set', reason_ttl: 0 };
  out.push(`<status${attrs(status, ['reason', 'reason_ttl'])}/>`);
  const ipType = s.ip.includes(':') ? 'ipv6' : 'ipv4';
  const addrs = s.addresses.some((a) => a.addr === s.ip) ? s.addresses : [{ addr: s.ip, addrtype: ipType, vendor: null }, ...s.addresses];
  const ordered = [...addrs.filter((a) => a.addr === s.ip), ...addrs.filter((a) => a.addr !== s.ip)];
  for (const a of ordered) out.push(`<address${attrs({ addr: a.addr, addrtype: a.addrtype, vendor: a.vendor })}/>`);
  const names = Object.values(s.hostnames);
  out.push('<hostnames>');
  for (const h of names) {
    const types = h.types.length ? h.types : [undefined];
    for (const t of types) out.push(`<hostname${attrs({ name: h.name, type: t })}/>`);
  }
  out.push('</hostnames>');
  const ports = Object.values(s.ports).sort((a, b) => a.proto.localeCompare(b.proto) || a.port - b.port);
  out.push('<ports>');
  for (const x of s.extraPorts?.value ?? []) out.push(`<extraports${attrs({ state: x.state, count: x.count })}/>`);
  for (const p of ports) {
    out.push(`<port${attrs({ protocol: p.proto, portid: p.port })}>`);
    out.push(`<state${attrs({ state: p.state, reason: p.reason, reason_ttl: p.ttl }, ['reason', 'reason_ttl'])}/>`);
    const svc = Object.fromEntries(Object.entries(p.service).map(([k, f]) => [k, f?.value]));
    const cpes = p.cpes?.value ?? [];
    if (Object.keys(svc).length || cpes.length) {
      out.push(`<service${attrs({ name: svc.name ?? '', product: svc.product, version: svc.version, extrainfo: svc.extrainfo, ostype: svc.ostype, method: svc.method ?? 'table', conf: svc.conf ?? 3, tunnel: svc.tunnel, proto: svc.proto, rpcnum: svc.rpcnum, lowver: svc.lowver, highver: svc.highver, hostname: svc.hostname, devicetype: svc.devicetype, servicefp: svc.servicefp }, ['name'])}>`);
      for (const c of cpes) out.push(`<cpe>${escText(c)}</cpe>`);
      out.push('</service>');
    }
    for (const f of Object.values(p.scripts)) out.push(script(f.value));
    out.push('</port>');
  }
  out.push('</ports>');
  const os = s.os?.value;
  if (os) {
    out.push('<os>');
    for (const u of os.portsUsed) out.push(`<portused${attrs({ state: u.state, proto: u.proto, portid: u.portid })}/>`);
    // Classes straight under <os> come from older nmap (< 4.60, or --deprecated-xml-osclass) and go
    // back where that wrote them, so a re-import keeps them; the DTD nmap ships today has no place for them.
    for (const c of os.classes ?? []) osclass(out, c);
    for (const m of os.matches) {
      out.push(`<osmatch${attrs({ name: m.name, accuracy: m.accuracy, line: m.line }, ['name', 'accuracy', 'line'])}>`);
      for (const c of m.classes) osclass(out, c);
      out.push('</osmatch>');
    }
    if (os.fingerprint) out.push(`<osfingerprint${attrs({ fingerprint: os.fingerprint })}/>`);
    out.push('</os>');
  }
  const up = s.uptime?.value;
  if (up) out.push(`<uptime${attrs({ seconds: up.seconds, lastboot: up.lastboot })}/>`);
  const dist = s.distance?.value;
  if (dist !== undefined && dist !== null) out.push(`<distance value="${dist}"/>`);
  const hs = Object.values(s.hostScripts);
  if (hs.length) out.push(`<hostscript>${hs.map((f) => script(f.value)).join('')}</hostscript>`);
  const tr = s.trace?.value;
  if (tr) {
    out.push(`<trace${attrs({ port: tr.port, proto: tr.proto })}>`);
    for (const h of tr.hops) out.push(`<hop${attrs({ ttl: h.ttl, ipaddr: h.ipaddr, rtt: h.rtt, host: h.host })}/>`);
    out.push('</trace>');
  }
  const t = s.times?.value;
  if (t) out.push(`<times${attrs({ srtt: t.srtt, rttvar: t.rttvar, to: t.to }, ['srtt', 'rttvar', 'to'])}/>`);
  out.push('</host>\n');
  return out.join('');
}

function osclass(out: string[], c: NmapOsClass): void {
  out.push(`<osclass${attrs({ type: c.type, vendor: c.vendor, osfamily: c.osfamily, osgen: c.osgen, accuracy: c.accuracy }, ['vendor', 'osfamily', 'accuracy'])}>`);
  for (const cpe of c.cpes) out.push(`<cpe>${escText(cpe)}</cpe>`);
  out.push('</osclass>');
}
