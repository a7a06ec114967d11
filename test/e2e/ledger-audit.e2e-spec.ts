import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';

/** Reads SSE frames until `count` change events arrived, then drops the connection. */
async function readChanges(url: string, token: string, count: number, lastEventId?: string): Promise<{ id: string; data: any }[]> {
  const ac = new AbortController();
  const res = await fetch(url, { headers: { authorization: `Bearer ${token}`, ...(lastEventId ? { 'last-event-id': lastEventId } : {}) }, signal: ac.signal });
  const reader = res.body!.getReader();
  const out: { id: string; data: any }[] = [];
  let buf = '';
  const deadline = Date.now() + 30000;
  while (out.length < count && Date.now() < deadline) {
    const { value, done } = await reader.read();
    if (done) break;
    buf += new TextDecoder().decode(value);
    let i;
    while ((i = buf.indexOf('\n\n')) >= 0) {
      const frame = buf.slice(0, i);
      buf = buf.slice(i + 2);
      const id = /^id: (\d+)$/m.exec(frame)?.[1];
      const data = /^data: (.*)$/m.exec(frame)?.[1];
      if (id && data && out.length < count) out.push({ id, data: JSON.parse(data) });
    }
  }
  ac.abort();
  return out;
}

describe('explain, coverage and the change feed', () => {
  let s: RunningApp;
  let projectId: string;
  beforeAll(async () => {
    s = await startLedgerApp();
    projectId = (await call(s.url, 'POST', '/projects', s.adminToken, { name: 'audit' })).body.id;
    await upload(s.url, projectId, s.adminToken, nmapReport([{ ip: '10.1.0.1', ports: [{ port: 443, service: 'https', product: 'nginx' }, { port: 8080, service: 'http' }] }], { services: '1-1000' }), { mode: 'replace' });
    await upload(s.url, projectId, s.adminToken, nmapReport([{ ip: '10.1.0.1', ports: [{ port: 22, service: 'ssh' }] }], { services: '1-1000', start: 1795400000 }), { mode: 'replace' });
  });
  afterAll(() => s?.close());

  it('explains a port closed by absence in words, naming the range and the import', async () => {
    const r = await call(s.url, 'GET', `/projects/${projectId}/hosts/10.1.0.1/ports/tcp/443/explain`, s.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.current.state).toBe('closed');
    expect(r.body.classification).toBe('closed-by-absence');
    expect(r.body.chain).toHaveLength(r.body.changes.length);
    const last = r.body.chain[r.body.chain.length - 1];
    expect(last).toMatch(/state: open → closed/);
    expect(last).toMatch(/1-1000/);
    expect(last).toMatch(/replace import/);
    // 8080 was outside 1-1000: never closed
    const other = await call(s.url, 'GET', `/projects/${projectId}/hosts/10.1.0.1/ports/tcp/8080/explain`, s.adminToken);
    expect(other.body.current.state).toBe('open');
  });

  it('reports what was scanned and what never was, per protocol', async () => {
    const r = await call(s.url, 'GET', `/projects/${projectId}/coverage`, s.adminToken);
    const h = r.body.hosts.find((x: any) => x.ip === '10.1.0.1');
    expect(h.protocols.tcp.scanned.map((x: any) => [x.from, x.to])).toEqual([[1, 1000]]);
    expect(h.protocols.tcp.neverScanned).toEqual([{ from: 1001, to: 65535 }]);
    expect(h.protocols.udp.neverScanned).toEqual([{ from: 1, to: 65535 }]);
    const stale = await call(s.url, 'GET', `/projects/${projectId}/coverage?staleBefore=2099-01-01T00:00:00Z`, s.adminToken);
    expect(stale.body.hosts[0].protocols.tcp.scanned.every((x: any) => x.stale)).toBe(true);
  });

  it('the SSE change feed resumes after a forced disconnect without loss or duplicates', async () => {
    const url = `${s.url}/projects/${projectId}/changes/stream?after=0`;
    const all = (await call(s.url, 'GET', `/projects/${projectId}/history?limit=1000`, s.adminToken)).body.items.length;
    expect(all).toBeGreaterThan(4);
    const first = await readChanges(url, s.adminToken, 3);
    expect(first).toHaveLength(3);
    // reconnect where we stopped, then new changes arrive while connected
    const pending = readChanges(url, s.adminToken, all - 3 + 1, first[2].id);
    await new Promise((r) => setTimeout(r, 300));
    await upload(s.url, projectId, s.adminToken, nmapReport([{ ip: '10.1.0.9', ports: [] }], { services: '1-10' }), { mode: 'replace' });
    const second = await pending;
    const ids = [...first, ...second].map((x) => Number(x.id));
    expect(new Set(ids).size).toBe(ids.length);
    expect(ids).toEqual([...ids].sort((a, b) => a - b));
    expect(second[second.length - 1].data).toMatchObject({ ip: '10.1.0.9', field: 'host', version: 1 });
  });
});

