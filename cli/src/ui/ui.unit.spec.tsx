import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { jest } from '@jest/globals';
import { cleanup } from 'ink-testing-library';
import { App } from './app.js';
import { Table, columnWidths, windowOf } from './components/Table.js';
import { fakeApi, KEY, press, renderWith, settle, waitForFrame } from './test-kit.js';

const PROJECT = { id: '11111111-1111-4111-8111-111111111111', name: 'acme' };
const OTHER = { id: '22222222-2222-4222-8222-222222222222', name: 'lab' };
const project = (p: typeof PROJECT) => ({ ...p, comment: null, createdAt: '2026-01-01T00:00:00Z', updatedAt: '2026-01-01T00:00:00Z', members: [{ userId: 'u1', username: 'admin', role: 'owner' }], scope: { allow: [], deny: [] } });
const hostRow = (ip: string, ports: Array<[number, string]>, hostnames: string[] = []) => ({
  ip,
  hostnames,
  os: null,
  openPortCount: ports.length,
  ports: ports.map(([port, service]) => ({ proto: 'tcp', port, state: 'open', service, product: null, version: null })),
  firstSeen: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-02T00:00:00.000Z',
});
const detail = {
  ip: '10.0.0.1',
  status: { state: 'up', reason: 'syn-ack' },
  hostnames: [{ name: 'web.example', types: ['user'] }],
  os: null,
  hostScripts: [],
  ports: [
    { proto: 'tcp', port: 22, state: 'open', service: { name: 'ssh', product: 'OpenSSH', version: '8.9' }, scripts: [] },
    { proto: 'tcp', port: 80, state: 'open', service: { name: 'http', product: 'nginx' }, scripts: [{ id: 'http-title', output: 'Welcome', nodes: [] }] },
  ],
  firstSeen: '2026-01-01T00:00:00.000Z',
  lastSeen: '2026-01-02T00:00:00.000Z',
};
const hostsPath = `GET /projects/${PROJECT.id}/hosts`;

function ledgerRoutes(extra: Record<string, unknown> = {}) {
  return {
    'GET /projects': { items: [project(PROJECT), project(OTHER)] },
    [hostsPath]: { items: [hostRow('10.0.0.1', [[22, 'ssh'], [80, 'http']], ['web.example']), hostRow('10.0.0.2', [[443, 'https']])], nextCursor: null },
    [`GET /projects/${OTHER.id}/hosts`]: { items: [], nextCursor: null },
    [`GET /projects/${PROJECT.id}/hosts/10.0.0.1`]: detail,
    [`GET /projects/${PROJECT.id}/history`]: { items: [{ ip: '10.0.0.1', proto: 'tcp', port: 80, field: 'service.product', old: 'Apache', new: 'nginx', eventId: 'e1', observedAt: '2026-01-02T00:00:00.000Z', source: { kind: 'import', importId: 'abcdef12-0000' } }], nextCursor: null },
    ...extra,
  };
}

afterEach(() => cleanup());

describe('Table', () => {
  it('narrows free-text columns before short ones so the row fits', () => {
    const widths = columnWidths(['ip', 'seen', 'hostnames'], [['10.0.0.1', '2026-01-01 00:00:00', 'a'.repeat(60)]], 50);
    expect(widths[0]).toBe(8);
    expect(widths[1]).toBe(19);
    expect(widths.reduce((a, w) => a + w, 0) + 4).toBeLessThanOrEqual(50);
  });

  it('keeps the selected row inside the visible window', () => {
    expect(windowOf(100, 0, 10)).toEqual([0, 10]);
    expect(windowOf(100, 50, 10)).toEqual([45, 55]);
    expect(windowOf(100, 99, 10)).toEqual([90, 100]);
    expect(windowOf(3, 2, 10)).toEqual([0, 3]);
  });

  it('renders upper-case headers, marks the selection and cuts long cells with an ellipsis', () => {
    const { lastFrame } = renderWith(<Table headers={['ip', 'banner']} rows={[['10.0.0.1', 'x'.repeat(200)], ['10.0.0.2', 'short']]} selected={1} height={5} width={40} />, { api: fakeApi({}) });
    const lines = lastFrame()!.split('\n');
    expect(lines[0]).toMatch(/^ {2}IP {8}BANNER/);
    expect(lines[1]).toMatch(/^ {2}10\.0\.0\.1 {2}x+…$/);
    expect(lines[2]).toMatch(/^› 10\.0\.0\.2 {2}short/);
    expect(Math.max(...lines.map((l) => l.length))).toBeLessThanOrEqual(40);
  });
});

