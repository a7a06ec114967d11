import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MikroORM } from '@mikro-orm/postgresql';
import type { Kafka } from 'kafkajs';
import { allTopics } from '#events';
import { createKafka, KafkaEnv, loadConfig } from '#platform';
import { call, upload } from '../support/ledger-app.js';
import { nmapReport } from '../support/nmap-fixtures.js';
import { readTopics } from '../support/read-topics.js';
import { startSecureBroker, type SecureBroker } from '../support/secure-kafka.js';
import { createTestDatabase, eventually, testPrefix } from '../support/stack.js';

// The built apps as processes, configured as in production: Kafka over TLS with SCRAM, PostgreSQL
// as a least-privilege role with a password. After admin bootstrap, users and tokens, failed
// authentications, an import and a loopback scan, no app log and no message of any falcoria topic
// holds a token, a token's secret, the database password or the Kafka password.

const freePort = (host = '127.0.0.1'): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

/** `fal_<id>_<secret>` → the secret part. */
const secretOf = (token: string) => /^fal_[a-z2-7]+_([a-z2-7]+)$/.exec(token)![1];

describe('secrets never reach logs or events', () => {
  const prefix = testPrefix();
  const logDir = mkdtempSync(join(tmpdir(), 'falcoria-leak-'));
  const apps = new Map<string, ChildProcess>();
  const secrets = new Map<string, string>(); // value → what it is
  let broker: SecureBroker;
  let env: Record<string, string>;
  let pgRole: string;
  let superUrl: string;
  let ledgerUrl: string;
  let taskerUrl: string;
  let listener: Server;
  let adminToken: string;

  const remember = (what: string, value: string) => {
    expect(value.length).toBeGreaterThanOrEqual(12);
    secrets.set(value, what);
  };

  function startApp(name: string, entry: string, extra: Record<string, string>): ChildProcess {
    const out = createWriteStream(join(logDir, `${name}.log`));
    const child = spawn(process.execPath, ['--disable-warning=TimeoutNegativeWarning', entry], { env: { ...process.env, ...env, LOG_LEVEL: 'debug', ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.pipe(out, { end: false });
    child.stderr!.pipe(out, { end: false });
    child.once('exit', () => out.end());
    apps.set(name, child);
    return child;
  }

  async function ready(url: string, name: string): Promise<void> {
    await eventually(
      async () => {
        const child = apps.get(name)!;
        if (child.exitCode !== null) throw new Error(`${name} exited (${child.exitCode}): ${readFileSync(join(logDir, `${name}.log`), 'utf8').slice(-2000)}`);
        return fetch(`${url}/ready`).then((r) => r.status).catch(() => 0);
      },
      (s) => s === 200,
      120_000,
    );
  }

  async function stopAll(): Promise<void> {
    for (const [, child] of apps) {
      if (child.exitCode !== null || child.signalCode !== null) continue;
      const gone = new Promise((r) => child.once('exit', r));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
      await gone;
      clearTimeout(timer);
    }
  }

  beforeAll(async () => {
    broker = await startSecureBroker();
    remember('the Kafka SCRAM password', broker.password);

    // A role like the one stack.sh makes: no superuser, owns only what it creates in its database.
    superUrl = await createTestDatabase();
    const db = /\/([^/?]+)(\?.*)?$/.exec(superUrl)![1];
    pgRole = `t_app_${randomBytes(4).toString('hex')}`;
    const pgPassword = randomBytes(16).toString('hex');
    remember('the PostgreSQL password', pgPassword);
    const admin = await MikroORM.init({ clientUrl: superUrl, entities: [], discovery: { warnWhenNoEntities: false } });
    await admin.em.fork().execute(`create role ${pgRole} login nosuperuser nocreatedb nocreaterole password '${pgPassword}'`);
    await admin.em.fork().execute(`grant connect, create, temporary on database ${db} to ${pgRole}`);
    await admin.close();
    const appDbUrl = superUrl.replace('postgres://postgres@', `postgres://${pgRole}:${pgPassword}@`);

    env = { ...broker.env(prefix), DATABASE_URL: appDbUrl };
    const boot = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'dist/apps/ledger-projector/src/admin.js', 'bootstrap'], { env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120_000 });
    adminToken = /shown once\): (\S+)/.exec(boot.stdout)?.[1] ?? '';
    if (!adminToken) throw new Error(`admin bootstrap failed: ${boot.stdout}${boot.stderr}`);
    // The token is printed once on stdout by design; what the command logs goes to stderr.
    const w = createWriteStream(join(logDir, 'admin-bootstrap.log'));
    w.end(boot.stderr);
    remember('the admin token', adminToken);
    remember('the admin token secret', secretOf(adminToken));

    const ledgerPort = await freePort();
    const taskerPort = await freePort();
    ledgerUrl = `http://127.0.0.1:${ledgerPort}`;
    taskerUrl = `http://127.0.0.1:${taskerPort}`;
    startApp('ledger', 'dist/apps/ledger-projector/src/main.js', { LEDGER_PORT: String(ledgerPort) });
    startApp('tasker', 'dist/apps/tasker/src/main.js', { TASKER_PORT: String(taskerPort) });
    startApp('worker', 'dist/apps/worker/src/main.js', { WORKER_PORT: String(await freePort()), WORKER_ID: 'leak-w1', WORKER_HEARTBEAT_SECONDS: '1' });
    await ready(ledgerUrl, 'ledger');
    await ready(taskerUrl, 'tasker');
  }, 400_000);

  afterAll(async () => {
    await stopAll();
    listener?.close();
    await broker?.stop();
    const admin = await MikroORM.init({ clientUrl: superUrl, entities: [], discovery: { warnWhenNoEntities: false } }).catch(() => undefined);
    await admin?.em.fork().execute(`drop owned by ${pgRole} cascade`).catch(() => undefined);
    await admin?.em.fork().execute(`drop role ${pgRole}`).catch(() => undefined);
    await admin?.close();
    if (!process.env.KEEP_LEAK_LOGS) rmSync(logDir, { recursive: true, force: true });
  });

  it('runs users, tokens, failed logins, an import and a scan, then finds none of the secrets anywhere', async () => {
    const admin = adminToken;
    await eventually(() => call(ledgerUrl, 'GET', '/auth/whoami', admin), (r) => r.status === 200, 30_000);

    // Users and tokens: created, issued, rotated, revoked.
    const alice = (await call(ledgerUrl, 'POST', '/users', admin, { username: 'alice' })).body as { id: string; token: string; tokenId: string };
    remember('alice’s first token', alice.token);
    remember('alice’s first token secret', secretOf(alice.token));
    const second = (await call(ledgerUrl, 'POST', `/users/${alice.id}/tokens`, admin, { label: 'ci' })).body as { tokenId: string; token: string };
    remember('alice’s second token', second.token);
    remember('alice’s second token secret', secretOf(second.token));
    const rotated = (await call(ledgerUrl, 'POST', `/users/${alice.id}/tokens/${second.tokenId}/rotate`, alice.token, {})).body as { tokenId: string; token: string };
    expect(rotated.token).toMatch(/^fal_/);
    remember('alice’s rotated token', rotated.token);
    remember('alice’s rotated token secret', secretOf(rotated.token));

    // Failed authentications, on both HTTP apps: a revoked token, a forged secret, junk.
    const base32 = (n: number) => Array.from(randomBytes(n), (b) => 'abcdefghijklmnopqrstuvwxyz234567'[b % 32]).join('');
    const forged = `fal_${alice.token.split('_')[1]}_${base32(52)}`;
    remember('a forged token', forged);
    remember('a forged token’s secret', secretOf(forged));
    for (const [base, path, bad] of [
      [ledgerUrl, '/auth/whoami', second.token],
      [ledgerUrl, '/auth/whoami', forged],
      [ledgerUrl, '/auth/whoami', 'fal_notatoken_0123456789abcdef'],
      [ledgerUrl, '/auth/whoami', secretOf(alice.token)],
      [taskerUrl, '/workers', second.token],
      [taskerUrl, '/workers', forged],
    ]) {
      const r = await call(base, 'GET', path, bad);
      expect(r.status).toBe(401);
      expect(r.text).not.toContain(bad); // nor in the error message that goes back
    }
    expect((await call(ledgerUrl, 'GET', '/projects', `${alice.token}x`)).status).toBe(401);

    // An import and a scan, by alice.
    const projectId = (await call(ledgerUrl, 'POST', '/projects', rotated.token, { name: 'leak-check' })).body.id as string;
    expect((await call(ledgerUrl, 'PUT', `/projects/${projectId}/scope`, rotated.token, { allow: ['127.0.0.0/8'], deny: [] })).status).toBe(200);
    const report = nmapReport([{ ip: '127.0.0.71', hostname: 'imported.test', ports: [{ port: 22, service: 'ssh', product: 'OpenSSH', version: '9.6' }] }], { services: '1-1000' });
    const imported = await upload(ledgerUrl, projectId, rotated.token, report, { mode: 'insert' });
    expect(imported.status).toBeLessThan(300);

    const port = await freePort('127.0.0.72');
    listener = createServer((c) => {
      c.on('error', () => undefined);
      c.end('SSH-2.0-OpenSSH_9.2p1 Debian-2\r\n');
    }).listen(port, '127.0.0.72');
    await eventually(() => call(taskerUrl, 'GET', '/workers', admin), (r) => JSON.stringify(r.body).includes('leak-w1'), 60_000);
    const scan = await call(taskerUrl, 'POST', `/projects/${projectId}/scans`, rotated.token, { targets: ['127.0.0.72'], config: { openPorts: { ports: String(port), timeoutSeconds: 60 }, services: false } });
    expect(scan.status).toBe(201);
    await eventually(() => call(taskerUrl, 'GET', `/projects/${projectId}/scans/${scan.body.scanId}`, rotated.token), (r) => r.body.status === 'done', 120_000);
    await eventually(() => call(ledgerUrl, 'GET', `/projects/${projectId}/hosts/127.0.0.72`, rotated.token), (r) => r.status === 200, 30_000);

    // A worker with a wrong Kafka password stops with a clear error that does not repeat it.
    const wrongPassword = `wrong-${randomBytes(8).toString('hex')}`;
    remember('a wrong Kafka password', wrongPassword);
    const rejected = startApp('worker-wrong-password', 'dist/apps/worker/src/main.js', { KAFKA_SASL_PASSWORD: wrongPassword, WORKER_PORT: String(await freePort()), WORKER_ID: 'leak-w2' });
    const code = await new Promise<number | null>((r) => rejected.once('exit', (c) => r(c)));
    expect(code).toBe(78);
    expect(readFileSync(join(logDir, 'worker-wrong-password.log'), 'utf8')).toContain(
      `worker: Kafka refused the credentials of user "${broker.username}" (scram-sha-512): SASL SCRAM SHA512 authentication failed`,
    );

    await stopAll();

    // Every message of every falcoria topic of this run, read from the start.
    const kafka: Kafka = createKafka(loadConfig(KafkaEnv, env), 'leak-reader');
    const topics = allTopics().map((t) => prefix + t.name);
    const records = await readTopics(kafka, topics, `${prefix}leak-reader`);
    expect(records.length).toBeGreaterThan(10);
    const messages = records.map(({ topic, partition, message }) => {
      const headers = Object.entries(message.headers ?? {}).map(([k, v]) => `${k}=${String(v)}`);
      return { where: `${topic}[${partition}]@${message.offset}`, text: [message.key?.toString('utf8'), message.value?.toString('utf8'), ...headers].join('\n') };
    });

    const logs = readdirSync(logDir).map((f) => ({ where: f, text: readFileSync(join(logDir, f), 'utf8') }));
    expect(logs.map((l) => l.where).sort()).toEqual(['admin-bootstrap.log', 'ledger.log', 'tasker.log', 'worker-wrong-password.log', 'worker.log']);
    expect(logs.find((l) => l.where === 'ledger.log')!.text.length).toBeGreaterThan(0);
    const hits: string[] = [];
    for (const { where, text } of [...logs, ...messages]) {
      for (const [value, what] of secrets) if (text.includes(value)) hits.push(`${what} in ${where}`);
    }
    // The search looks where the secrets would be: beside them are the public parts.
    expect(messages.filter((m) => m.text.includes(alice.tokenId)).length).toBeGreaterThan(0);
    expect(messages.filter((m) => m.text.includes('"alice"')).length).toBeGreaterThan(0);
    expect(secrets.size).toBe(13);
    expect(hits).toEqual([]);
  });
});
