import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { call, startLedgerApp, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { closedPort, falcli, profileFor, tempDir, type CliRun } from '../support/cli.js';

// falcli's host commands against a real ledger: import with progress, list/get/history, search,
// facets, export, audit, delete, rebuild and checksum. The tasker is not part of this stack: the
// profile points its tasker URL at the ledger, which answers "Cannot GET" for tasker routes, so the
// scan commands are checked for their "not available on this server yet" path (exit 9).
describe('falcli: hosts, imports, exports and the ledger', () => {
  let s: RunningApp;
  let cfg: string;
  let dir: string;
  let projectId: string;
  const run = (args: string[], env: Record<string, string> = {}) => falcli(args, { configDir: cfg, env, cwd: dir });
  const ok = (r: CliRun) => {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return r.stdout;
  };
  const json = (r: CliRun) => JSON.parse(ok(r));

  const first = nmapReport(
    [
      { ip: '10.0.0.1', hostname: 'web.example', ports: [{ port: 22, service: 'ssh', product: 'OpenSSH', version: '8.9' }, { port: 80, service: 'http', product: 'nginx', version: '1.18', script: { id: 'http-title', output: 'Welcome' } }] },
      { ip: '10.0.0.2', ports: [{ port: 443, service: 'https', product: 'Apache httpd' }] },
    ],
    { services: '1-1000' },
  );
  const second = nmapReport([{ ip: '10.0.0.1', hostname: 'web.example', ports: [{ port: 22, service: 'ssh', product: 'OpenSSH', version: '9.6' }] }], { services: '1-1000', start: 1795400000 });

  beforeAll(async () => {
    s = await startLedgerApp();
    cfg = await profileFor(s.url, s.adminToken);
    dir = tempDir();
    writeFileSync(join(dir, 'first.xml'), first);
    writeFileSync(join(dir, 'second.xml'), second);
    writeFileSync(join(dir, 'notes.txt'), 'not a report\n');
    writeFileSync(join(dir, 'truncated.xml'), first.slice(0, first.indexOf('</host>') + 20));
    projectId = json(await run(['project', 'create', 'acme', '--json'])).id;
  });
  afterAll(() => s?.close());

  it('imports a report, waits until it is applied and prints the counts', async () => {
    const r = await run(['project', 'ips', 'import', '-f', 'first.xml', '--mode', 'replace', '--progress']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[\+\] Imported into project 'acme' \(import [0-9a-f-]{36}, mode replace\)\.\n/);
    expect(r.stdout).toMatch(/hosts in report +: 2\n +hosts created +: 2\n +hosts updated +: 0\n +hosts unchanged +: 0\n +ports opened +: 3/);
    // --progress draws the upload bar on stderr (a line per update when not a terminal).
    expect(r.stderr).toMatch(/upload \[#+\] +100% +\d+(\.\d)? KB\/\d+(\.\d)? KB/);
  });

  it('says a repeated report changed nothing; --force applies it again', async () => {
    const dup = await run(['project', 'ips', 'import', 'first.xml', '--mode', 'replace']);
    expect(dup.code).toBe(0);
    expect(dup.stderr).toMatch(/already imported into 'acme' \(import [0-9a-f-]{36}\); nothing changed\. Re-apply with --force\./);
    const forced = json(await run(['project', 'ips', 'import', 'first.xml', '--mode', 'replace', '--force', '--json']));
    expect(forced).toMatchObject({ status: 'completed', counts: { hostsCreated: 0, hostsUnchanged: 2 } });
  });

  it('refuses bad files locally (exit 7) and reports the ledger’s refusal of a broken one (exit 6)', async () => {
    const missing = await run(['project', 'ips', 'import', 'nope.xml']);
    expect([missing.code, missing.stderr]).toEqual([7, '[-] no such file: nope.xml\n']);
    const text = await run(['project', 'ips', 'import', 'notes.txt']);
    expect(text.code).toBe(7);
    expect(text.stderr).toContain('notes.txt is not an nmap XML report');
    const truncated = await run(['project', 'ips', 'import', 'truncated.xml']);
    expect(truncated.code).toBe(6);
    expect(truncated.stderr).toMatch(/the ledger rejected the request: .+ \(422\)/);
  });

  it('--no-wait returns the import id; import-status --wait follows it; imports lists them', async () => {
    const started = json(await run(['project', 'ips', 'import', 'second.xml', '--mode', 'update', '--no-wait', '--json']));
    expect(started).toMatchObject({ status: 'applying', importId: expect.any(String) });
    const done = json(await run(['project', 'ips', 'import-status', started.importId, '--wait', '--json']));
    expect(done).toMatchObject({ importId: started.importId, status: 'completed', counts: { hostsUpdated: 1 } });
    const list = ok(await run(['project', 'ips', 'imports']));
    expect(list.split('\n')[0]).toMatch(/^IMPORT_ID +STATUS +MODE +FILE +HOSTS +CREATED +UPDATED +CHANGES +STARTED \(UTC\)$/);
    expect(list).toMatch(new RegExp(`${started.importId} +completed +update +second\\.xml +1 +0 +1`));
    expect(list.trim().split('\n')).toHaveLength(4);
  });

  it('ips list shows hosts with their open ports; filters and --json', async () => {
    const out = ok(await run(['project', 'ips', 'list']));
    expect(out.split('\n')).toEqual([
      expect.stringMatching(/^IP +OPEN +PORTS +HOSTNAMES +LAST_SEEN$/),
      expect.stringMatching(/^10\.0\.0\.1 +2 +22\/tcp, 80\/tcp +web\.example +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d$/),
      expect.stringMatching(/^10\.0\.0\.2 +1 +443\/tcp +- +/),
      '',
    ]);
    expect(json(await run(['project', 'ips', 'list', '--service', 'https', '--json'])).map((h: { ip: string }) => h.ip)).toEqual(['10.0.0.2']);
    expect(json(await run(['project', 'ips', 'list', '--cidr', '10.0.0.0/31', '--json'])).map((h: { ip: string }) => h.ip)).toEqual(['10.0.0.1']);
    expect(json(await run(['project', 'ips', 'list', '--limit', '1', '--json']))).toHaveLength(1);
    const bad = await run(['project', 'ips', 'list', '--cidr', '10.0.0.0/99']);
    expect(bad.code).toBe(6);
  });

  it('ips get prints the original block format, with banners and scripts', async () => {
    const out = ok(await run(['project', 'ips', 'get', '10.0.0.1']));
    expect(out).toMatch(/^IP: 10\.0\.0\.1\nStatus {3}: up\nOS {7}: -\nHostnames: web\.example\n/);
    expect(out).toMatch(/PORT +PROTO +STATE +SERVICE +BANNER\n22 +tcp +open +ssh +OpenSSH 9\.6\n80 +tcp +open +http +nginx 1\.18/);
    expect(out).toContain('80/tcp http-title: Welcome');
    const all = ok(await run(['project', 'ips', 'get']));
    expect(all.split('\n\n\n')).toHaveLength(2);
    expect(json(await run(['project', 'ips', 'get', '10.0.0.2', '--json']))).toMatchObject({ ip: '10.0.0.2', ports: [{ port: 443, service: { product: 'Apache httpd' } }] });
    const missing = await run(['project', 'ips', 'get', '10.9.9.9']);
    expect([missing.code, missing.stderr]).toEqual([4, '[-] not found: host 10.9.9.9 not found in this project\n']);
  });

  it('history shows old → new with the import that made the change; empty is not an error', async () => {
    const out = ok(await run(['history', '10.0.0.1', '--field', 'service.version']));
    expect(out).toMatch(/^IP +PORT +PROTO +CHANGE +OLD → NEW +OBSERVED \(UTC\) +SOURCE\n10\.0\.0\.1 +22 +tcp +service\.version +8\.9 → 9\.6 +\S+ \S+ +import:[0-9a-f]{8}\n/);
    expect(ok(await run(['project', 'ips', 'history', '10.0.0.2', '--json'])).length).toBeGreaterThan(2);
    const none = await run(['history', '10.0.0.2', '--field', 'service.version']);
    expect([none.code, none.stdout, none.stderr]).toEqual([0, '', "[!] No changes found in project 'acme' for 10.0.0.2.\n"]);
  });

  it('explain tells the story of a port; coverage shows scanned and never-scanned ranges', async () => {
    const out = ok(await run(['explain', '10.0.0.1:22']));
    const lines = out.trim().split('\n');
    expect(lines[0]).toBe('10.0.0.1:22/tcp  open  ssh OpenSSH 9.6');
    expect(lines[1]).toMatch(/^ {3}1\. .*host: — → present — appeared/);
    expect(lines[2]).toMatch(/^ {3}2\. .*state: — → open — .*replace import/);
    expect(lines.at(-1)).toMatch(/service\.version: 8\.9 → 9\.6/);
    expect(json(await run(['explain', '10.0.0.1:22/tcp', '--json']))).toMatchObject({ ip: '10.0.0.1', port: 22, classification: 'open' });
    expect((await run(['explain', '10.0.0.1'])).code).toBe(2);
    expect((await run(['explain', '10.9.9.9:22'])).code).toBe(4);

    const cov = ok(await run(['coverage']));
    expect(cov.split('\n')[0]).toMatch(/^IP +PROTO +SCANNED +LAST SCANNED \(UTC\) +STALE +NEVER SCANNED$/);
    expect(cov).toMatch(/10\.0\.0\.1 +tcp +1-1000 +\S+ \S+ +- +1001-65535/);
    expect(cov).toMatch(/10\.0\.0\.2 +tcp +1-1000 /);
    expect(ok(await run(['coverage', '--stale', '2099-01-01T00:00:00Z']))).toMatch(/10\.0\.0\.2 +tcp +1-1000 +\S+ \S+ +1-1000 +1001-65535/);
  });

  it('diff shows what changed since an import, as a table, JSON or ndiff-like text', async () => {
    const imports = json(await run(['project', 'ips', 'imports', '--json'])) as Array<{ importId: string; fileName: string; status: string }>;
    const firstImport = imports.filter((i) => i.fileName === 'first.xml' && i.status === 'completed').at(-1)!;
    const out = ok(await run(['diff', '--from', firstImport.importId]));
    expect(out).toMatch(/^Changes in 'acme' from \S+ \S+ to \S+ \S+ \(UTC\)\n/);
    expect(out).toMatch(/service changes +: 1\n/);
    expect(out).toMatch(/~ +10\.0\.0\.1 +22\/tcp +service\.version +8\.9 → 9\.6/);
    expect(json(await run(['diff', '--from', firstImport.importId, '--json'])).serviceChanges).toEqual([{ ip: '10.0.0.1', proto: 'tcp', port: 22, field: 'service.version', old: '8.9', new: '9.6' }]);
    expect(ok(await run(['diff', '--since', '3650d', '--ndiff']))).toMatch(/^-Falcoria ledger .*\n\+Falcoria ledger .*\n\n\+10\.0\.0\.1:\n/);
    expect((await run(['diff'])).code).toBe(2);
    expect((await run(['diff', '--since', 'yesterday-ish'])).code).toBe(2);
  });

  it('search holds each clause on one port; facets count by service', async () => {
    expect(json(await run(['search', '--all-of', 'port=22,product=OpenSSH', '--json'])).map((h: { ip: string }) => h.ip)).toEqual(['10.0.0.1']);
    expect(json(await run(['search', '--all-of', 'port=443,product=OpenSSH', '--json']))).toEqual([]);
    expect(json(await run(['search', '--any-of', 'service=https', '--any-of', 'service=ssh', '--none-of', 'port=80', '--json'])).map((h: { ip: string }) => h.ip)).toEqual(['10.0.0.2']);
    const table = ok(await run(['search', '--all-of', 'service=http']));
    expect(table).toMatch(/^IP +OPEN +PORTS +HOSTNAMES +LAST_SEEN\n10\.0\.0\.1 /);
    const facets = json(await run(['facets', '--field', 'service', '--json']));
    expect(facets).toEqual({ service: [{ value: 'http', count: 1 }, { value: 'https', count: 1 }, { value: 'ssh', count: 1 }] });
    expect(ok(await run(['facets', '--field', 'port', '--top', '1']))).toMatch(/^PORT +HOSTS\n\d+\/tcp +1\n/);
  });

  it('export streams to stdout; download writes a file that re-imports', async () => {
    expect(ok(await run(['export', '--format', 'ipport']))).toBe('10.0.0.1:22\n10.0.0.1:80\n10.0.0.2:443\n');
    const csv = ok(await run(['export', '--format', 'csv', '--service', 'ssh']));
    expect(csv.split('\n')[0]).toBe('ip,hostnames,proto,port,state,service,product,version,extrainfo');
    expect(csv).toContain('10.0.0.1,web.example,tcp,22,open,ssh,OpenSSH,9.6,');
    const d = await run(['project', 'ips', 'download', '-o', 'acme.xml']);
    expect(d.stdout).toBe("[+] Exported project 'acme' as xml.\nSaved to: acme.xml\n");
    expect(readFileSync(join(dir, 'acme.xml'), 'utf8')).toMatch(/<nmaprun[\s\S]*10\.0\.0\.2[\s\S]*<\/nmaprun>/);
    const other = json(await run(['project', 'create', 'copy', '--json']));
    const re = json(await run(['project', 'ips', 'import', 'acme.xml', '-p', 'copy', '--json']));
    expect(re).toMatchObject({ status: 'completed', counts: { hostsCreated: 2, portsOpened: 3 } });
    expect(json(await run(['project', 'ips', 'list', '-p', other.id, '--json'])).map((h: { ip: string }) => h.ip)).toEqual(['10.0.0.1', '10.0.0.2']);
    const unwritable = await run(['export', '-o', join(dir, 'no', 'such', 'dir.xml')]);
    expect(unwritable.code).toBe(7);
  });

  it('audit lists the event trail of a host', async () => {
    const out = ok(await run(['audit', '10.0.0.1']));
    expect(out.split('\n')[0]).toMatch(/^OCCURRED \(UTC\) +TYPE +SOURCE +ACTOR +EVENT_ID$/);
    expect(out).toMatch(/HostObserved +import:[0-9a-f]{8} +user:/);
    expect((await run(['audit', '10.9.9.9'])).code).toBe(4);
  });

  it('--as-of reads the past (a time or an import id); audit replay agrees with it', async () => {
    const imports = json(await run(['project', 'ips', 'imports', '--json'])) as Array<{ importId: string; fileName: string; status: string; startedAt: string; completedAt: string }>;
    const firstImport = imports.filter((i) => i.fileName === 'first.xml' && i.status === 'completed').at(-1)!;
    const ssh = (host: any) => host.ports.find((p: any) => p.port === 22).service.version;
    expect(ssh(json(await run(['project', 'ips', 'get', '10.0.0.1', '--as-of', firstImport.importId, '--json'])))).toBe('8.9');
    expect(ssh(json(await run(['project', 'ips', 'get', '10.0.0.1', '--json'])))).toBe('9.6');
    expect(ok(await run(['project', 'ips', 'list', '--as-of', firstImport.importId]))).toMatch(/10\.0\.0\.2/);
    const before = new Date(Date.parse(imports.at(-1)!.startedAt) - 1000).toISOString();
    expect(json(await run(['project', 'ips', 'list', '--as-of', before, '--json']))).toEqual([]);
    expect((await run(['project', 'ips', 'list', '--as-of', 'last tuesday'])).code).toBe(2);
    const oldSsh = ['search', '--all-of', 'port=22,version=8.9', '--json'];
    expect(json(await run([...oldSsh, '--as-of', firstImport.importId])).map((h: { ip: string }) => h.ip)).toEqual(['10.0.0.1']);
    expect(json(await run(oldSsh))).toEqual([]);

    const r = await run(['audit', 'replay', '--until', new Date().toISOString()]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^replayed project 'acme' up to [\d-]+ [\d:]+: 2 hosts .*\nreplay checksum +([0-9a-f]{64})\nas-of checksum +\1\nequal: /);
    const j = json(await run(['audit', 'replay', '--until', firstImport.completedAt, '--json']));
    expect(j).toMatchObject({ equal: true, hosts: 2 });
    expect((await run(['audit', 'replay'])).code).toBe(2);
  });

  it('ledger checksum is the same after a rebuild', async () => {
    const before = ok(await run(['ledger', 'checksum'])).trim();
    expect(before).toMatch(/^\S{16,}$/);
    const r = await run(['ledger', 'rebuild', '--yes']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^\[\+\] Ledger rebuilt: \d+ event\(s\) in [\d.]+ s\.\n +checksum before +: (\S+)\n +checksum after +: \1\n$/);
    expect(ok(await run(['ledger', 'checksum'])).trim()).toBe(before);
  });

  it('delete removes one host, then all of them after confirmation', async () => {
    expect(ok(await run(['project', 'ips', 'delete', '10.0.0.2']))).toBe("[+] Deleted 10.0.0.2 from project 'acme'.\n");
    expect((await run(['project', 'ips', 'delete', '10.0.0.2'])).code).toBe(4);
    expect((await run(['project', 'ips', 'delete'])).code).toBe(2);
    expect(ok(await run(['project', 'ips', 'delete', '--yes']))).toBe("[+] Deleted 1 host(s) of project 'acme'.\n");
    for (let i = 0; i < 50 && (await call(s.url, 'GET', `/projects/${projectId}/hosts`, s.adminToken)).body.items.length; i++) await new Promise((r) => setTimeout(r, 100));
    const empty = await run(['project', 'ips', 'list']);
    expect([empty.code, empty.stderr]).toEqual([0, `[!] No hosts found in project 'acme' (${projectId}).\n`]);
  });

  it('the same errors on host commands: no server, bad token, unknown project', async () => {
    const port = await closedPort();
    const down = await run(['project', 'ips', 'list', '-p', projectId], { FALCLI_LEDGER_URL: `http://127.0.0.1:${port}` });
    expect(down.code).toBe(5);
    expect(down.stderr).toContain(`cannot reach the ledger at http://127.0.0.1:${port}`);
    const upload = await run(['project', 'ips', 'import', 'first.xml', '-p', projectId], { FALCLI_LEDGER_URL: `http://127.0.0.1:${port}` });
    expect(upload.code).toBe(5);
    expect((await run(['project', 'ips', 'import', 'first.xml'], { FALCLI_TOKEN: 'fal_wrong' })).code).toBe(3);
    expect((await run(['export'], { FALCLI_TOKEN: 'fal_wrong' })).code).toBe(3);
    const unknown = await run(['project', 'ips', 'import', 'first.xml', '-p', '00000000-0000-4000-8000-000000000000']);
    expect([unknown.code, unknown.stderr]).toEqual([4, '[-] not found: project 00000000-0000-4000-8000-000000000000 not found\n']);
    expect((await run(['history', '-p', '00000000-0000-4000-8000-000000000000'])).code).toBe(4);
  });

  it('commands whose routes this stack does not serve yet say so (exit 9)', async () => {
    for (const args of [['scan', 'list'], ['scan', 'start', '--hosts', '127.0.0.1'], ['scan', 'status'], ['workers']]) {
      const r = await run(args);
      expect({ args, code: r.code }).toEqual({ args, code: 9 });
      expect(r.stderr).toMatch(/^\[-\] not available on this server yet: the (tasker|ledger) at http:\/\/127\.0\.0\.1:\d+ does not serve (GET|POST) \//);
    }
  });
});
