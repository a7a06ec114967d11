import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { INestApplication } from '@nestjs/common';
import type { Resolver } from '#domain';
import { createHttpApp } from '#platform';
import { startLedgerApp, type RunningApp } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { eventually } from '../support/stack.js';
import { FALCLI, falcli, profileFor, tempDir } from '../support/cli.js';

const exec = promisify(execFile);
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

// `falcli ui` in a real terminal: tmux at 80×24 runs the built CLI against a ledger and a tasker in
// this process and a worker child running nmap. Keys go in with send-keys, the screen comes back with
// capture-pane. The drive: hosts → host detail → back, start a scan of a loopback listener from the
// scans screen and watch it finish, find the new host, switch project, quit with q.
describe('falcli ui in tmux', () => {
  const socket = `falcli-e2e-${randomBytes(4).toString('hex')}`;
  const tmux = (...args: string[]) => exec('tmux', ['-L', socket, ...args], { encoding: 'utf8' });
  const screen = async () => (await tmux('capture-pane', '-p', '-t', 'ui')).stdout;
  const keys = async (...k: string[]) => {
    for (const key of k) {
      await tmux('send-keys', '-t', 'ui', key);
      await new Promise((r) => setTimeout(r, 150));
    }
  };
  const see = (test: string | RegExp, timeoutMs = 20000) => eventually(screen, (s) => (typeof test === 'string' ? s.includes(test) : test.test(s)), timeoutMs);

  let ledger: RunningApp;
  let tasker: INestApplication;
  let worker: ChildProcess | undefined;
  let listener: Server;
  let port: number;

  beforeAll(async () => {
    ledger = await startLedgerApp();
    const { TaskerModule } = await import('../../apps/tasker/src/tasker.module.js');
    tasker = await createHttpApp(() => TaskerModule.register({ resolver: noDns }), { service: 'tasker', port: 0, title: 'test' });
    await tasker.listen(0, '127.0.0.1');
    const taskerUrl = `http://127.0.0.1:${(tasker.getHttpServer().address() as { port: number }).port}`;
    const cfg = await profileFor(ledger.url, ledger.adminToken, taskerUrl);
    const dir = tempDir();
    const cli = (args: string[]) => falcli(args, { configDir: cfg, cwd: dir });
    expect((await cli(['project', 'create', 'ui-main'])).code).toBe(0);
    expect((await cli(['project', 'create', 'ui-other'])).code).toBe(0);
    expect((await cli(['project', 'scope', 'set', '--allow', '127.0.0.0/8'])).code).toBe(0);
    writeFileSync(join(dir, 'seed.xml'), nmapReport([{ ip: '10.0.0.7', hostname: 'seed.example', ports: [{ port: 22, service: 'ssh', product: 'OpenSSH', version: '9.6' }] }], { services: '1-1000' }));
    expect((await cli(['project', 'ips', 'import', 'seed.xml'])).code).toBe(0);

    port = await freePort('127.0.0.61');
    listener = createServer((c) => {
      c.on('error', () => undefined);
      c.end('SSH-2.0-OpenSSH_9.2p1\r\n');
    }).listen(port, '127.0.0.61');
    worker = spawn(process.execPath, ['dist/apps/worker/src/main.js'], {
      env: { ...process.env, KAFKA_TOPIC_PREFIX: ledger.prefix, WORKER_ID: 'ui-e2e-w1', WORKER_PORT: String(await freePort('127.0.0.1')), WORKER_HEARTBEAT_SECONDS: '1', LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    await eventually(async () => (await cli(['workers', '--json'])).stdout, (o) => o.includes('ui-e2e-w1'), 60000);

    // ink renders only a final frame when it believes it runs in CI; this is a real terminal.
    const command = `env -u CI -u CONTINUOUS_INTEGRATION PATH='${process.env.PATH}' HOME='${cfg}' FALCLI_CONFIG_DIR='${cfg}' TERM=xterm-256color ${process.execPath} ${FALCLI} ui --interval 1; echo FALCLI_EXIT=$?; sleep 120`;
    await tmux('new-session', '-d', '-s', 'ui', '-x', '80', '-y', '24', '-c', dir, command);
  });

  afterAll(async () => {
    await tmux('kill-server').catch(() => undefined);
    if (worker && worker.exitCode === null) {
      const gone = new Promise((r) => worker!.once('exit', r));
      worker.kill('SIGKILL');
      await gone;
    }
    listener?.close();
    await tasker?.close();
    await ledger?.close();
  });

  it('navigates hosts, starts a scan and sees it complete, switches project and quits with q', async () => {
    let s = await see('10.0.0.7');
    expect(s).toContain('falcli · e2e · ui-main');
    expect(s).toMatch(/› 10\.0\.0\.7 +1 +seed\.example/);
    expect(s.split('\n').every((l) => l.length <= 80)).toBe(true);

    await keys('Enter');
    s = await see('OpenSSH 9.6');
    expect(s).toMatch(/22\/tcp +open +ssh +OpenSSH 9\.6/);
    expect(s).toContain('HISTORY (newest first)');
    await keys('Escape');
    await see(/› 10\.0\.0\.7/);

    await keys('2');
    await see('press s to start one');
    await keys('s');
    await see('New scan');
    await tmux('send-keys', '-t', 'ui', '-l', '127.0.0.61');
    await keys('Tab');
    await tmux('send-keys', '-t', 'ui', '-l', String(port));
    await keys('Enter');
    s = await see(/Scan \w{8} started: 1 address\(es\) accepted/);
    // The list and the detail refresh apart; both settle on the finished scan.
    // Wait for both to settle: the detail can lag the list by one poll.
    s = await see(/› \w{8} +done +\[#{12}\] +1\/1[\s\S]*\[#{20}\] {2}1\/1 · queued 0 · running 0 · failed 0[\s\S]*No running targets\./, 90000);
    expect(s).toMatch(/\[#{20}\] {2}1\/1 · queued 0 · running 0 · failed 0/);

    await keys('1');
    s = await see('127.0.0.61', 30000);
    expect(s).toMatch(new RegExp(`127\\.0\\.0\\.61 +1 +.*${port}/tcp`));

    await keys('p');
    await see('ui-other');
    await keys('j', 'Enter');
    s = await see("No hosts with open ports in 'ui-other' yet");
    expect(s).toContain('falcli · e2e · ui-other');

    await keys('q');
    s = await see('FALCLI_EXIT=');
    expect(s).toContain('FALCLI_EXIT=0');
    // The alternate screen is gone: the shell's screen is back, without the UI's frame.
    expect(s).not.toContain('1 Hosts  2 Scans');
  });
});