describe('diff between two moments', () => {
  let s: RunningApp;
  let projectId: string;
  let firstImport: string;
  beforeAll(async () => {
    s = await startLedgerApp();
    projectId = (await call(s.url, 'POST', '/projects', s.adminToken, { name: 'diff' })).body.id;
    firstImport = (await upload(s.url, projectId, s.adminToken, nmapReport([{ ip: '10.2.0.1', ports: [{ port: 80, service: 'http', product: 'nginx', version: '1.18' }, { port: 443 }] }], { services: '1-1000' }), { mode: 'replace' })).body.importId;
    await upload(s.url, projectId, s.adminToken, nmapReport([{ ip: '10.2.0.1', ports: [{ port: 80, service: 'http', product: 'nginx', version: '1.25' }, { port: 22 }] }, { ip: '10.2.0.2', ports: [{ port: 25 }] }], { services: '1-1000', start: 1795500000 }), { mode: 'replace' });
  });
  afterAll(() => s?.close());

  it('lists what changed after an import: hosts appeared, ports opened and closed, versions', async () => {
    const r = await call(s.url, 'GET', `/projects/${projectId}/diff?from=${firstImport}`, s.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.hostsAppeared).toEqual(['10.2.0.2']);
    expect(r.body.portsOpened).toEqual(expect.arrayContaining([{ ip: '10.2.0.1', proto: 'tcp', port: 22, was: null }, { ip: '10.2.0.2', proto: 'tcp', port: 25, was: null }]));
    expect(r.body.portsClosed).toEqual([{ ip: '10.2.0.1', proto: 'tcp', port: 443, now: 'closed' }]);
    expect(r.body.serviceChanges).toEqual([{ ip: '10.2.0.1', proto: 'tcp', port: 80, field: 'service.version', old: '1.18', new: '1.25' }]);
  });

  it('a window that contains both imports shows the net change only', async () => {
    const r = await call(s.url, 'GET', `/projects/${projectId}/diff?from=1d`, s.adminToken);
    expect(r.body.hostsAppeared.sort()).toEqual(['10.2.0.1', '10.2.0.2']);
    expect(r.body.portsClosed).toEqual([]);
    expect(r.body.serviceChanges.find((c: any) => c.field === 'service.version')).toMatchObject({ old: '1.18', new: '1.25' });
  });

  it('renders an ndiff-like text and refuses bad moments', async () => {
    const r = await fetch(`${s.url}/projects/${projectId}/diff?from=${firstImport}&format=text`, { headers: { authorization: `Bearer ${s.adminToken}` } });
    const text = await r.text();
    expect(text).toMatch(/^\+10\.2\.0\.2:$/m);
    expect(text).toMatch(/^- 443\/tcp state "open"$/m);
    expect((await call(s.url, 'GET', `/projects/${projectId}/diff?from=yesterday`, s.adminToken)).status).toBe(400);
    expect((await call(s.url, 'GET', `/projects/${projectId}/diff?from=00000000-0000-4000-8000-000000000000`, s.adminToken)).status).toBe(404);
  });
});