describe('falcli ui', () => {
  it('opens on the hosts of the current project, moves with j/k and opens a host with enter; esc goes back', async () => {
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} size={{ columns: 80, rows: 24 }} />, { api: fakeApi(ledgerRoutes()) });
    let f = await waitForFrame(lastFrame, (x) => x.includes('10.0.0.2'));
    expect(f).toContain('acme');
    expect(f).toMatch(/› 10\.0\.0\.1 +2 +web\.example/);
    await press(stdin, 'j');
    expect(lastFrame()).toMatch(/› 10\.0\.0\.2 +1/);
    await press(stdin, 'k', KEY.enter);
    f = await waitForFrame(lastFrame, (x) => x.includes('OpenSSH'));
    expect(f).toMatch(/22\/tcp +open +ssh +OpenSSH 8\.9/);
    expect(f).toContain('http-title: Welcome');
    expect(f).toMatch(/service\.product +Apache → nginx/);
    await press(stdin, KEY.escape);
    f = await waitForFrame(lastFrame, (x) => x.includes('web.example') && x.includes('OPEN'));
    expect(f).not.toContain('OpenSSH');
  });

  it('filters the host list with / and clears the filter with esc', async () => {
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} />, { api: fakeApi(ledgerRoutes()) });
    await waitForFrame(lastFrame, (x) => x.includes('10.0.0.2'));
    await press(stdin, '/', 'h', 't', 't', 'p', 's');
    let f = lastFrame()!;
    expect(f).toContain('/ https');
    expect(f).toContain('10.0.0.2');
    expect(f).not.toContain('10.0.0.1');
    // While typing, q is text, not quit.
    await press(stdin, 'q');
    expect(lastFrame()).toContain('/ httpsq');
    await press(stdin, KEY.backspace, KEY.enter);
    expect(lastFrame()).toContain('(esc clears)');
    await press(stdin, KEY.escape);
    f = lastFrame()!;
    expect(f).toContain('10.0.0.1');
    expect(f).toContain('10.0.0.2');
  });

  it('without a project starts on the project list; enter picks one and shows its hosts', async () => {
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={null} />, { api: fakeApi(ledgerRoutes()) });
    let f = await waitForFrame(lastFrame, (x) => x.includes('lab'));
    expect(f).toContain('no project (p to pick)');
    expect(f).toMatch(/› +acme +admin\(owner\)/);
    await press(stdin, 'j', KEY.enter);
    f = await waitForFrame(lastFrame, (x) => x.includes("No hosts with open ports in 'lab'"));
    expect(f).toContain('falcli · dev · lab');
  });

  it('says a screen is not available on this server when its route is missing, and keeps working', async () => {
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} />, { api: fakeApi(ledgerRoutes()) });
    await waitForFrame(lastFrame, (x) => x.includes('10.0.0.2'));
    await press(stdin, '2');
    expect(await waitForFrame(lastFrame, (x) => x.includes('Scans: not available on this server yet.'))).toBeTruthy();
    await press(stdin, '3');
    expect(await waitForFrame(lastFrame, (x) => x.includes('Workers: not available on this server yet.'))).toBeTruthy();
    await press(stdin, '1');
    expect(await waitForFrame(lastFrame, (x) => x.includes('10.0.0.2'))).toBeTruthy();
  });

  it('shows scans with progress and the running targets of the selected scan', async () => {
    const scans = [
      { scanId: 'aaaaaaaa-1', status: 'running', createdAt: '2026-01-01T00:00:00Z', counts: { queued: 1, running: 1, done: 2, failed: 0, cancelled: 0, total: 4 } },
      { scanId: 'bbbbbbbb-2', status: 'done', createdAt: '2026-01-01T00:00:00Z', counts: { queued: 0, running: 0, done: 3, failed: 1, cancelled: 0, total: 4 } },
    ];
    const routes = {
      ...ledgerRoutes(),
      [`GET /projects/${PROJECT.id}/scans`]: { items: scans },
      [`GET /projects/${PROJECT.id}/scans/aaaaaaaa-1`]: { ...scans[0], running: [{ ip: '127.0.0.7', workerId: 'worker-eu-1', startedAt: new Date(Date.now() - 65_000).toISOString() }] },
      [`GET /projects/${PROJECT.id}/scans/bbbbbbbb-2`]: { ...scans[1], running: [] },
    };
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} />, { api: fakeApi(routes) });
    await press(stdin, '2');
    let f = await waitForFrame(lastFrame, (x) => x.includes('worker-eu-1'));
    expect(f).toMatch(/› aaaaaaaa +running +\[#{6}\.{6}\] +2\/4/);
    expect(f).toMatch(/127\.0\.0\.7 +worker-eu-1 .* 1:0[5-9]/);
    await press(stdin, 'j');
    f = await waitForFrame(lastFrame, (x) => x.includes('No running targets.'));
    expect(f).toMatch(/› bbbbbbbb +done +\[#{12}\] +4\/4 +1/);
  });

  it('starts a scan from the scans screen: targets, ports and profile; q inside the form is text', async () => {
    const posted: unknown[] = [];
    const routes = {
      ...ledgerRoutes(),
      [`GET /projects/${PROJECT.id}/scans`]: { items: [] },
      [`POST /projects/${PROJECT.id}/scans`]: (_u: URL, body: unknown) => {
        posted.push(body);
        return { status: 201, body: { scanId: 'cccccccc-3', status: 'queued', summary: { accepted: 2, queued: 2 }, counts: { queued: 2, total: 2 } } };
      },
    };
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} />, { api: fakeApi(routes) });
    await press(stdin, '2');
    await waitForFrame(lastFrame, (x) => x.includes('press s to start one'));
    await press(stdin, 's');
    await waitForFrame(lastFrame, (x) => x.includes('New scan'));
    await press(stdin, ...'127.0.0.1 127.0.0.q', KEY.backspace, '2', KEY.tab, ...'22,80', KEY.down);
    const form = lastFrame()!;
    expect(form).toMatch(/targets +127\.0\.0\.1 127\.0\.0\.2/);
    expect(form).toMatch(/ports +22,80/);
    expect(form).toMatch(/profile fast/);
    await press(stdin, KEY.enter);
    expect(await waitForFrame(lastFrame, (x) => x.includes('Scan cccccccc started'))).toContain('2 address(es) accepted, 2 queued.');
    expect(posted).toEqual([{ targets: ['127.0.0.1', '127.0.0.2'], profile: 'fast', config: { openPorts: { ports: '22,80' } } }]);
  });

  it('marks changes that arrive while watching the changes screen', async () => {
    let rows = [{ ip: '10.0.0.1', proto: 'tcp', port: 22, field: 'state', old: null, new: 'open', eventId: 'e1', observedAt: '2026-01-01T00:00:00.000Z', source: null }];
    const routes = { ...ledgerRoutes(), [`GET /projects/${PROJECT.id}/history`]: () => ({ items: rows, nextCursor: null }) };
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} />, { api: fakeApi(routes), intervalMs: 100 });
    await press(stdin, '4');
    let f = await waitForFrame(lastFrame, (x) => x.includes('22/tcp'));
    expect(f).not.toMatch(/\+ +2026/);
    rows = [{ ip: '10.0.0.9', proto: 'tcp', port: 8080, field: 'state', old: null, new: 'open', eventId: 'e2', observedAt: '2026-01-03T00:00:00.000Z', source: null }, ...rows];
    f = await waitForFrame(lastFrame, (x) => x.includes('10.0.0.9'));
    expect(f).toMatch(/\+ +2026-01-03 00:00:00 +10\.0\.0\.9 +8080\/tcp/);
    expect(f).toMatch(/ {3}2026-01-01 00:00:00 +10\.0\.0\.1/);
  });

  it('imports a report picked from the working directory, with the chosen mode, and shows the counts', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'falcli-ui-'));
    writeFileSync(join(dir, 'scan.xml'), '<?xml version="1.0"?><nmaprun scanner="nmap"></nmaprun>');
    const api = fakeApi({ ...ledgerRoutes(), [`GET /projects/${PROJECT.id}/imports/imp-1`]: { importId: 'imp-1', status: 'completed', counts: { hostsCreated: 3, hostsUpdated: 1, hostsUnchanged: 0, portsOpened: 7, portsClosed: 2, changes: 12 } } });
    const started: unknown[] = [];
    api.ledger.startImport = async (id, file, opts, onProgress) => {
      started.push({ id, file, opts });
      onProgress?.(file.size, file.size);
      return { importId: 'imp-1', status: 'applying' };
    };
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} />, { api, cwd: dir });
    await press(stdin, '5');
    expect(await waitForFrame(lastFrame, (x) => x.includes('scan.xml'))).toMatch(/› scan\.xml/);
    await press(stdin, KEY.right, KEY.right);
    expect(lastFrame()).toContain('also refresh service details');
    await press(stdin, KEY.enter);
    const f = await waitForFrame(lastFrame, (x) => x.includes('Imported scan.xml'));
    expect(f).toContain('hosts +3 created, 1 updated, 0 unchanged · ports +7 opened, 2 closed · 12 changes');
    expect(started).toEqual([{ id: PROJECT.id, file: { path: join(dir, 'scan.xml'), size: expect.any(Number) }, opts: { mode: 'update', trackHistory: true, force: false } }]);
  });

  it('refuses a file that is not an nmap report before uploading anything', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'falcli-ui-'));
    writeFileSync(join(dir, 'notes.xml'), '<notes>hello</notes>');
    const api = fakeApi(ledgerRoutes());
    let uploads = 0;
    api.ledger.startImport = async () => {
      uploads++;
      return { importId: 'x', status: 'applying' };
    };
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} />, { api, cwd: dir });
    await press(stdin, '5');
    await waitForFrame(lastFrame, (x) => x.includes('notes.xml'));
    await press(stdin, KEY.enter);
    expect(await waitForFrame(lastFrame, (x) => x.includes('is not an nmap XML report'))).toBeTruthy();
    expect(uploads).toBe(0);
  });

  it('shows the key help with ? and closes it with esc', async () => {
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} />, { api: fakeApi(ledgerRoutes()) });
    await waitForFrame(lastFrame, (x) => x.includes('10.0.0.2'));
    await press(stdin, '?');
    expect(lastFrame()).toMatch(/\/ +filter the list/);
    await press(stdin, KEY.escape);
    expect(lastFrame()).not.toContain('filter the list');
    expect(lastFrame()).toContain('10.0.0.2');
  });

  it('fits 80×24: no line wider than 80 columns and no more than 24 lines, on every screen', async () => {
    const many = { items: Array.from({ length: 60 }, (_, i) => hostRow(`10.0.1.${i}`, [[443, 'https'], [8443, 'https-alt']], [`host-${i}.very-long-subdomain.example.com`])), nextCursor: null };
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} size={{ columns: 80, rows: 24 }} />, { api: fakeApi({ ...ledgerRoutes(), [hostsPath]: many }) });
    await waitForFrame(lastFrame, (x) => x.includes('10.0.1.0'));
    for (const key of ['', '2', '3', '4', '5', 'p', '?']) {
      if (key) await press(stdin, key);
      const lines = lastFrame()!.split('\n');
      expect({ key, lines: lines.length <= 24 }).toEqual({ key, lines: true });
      expect({ key, width: Math.max(...lines.map((l) => [...l].length)) <= 80 }).toEqual({ key, width: true });
    }
  });

  it('quits with q', async () => {
    const onQuit = jest.fn();
    const { lastFrame, stdin } = renderWith(<App profileName="dev" initialProject={PROJECT} onQuit={onQuit} />, { api: fakeApi(ledgerRoutes()) });
    await waitForFrame(lastFrame, (x) => x.includes('10.0.0.2'));
    await press(stdin, 'q');
    await settle();
    expect(onQuit).toHaveBeenCalledTimes(1);
  });
});
