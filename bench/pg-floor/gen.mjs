// Writes TSV files shaped like the ledger's rows for N hosts into DIR (sizes as in the 50k import
// bench: ~5 KB state, ~3.3 KB trail event, 3 ports, 5 history rows, one import_hosts row).
// usage: node gen.mjs N DIR
import { createWriteStream } from 'node:fs';
const N = Number(process.argv[2] ?? 50000);
const DIR = process.argv[3] ?? '.';
const files = Object.fromEntries(['hosts', 'ports', 'history', 'events', 'import_hosts'].map((n) => [n, createWriteStream(`${DIR}/${n}.tsv`)]));
const esc = (s) => s.replace(/\\/g, '\\\\').replace(/\t/g, '\\t').replace(/\n/g, '\\n');
const rnd = (n) => Math.floor(Math.random() * n);
const svc = ['http', 'ssh', 'https', 'smtp', 'mysql'];
async function w(f, line) { if (!files[f].write(line)) await new Promise((r) => files[f].once('drain', r)); }
const t = '2026-12-07T12:00:00Z';
for (let i = 0; i < N; i++) {
  const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
  const ports = [22, 80, 443].map((p) => ({ p, proto: 'tcp', state: 'open', reason: 'syn-ack', ttl: 64, service: { name: svc[rnd(5)], product: `product-${rnd(50)}`, version: `${rnd(9)}.${rnd(20)}.${rnd(99)}`, extrainfo: `protocol ${rnd(3)}.0`, method: 'probed', conf: 10, cpe: [`cpe:/a:vendor${rnd(40)}:product${rnd(50)}:${rnd(9)}.${rnd(20)}`] }, scripts: [{ id: 'http-title', output: `Title ${rnd(1e6)} `.repeat(8), elems: { title: `Title ${rnd(1e6)}` } }, { id: 'ssl-cert', output: `Subject: commonName=host${i}.example.test\nIssuer: commonName=CA ${rnd(100)}\n`.repeat(4) }], stamps: [rnd(1e9), rnd(1e9)] }));
  const state = JSON.stringify({ ip, status: { state: 'up', reason: 'syn-ack', ttl: 64 }, addresses: [{ addr: ip, type: 'ipv4' }, { addr: `00:11:22:${rnd(99)}:${rnd(99)}:${rnd(99)}`, type: 'mac', vendor: 'Vendor' }], hostnames: [{ name: `host${i}.example.test`, type: 'PTR' }], ports, os: { matches: [{ name: `Linux 5.${rnd(20)}`, accuracy: 95, classes: [{ vendor: 'Linux', family: 'Linux', gen: '5.X', type: 'general purpose', cpe: ['cpe:/o:linux:linux_kernel:5'] }] }] }, times: { srtt: rnd(9999), rttvar: rnd(9999), to: 100000 }, firstSeen: t, lastSeen: t });
  const pad = state.length < 5000 ? state.slice(0, 5000 - state.length) : '';
  await w('hosts', `p1\t${ip}\t${esc(state.slice(0, -1) + ',"x":' + JSON.stringify(pad) + '}')}\tf\t${t}\t${t}\t3\t{host${i}.example.test}\tLinux\t${i}\t${i}\n`);
  for (const p of ports) await w('ports', `p1\t${ip}\ttcp\t${p.p}\topen\t${p.service.name}\t${p.service.product}\t${p.service.version}\t${p.service.extrainfo}\t\\N\t{${p.service.cpe[0]}}\n`);
  for (const f of ['host', 'port', 'port', 'port', 'hostname']) await w('history', `p1\t${ip}\ttcp\t22\t${f}\t\\N\t\\N\t${esc(JSON.stringify({ state: 'open', service: 'ssh' }))}\tappeared\tev-${i}\t${t}\n`);
  const ev = JSON.stringify({ eventId: `ev-${i}`, type: 'HostObserved', schemaVersion: 1, key: 'p1', occurredAt: t, correlationId: 'imp-1', data: { host: JSON.parse(state) } }).slice(0, 3300);
  await w('events', `p1\t${ip}\tev-${i}\tHostObserved\t${t}\t${esc(ev)}\t${i}\t${t}\timp-1\n`);
  await w('import_hosts', `imp-1\t${ip}\t1\n`);
}
await Promise.all(Object.values(files).map((f) => new Promise((r) => f.end(r))));
