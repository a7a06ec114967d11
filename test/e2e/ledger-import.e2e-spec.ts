import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';

describe('ledger import through Kafka and PostgreSQL', () => {
  let s: RunningApp;
  let projectId: string;
  const get = (path: string) => call(s.url, 'GET', `/projects/${projectId}${path}`, s.adminToken);

  beforeAll(async () => {
    s = await startLedgerApp();
    projectId = (await call(s.url, 'POST', '/projects', s.adminToken, { name: 'imports' })).body.id;
  });
  afterAll(() => s?.close());

  const base = nmapReport(
    [
      { ip: '10.0.0.1', hostname: 'web.example', ports: [{ port: 22, service: 'ssh', product: 'OpenSSH', version: '8.9' }, { port: 80, service: 'http', product: 'nginx', version: '1.18', script: { id: 'http-title', output: 'Hello' } }] },
      { ip: '10.0.0.2', ports: [{ port: 443, service: 'https', product: 'Apache httpd' }] },
    ],
    { services: '1-1000' },
  );

  it('imports a report: hosts, ports, services, scripts and counts', async () => {
    const r = await upload(s.url, projectId, s.adminToken, base, { mode: 'replace' });
    expect(r.status).toBe(202);
    expect(r.body).toMatchObject({ status: 'completed', hostCount: 2, counts: { hostsCreated: 2, hostsUpdated: 0, hostsUnchanged: 0, portsOpened: 3, portsClosed: 0 } });
    const host = (await get('/hosts/10.0.0.1')).body;
    expect(host.hostnames).toEqual([{ name: 'web.example', types: ['user'] }]);
    expect(host.ports.map((p: any) => [p.port, p.state, p.service.product, p.service.version])).toEqual([
      [22, 'open', 'OpenSSH', '8.9'],
      [80, 'open', 'nginx', '1.18'],
    ]);
    expect(host.ports[1].scripts).toEqual([{ id: 'http-title', output: 'Hello', nodes: [] }]);
    const list = (await get('/hosts?hasOpenPorts=true')).body;
    expect(list.items.map((h: any) => h.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  // Regression: the import's events are visible only once its transaction commits, and the upload
  // used to be answered before the projector had seen them, so the first status poll got a 404.
  it('an accepted import is known to its status route as soon as the upload is answered', async () => {
    const other = (await call(s.url, 'POST', '/projects', s.adminToken, { name: 'imports-nowait' })).body.id;
    const many = nmapReport(Array.from({ length: 300 }, (_, i) => ({ ip: `10.9.${i >> 8}.${i & 255}`, ports: [{ port: 22, service: 'ssh' }] })));
    const r = await upload(s.url, other, s.adminToken, many, { mode: 'replace', wait: 'false' });
    expect(r.body).toMatchObject({ status: 'applying', hostCount: 300 });
    const job = await call(s.url, 'GET', `/projects/${other}/imports/${r.body.importId}`, s.adminToken);
    expect(job.status).toBe(200);
    expect(['applying', 'completed']).toContain(job.body.status);
  });

  it('reports the same file again as a duplicate and changes nothing; force re-applies as unchanged', async () => {
    const before = (await get('/history?limit=1000')).body.items.length;
    const dup = await upload(s.url, projectId, s.adminToken, base, { mode: 'replace' });
    expect(dup.body.status).toBe('duplicate');
    const forced = await upload(s.url, projectId, s.adminToken, base, { mode: 'replace', force: 'true' });
    expect(forced.body).toMatchObject({ status: 'completed', counts: { hostsCreated: 0, hostsUpdated: 0, hostsUnchanged: 2, portsOpened: 0, portsClosed: 0, changes: 0 } });
    expect((await get('/history?limit=1000')).body.items.length).toBe(before);
  });

  it('update adds ports and refreshes non-empty service fields, never closes; blanks never clear', async () => {
    const r = await upload(
      s.url, projectId, s.adminToken,
      nmapReport([{ ip: '10.0.0.1', ports: [{ port: 80, service: 'http', product: 'nginx', version: '1.25' }, { port: 8080, service: 'http-proxy' }, { port: 22, state: 'closed' }] }], { services: '1-10000' }),
      { mode: 'update' },
    );
    expect(r.body.counts).toMatchObject({ hostsUpdated: 1, portsOpened: 1, portsClosed: 0 });
    const host = (await get('/hosts/10.0.0.1')).body;
    const byPort = Object.fromEntries(host.ports.map((p: any) => [p.port, p]));
    expect(byPort[22].state).toBe('open');
    expect(byPort[22].service.product).toBe('OpenSSH');
    expect(byPort[80].service.version).toBe('1.25');
    expect(byPort[8080].state).toBe('open');
    const h = (await get('/history?ip=10.0.0.1&port=80&field=service.version')).body.items;
    expect(h[0]).toMatchObject({ old: '1.18', new: '1.25', mode: 'update', source: { kind: 'import' } });
    expect(h[0].actor).toMatchObject({ kind: 'user' });
  });

  it('replace closes ports named non-open and ports absent inside the scanned range, not outside it', async () => {
    const r = await upload(s.url, projectId, s.adminToken, nmapReport([{ ip: '10.0.0.1', ports: [{ port: 22, state: 'filtered' }] }], { services: '1-100' }), { mode: 'replace' });
    expect(r.body.counts).toMatchObject({ portsClosed: 2 });
    const byPort = Object.fromEntries((await get('/hosts/10.0.0.1')).body.ports.map((p: any) => [p.port, p]));
    expect(byPort[22].state).toBe('filtered');
    expect(byPort[80].state).toBe('closed');
    expect(byPort[80].cause).toBe('absence');
    expect(byPort[8080].state).toBe('open'); // outside 1-100
    const closed = (await get('/history?ip=10.0.0.1&port=80&field=state')).body.items[0];
    expect(closed).toMatchObject({ old: 'open', new: 'closed' });
    expect(closed.rule).toMatch(/1-100/);
  });

  it('insert skips known hosts but merges their hostnames; append adds only new open ports', async () => {
    await upload(s.url, projectId, s.adminToken, nmapReport([{ ip: '10.0.0.2', hostname: 'api.example', ports: [{ port: 8443, service: 'https' }] }], { services: '1-10000' }), { mode: 'insert' });
    let h = (await get('/hosts/10.0.0.2')).body;
    expect(h.hostnames.map((x: any) => x.name)).toEqual(['api.example']);
    expect(h.ports.map((p: any) => p.port)).toEqual([443]);
    await upload(s.url, projectId, s.adminToken, nmapReport([{ ip: '10.0.0.2', ports: [{ port: 8443, service: 'https' }, { port: 443, state: 'closed', product: 'other' }] }], { services: '1-10000' }), { mode: 'append' });
    h = (await get('/hosts/10.0.0.2')).body;
    expect(h.ports.map((p: any) => [p.port, p.state, p.service.product ?? null])).toEqual([
      [443, 'open', 'Apache httpd'],
      [8443, 'open', null],
    ]);
  });

  it.each([
    ['not XML', 'hello world', 'REPORT.NOT_XML'],
    ['not nmap', '<?xml version="1.0"?><root><a/></root>', 'REPORT.NOT_NMAP'],
    ['truncated', base.slice(0, Math.floor(base.length * 0.7)), 'REPORT.TRUNCATED'],
    ['an XXE payload', '<?xml version="1.0"?><!DOCTYPE nmaprun [<!ENTITY x SYSTEM "file:///etc/passwd">]><nmaprun scanner="nmap">&x;</nmaprun>', 'REPORT.DTD_FORBIDDEN'],
    ['entity expansion', '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]><nmaprun scanner="nmap">&b;</nmaprun>', 'REPORT.DTD_FORBIDDEN'],
    ['an empty file', '', 'REPORT.EMPTY'],
    ['a report without hosts', nmapReport([]), 'REPORT.EMPTY'],
  ])('refuses %s with a clear 422 and applies nothing', async (_name, content, code) => {
    const before = (await get('/imports')).body.items.length;
    const hosts = (await get('/hosts')).body.items.length;
    const r = await upload(s.url, projectId, s.adminToken, content, { mode: 'replace' });
    expect(r.status).toBe(422);
    expect(r.body.code).toBe(code);
    expect(r.body.message.length).toBeGreaterThan(10);
    expect((await get('/imports')).body.items.length).toBe(before);
    expect((await get('/hosts')).body.items.length).toBe(hosts);
  });

  it('refuses a bad mode, a missing file part and a non-multipart body with 4xx', async () => {
    expect((await upload(s.url, projectId, s.adminToken, base, { mode: 'merge' })).status).toBe(400);
    const noFile = await fetch(`${s.url}/projects/${projectId}/imports`, { method: 'POST', headers: { authorization: `Bearer ${s.adminToken}` }, body: new FormData() });
    expect(noFile.status).toBe(400);
    expect((await call(s.url, 'POST', `/projects/${projectId}/imports`, s.adminToken, { file: 'x' })).status).toBe(415);
  });

  it('exports nmap XML that re-imports into an empty project with identical state', async () => {
    const xml = await (await fetch(`${s.url}/projects/${projectId}/export?format=xml`, { headers: { authorization: `Bearer ${s.adminToken}` } })).text();
    const other = (await call(s.url, 'POST', '/projects', s.adminToken, { name: 'roundtrip' })).body.id;
    const r = await upload(s.url, other, s.adminToken, xml, { mode: 'replace' });
    expect(r.body.status).toBe('completed');
    const strip = (h: any) => ({ ...h, firstSeen: undefined, lastSeen: undefined, coverage: undefined, ports: h.ports.map((p: any) => ({ ...p, setBy: undefined, cause: undefined, firstSeen: undefined, lastSeen: undefined })) });
    for (const ip of ['10.0.0.1', '10.0.0.2']) {
      const a = (await get(`/hosts/${ip}`)).body;
      const b = (await call(s.url, 'GET', `/projects/${other}/hosts/${ip}`, s.adminToken)).body;
      expect(strip(b)).toEqual(strip(a));
    }
  });

  it('exports JSON, CSV and ip:port lists filtered by the same search', async () => {
    const h = { headers: { authorization: `Bearer ${s.adminToken}` } };
    const ipport = await (await fetch(`${s.url}/projects/${projectId}/export?format=ipport&port=8443`, h)).text();
    expect(ipport).toBe('10.0.0.2:8443\n');
    const csv = await (await fetch(`${s.url}/projects/${projectId}/export?format=csv&cidr=10.0.0.2/32`, h)).text();
    expect(csv.split('\n')[0]).toBe('ip,hostnames,proto,port,state,service,product,version,extrainfo');
    expect(csv).toContain('10.0.0.2,api.example,tcp,443,open,https,Apache httpd,,');
    const json = JSON.parse(await (await fetch(`${s.url}/projects/${projectId}/export?format=json`, h)).text());
    expect(json.hosts.map((x: any) => x.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
  });

  it('searches with same-port clauses and counts facets', async () => {
    const post = (body: object) => call(s.url, 'POST', `/projects/${projectId}/hosts/search`, s.adminToken, body);
    expect((await post({ allOf: [{ port: 8080, service: 'http-proxy' }] })).body.items.map((x: any) => x.ip)).toEqual(['10.0.0.1']);
    // port 443 and product nginx exist, but never on the same port of one host
    expect((await post({ allOf: [{ port: 443, product: 'nginx' }] })).body.items).toEqual([]);
    expect((await post({ noneOf: [{ port: 8080 }] })).body.items.map((x: any) => x.ip)).toEqual(['10.0.0.2']);
    const f = (await get('/facets')).body;
    expect(f.port).toEqual(expect.arrayContaining([{ value: '8443/tcp', count: 1 }]));
  });

  it('keeps the raw event trail of a host, and deleting a host is an event with history', async () => {
    const trail = (await get('/hosts/10.0.0.2/events')).body.items;
    expect(trail.map((e: any) => e.type)).toEqual(['HostObserved', 'HostObserved', 'HostObserved', 'HostObserved']);
    const del = await call(s.url, 'DELETE', `/projects/${projectId}/hosts/10.0.0.2`, s.adminToken);
    expect(del.status).toBe(200);
    for (let i = 0; i < 50 && (await get('/hosts/10.0.0.2')).status !== 404; i++) await new Promise((r) => setTimeout(r, 100));
    expect((await get('/hosts/10.0.0.2')).status).toBe(404);
    expect((await get('/history?ip=10.0.0.2&field=host')).body.items[0]).toMatchObject({ old: 'present', new: null, actor: { kind: 'user' } });
  });

  it('rebuild from the log gives the same checksum (replay equals live)', async () => {
    const r = await call(s.url, 'POST', '/ledger/rebuild', s.adminToken);
    expect(r.status).toBe(200);
    expect(r.body.equal).toBe(true);
    expect(r.body.applied).toBeGreaterThan(10);
  });
});
