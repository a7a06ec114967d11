import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import type { Resolver } from '#domain';
import { createHttpApp, createOrm } from '#platform';
import { startLedgerApp, type RunningApp } from '../support/ledger-app.js';
import { eventually } from '../support/stack.js';
import { falcli, profileFor, tempDir, type CliRun } from '../support/cli.js';

// falcli's scan and worker commands against a real tasker and ledger (in this process) and a real
// worker (a child process running nmap). Targets are loopback listeners only.
const noDns: Resolver = { resolve: async () => [] };

const freePort = (host: string): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('falcli: scans and workers', () => {
  let ledger: RunningApp;
  let tasker: INestApplication;
  let taskerUrl: string;
  let cfg: string;
  let dir: string;
  let worker: ChildProcess | undefined;
  let listener: Server;
  let port: number;
  const run = (args: string[]) => falcli(args, { configDir: cfg, cwd: dir });
  const ok = (r: CliRun) => {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return r.stdout;
  };
  const json = (r: CliRun) => JSON.parse(ok(r));

  beforeAll(async () => {
    ledger = await startLedgerApp();
    const { TaskerModule } = await import('../../apps/tasker/src/tasker.module.js');
    tasker = await createHttpApp(() => TaskerModule.register({ resolver: noDns }), { service: 'tasker', port: 0, title: 'test' });
    await tasker.listen(0, '127.0.0.1');
    taskerUrl = `http://127.0.0.1:${(tasker.getHttpServer().address() as { port: number }).port}`;
    cfg = await profileFor(ledger.url, ledger.adminToken, taskerUrl);
    dir = tempDir();
    port = await freePort('127.0.0.41');
    listener = createServer((c) => {
      c.on('error', () => undefined);
      c.end('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n');
    }).listen(port, '127.0.0.41');
    writeFileSync(join(dir, 'scan.yaml'), `description: one loopback port\nhosts:\n  - 127.0.0.41\nopenPorts:\n  ports: "${port}"\n  timeoutSeconds: 60\nservices: false\n`);
    writeFileSync(join(dir, 'targets.txt'), '# loopback only\n127.0.0.42\n127.0.0.43\n');
    ok(await run(['project', 'create', 'scans', '--json']));
    ok(await run(['project', 'scope', 'set', '--allow', '127.0.0.0/8']));
  });

  afterAll(async () => {
    if (worker && worker.exitCode === null) {
      const gone = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGKILL');
      await gone;
    }
    listener?.close();
    await tasker?.close();
    await ledger?.close();
  });

  it('scan profiles lists the shipped profiles', async () => {
    const out = ok(await run(['scan', 'profiles']));
    expect(out.split('\n')[0]).toMatch(/^PROFILE +DESCRIPTION$/);
    expect(json(await run(['scan', 'profiles', '--json'])).map((p: { name: string }) => p.name)).toEqual(expect.arrayContaining(['default', 'fast', 'udp', 'web']));
  });

  it('workers says none are online before any started', async () => {
    const r = await run(['workers']);
    expect([r.code, r.stderr]).toEqual([0, '[!] No workers online.\n']);
  });

  it('with no worker, a scan stays queued; status shows it; cancel and stop cancel it', async () => {
    const started = await run(['scan', 'start', '--targets-file', 'targets.txt', '-c', 'scan.yaml', '--mode', 'update']);
    expect(started.code).toBe(0);
    const scanId = /Scan (\S+) started/.exec(started.stdout)![1];
    expect(started.stdout).toMatch(/Scan Settings\n +Scan profile +: default\n +Import mode +: update\n +Scan config +: scan\.yaml/);
    expect(started.stdout).toMatch(/Targets provided +: 2\n.*\n.*\n.*\n +Refused +: 0\n +Accepted +: 2\n/);

    const status = ok(await run(['scan', 'status', scanId]));
    expect(status).toMatch(/Tasks total +: \d+\n +Running +: 0\n +Queued +: [1-9]/);
    expect(status).toContain('No running targets.');
    const list = ok(await run(['scan', 'list']));
    expect(list.split('\n')[0]).toMatch(/^SCAN_ID +STATUS +TOTAL +RUNNING +QUEUED +DONE +FAILED +CREATED \(UTC\)$/);
    expect(list).toMatch(new RegExp(`${scanId} +queued`));

    const c = ok(await run(['scan', 'cancel', scanId]));
    expect(c).toMatch(new RegExp(`^\\[\\+\\] Cancelled scan ${scanId}: [1-9] task\\(s\\) \\([1-9] queued, 0 running\\)\\.\\n$`));
    expect((await eventually(async () => json(await run(['scan', 'show', scanId, '--json'])), (v) => v.counts.cancelled > 0, 20000)).counts.queued).toBe(0);

    const again = json(await run(['scan', 'start', '--hosts', '127.0.0.44', '-c', 'scan.yaml', '--json']));
    const stop = await run(['scan', 'stop', '--yes']);
    expect(stop.code).toBe(0);
    expect(stop.stdout).toMatch(/Scans stopped for project 'scans'.*\nCancelled [1-9] task\(s\): [1-9] queued, 0 running, in 1 scan\(s\)\./);
    expect(json(await run(['scan', 'list', '--json'])).find((s: { scanId: string }) => s.scanId === again.scanId).status).toBe('cancelled');
  });

  it('refuses bad configs and targets: locally (exit 7) or by the tasker (exit 6)', async () => {
    writeFileSync(join(dir, 'bad.yaml'), 'openPorts:\n  rawArgs: "-iL /etc/passwd"\n');
    const bad = await run(['scan', 'start', '--hosts', '127.0.0.1', '-c', 'bad.yaml']);
    expect(bad.code).toBe(7);
    expect(bad.stderr).toContain('scan config bad.yaml is invalid: openPorts.rawArgs');
    const none = await run(['scan', 'start']);
    expect(none.code).toBe(2);
    const injected = await run(['scan', 'start', '--hosts', '127.0.0.1;id']);
    expect(injected.code).toBe(6);
    expect(injected.stderr).toMatch(/the tasker rejected the request: .*\(400\)/);
    expect((await run(['scan', 'show', '00000000-0000-4000-8000-000000000000'])).code).toBe(4);
  });

  it('project policy set/show/clear and the emergency stop: scan stop --all --now, scan resume --all', async () => {
    const set = ok(await run(['project', 'policy', 'set', '--budget', '127.0.0.0/8:1:200', '--window', '22:00-06:00', '--tz', 'Europe/Berlin']));
    expect(set).toContain("Scan policy of project 'scans' set.");
    expect(set).toMatch(/window +: 22:00-06:00 Europe\/Berlin \((open|closed) now/);
    expect(set).toMatch(/127\.0\.0\.0\/8 +1 +200 +0 +0/);
    expect(json(await run(['project', 'policy', 'show', '--json'])).policy).toEqual({ budgets: [{ cidr: '127.0.0.0/8', maxHosts: 1, maxPps: 200 }], window: { start: '22:00', end: '06:00', timeZone: 'Europe/Berlin' } });
    const bad = await run(['project', 'policy', 'set', '--budget', '127.0.0.0/33:1']);
    expect(bad.code).toBe(6);
    expect(bad.stderr).toContain('budgets[0].cidr');
    ok(await run(['project', 'policy', 'clear']));
    expect(json(await run(['project', 'policy', 'show', '--json'])).policy).toEqual({ budgets: [], window: null });

    expect((await run(['scan', 'stop', '--all'])).code).toBe(2);
    const stop = ok(await run(['scan', 'stop', '--all', '--now', '--reason', 'cli e2e', '--yes']));
    expect(stop).toMatch(/Emergency stop active since \S+ \(by admin\)/);
    const held = json(await run(['scan', 'start', '--hosts', '127.0.0.45', '-c', 'scan.yaml', '--json']));
    const status = ok(await run(['scan', 'status', held.scanId]));
    expect(status).toMatch(/1 task\(s\) waiting: emergency stop since /);
    const workers = await run(['workers']);
    expect(workers.stderr).toContain('Emergency stop active since');
    expect(ok(await run(['scan', 'resume', '--all']))).toContain('Emergency stop released');
    ok(await run(['scan', 'cancel', held.scanId]));
  });

  it('with a worker, scan start --wait follows the scan to the end and the host lands in the ledger', async () => {
    worker = spawn(process.execPath, ['dist/apps/worker/src/main.js'], {
      env: { ...process.env, KAFKA_TOPIC_PREFIX: ledger.prefix, WORKER_ID: 'cli-e2e-w1', WORKER_PORT: String(await freePort('127.0.0.1')), WORKER_HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    await eventually(async () => (await run(['workers', '--json'])).stdout, (out) => out.includes('cli-e2e-w1'), 60000);
    const w = ok(await run(['workers']));
    expect(w.split('\n')[0]).toMatch(/^WORKER +HOSTNAME +EGRESS_IP +VERSION +STATUS +LAST_SEEN +CURRENT_TASK$/);
    expect(w).toMatch(/cli-e2e-w1 .* (idle|busy) +\d+ sec ago/);
    expect(w).toContain('1 worker online.');

    const r = await run(['scan', 'start', '-c', 'scan.yaml', '--from-config', '--wait', '--interval', '1']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/remaining 0\/1 done 1 failed 0/);
    expect(r.stdout).toMatch(/\[\+\] Scan \S+ finished\.\n$/);
    const hosts = await eventually(async () => (await run(['project', 'ips', 'list', '--json'])).stdout, (out) => out.includes('127.0.0.41'), 30000);
    expect(JSON.parse(hosts)[0]).toMatchObject({ ip: '127.0.0.41', ports: [{ port, state: 'open' }] });
  });

  it('scan start --gaps without targets takes the scope and the known hosts and skips what is covered', async () => {
    // 127.0.0.41 was scanned on `port` above; the scope's 127.0.0.0/8 is too large to list and is counted as refused.
    const orm = await createOrm(ledger.databaseUrl, 1);
    await eventually(() => orm.em.fork().execute(`select 1 from tasker_ledger.coverage where ip = '127.0.0.41'`), (rows) => rows.length === 1, 30000);
    await orm.close();
    // Another profile than above, so not a resume of that command (already_done): coverage alone skips it.
    const r = await run(['scan', 'start', '--gaps', '-c', 'scan.yaml', '--scan-profile', 'fast']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/Skipped as covered +: 1\n/);
    expect(r.stdout).toMatch(/Dedup +: coverage \(gaps: scope and known hosts\)/);
    expect(r.stdout).toMatch(/Accepted +: 1\n/);
    expect(r.stdout).toMatch(/Tasks +: 0\n/);
    const j = json(await run(['scan', 'start', '--gaps', '-c', 'scan.yaml', '--scan-profile', 'fast', '--json']));
    expect(j).toMatchObject({ status: 'done', targetsFrom: { knownHosts: 1, scopeEntries: 1, leftOut: [] }, summary: { dedup: 'coverage', skipped: { covered: 1 }, partiallyCovered: 0 } });
    expect((await run(['scan', 'start', '--gaps', '--rescan'])).code).toBe(2);
  });
});
