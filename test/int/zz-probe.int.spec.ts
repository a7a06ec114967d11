import { call, startLedgerApp, upload, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';

describe('probe', () => {
  let s: RunningApp;
  let project: string;
  beforeAll(async () => {
    s = await startLedgerApp();
    project = (await call(s.url, 'POST', '/projects', s.adminToken, { name: 'p' })).body.id;
  });
  afterAll(() => s?.close());
  it('probes', async () => {
    const t0 = Date.now();
    const r1 = await upload(s.url, project, s.adminToken, nmapReport([{ ip: '10.0.0.1', ports: [{ port: 22, script: { id: 'big', output: 'A'.repeat(12 * 1024 * 1024) } }] }]));
    console.log('12MB script', r1.status, r1.text.slice(0, 300), Date.now() - t0);
    const r2 = await upload(s.url, project, s.adminToken, nmapReport([{ ip: '10.0.0.2', ports: [{ port: 22 }] }], { args: 'nmap ' + '10.0.0.1 '.repeat(1_400_000) }));
    console.log('11MB args', r2.status, r2.text.slice(0, 300));
    const many = nmapReport([{ ip: '10.0.0.3', ports: [{ port: 22, script: { id: 's', output: 'B'.repeat(40_000) } }] }]).replace('<hostnames></hostnames>', '<hostnames>' + '<hostname name="n.example" type="PTR"/>'.repeat(300_000) + '</hostnames>');
    const r3 = await upload(s.url, project, s.adminToken, many);
    console.log('300k hostnames', r3.status, r3.text.slice(0, 300));
    const hosts = Array.from({ length: 600 }, (_, i) => ({ ip: `10.1.${i >> 8}.${i & 255}`, ports: [{ port: 80, script: { id: 's', output: 'C'.repeat(30_000) } }] }));
    const r4 = await upload(s.url, project, s.adminToken, nmapReport(hosts));
    console.log('600 hosts x 30KB', r4.status, r4.text.slice(0, 300));
    console.log('health', (await call(s.url, 'GET', '/health')).status);
    console.log('imports', JSON.stringify((await call(s.url, 'GET', `/projects/${project}/imports`, s.adminToken)).body.items.map((i: any) => [i.status, i.hostCount, i.counts?.hostsCreated])));
    console.log('hosts', (await call(s.url, 'GET', `/projects/${project}/hosts?limit=1000`, s.adminToken)).body.items.length);
  });
});
