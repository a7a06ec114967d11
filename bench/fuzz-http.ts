// npm run fuzz:http [-- --examples 25 --seed 1 --apps ledger,tasker]: schemathesis against every
// route of the ledger and the tasker, from their own OpenAPI documents, with an admin token and
// real ids (a project with hosts, imports and a queued scan, a second user). Checks: no 5xx
// (not_a_server_error) and no stack trace, source path or driver error in any body (no_stack_trace,
// bench/fuzz-http.hooks.py). Installs schemathesis into .cache/venv when missing.
//
// Both apps run in this process against their own database and topic prefix; the tasker resolves
// host names from a table (nothing goes to DNS) and the project's scope allows 127.0.0.0/8 only,
// so whatever scan the fuzzer manages to request can only be queued for loopback. No worker runs.
// Routes that would change the run itself (deletes, token rotation, rebuild, emergency stop) run
// after the others; webhook registration is left out (it would deliver to arbitrary URLs).
import 'reflect-metadata';
import { spawnSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { MikroORM } from '@mikro-orm/postgresql';
import kafkajs from 'kafkajs';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : dflt;
};
const EXAMPLES = Number(arg('examples', '25'));
const SEED = arg('seed', String(Date.now() % 100000));
const APPS = arg('apps', 'ledger,tasker').split(',');
const PHASES = arg('phases', 'examples,coverage,fuzzing');
const root = new URL('../..', import.meta.url).pathname;
const venv = join(root, '.cache/venv');
const st = join(venv, 'bin/st');
const brokers = process.env.KAFKA_BROKERS ?? '127.0.0.1:19092';
const dbBase = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:15432/falcoria';
const work = mkdtempSync(join(tmpdir(), 'falcoria-fuzz-http-'));
const log = (m: string) => process.stderr.write(`[fuzz:http] ${m}\n`);

function ensureSchemathesis(): void {
  if (existsSync(st)) return;
  log(`installing schemathesis into ${venv}`);
  const steps: [string, string[]][] = [
    ['python3', ['-m', 'venv', venv]],
    [join(venv, 'bin/pip'), ['install', '--quiet', '--disable-pip-version-check', 'schemathesis']],
  ];
  for (const [cmd, args] of steps) {
    const r = spawnSync(cmd, args, { stdio: 'inherit' });
    if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (is python3-venv installed?)`);
  }
}

// Application logs go to a file; internal errors (the public error filter logs every 5xx cause) are counted.
const appLog = join(work, 'apps.log');
let internalErrors = 0;
const origWrite = process.stdout.write.bind(process.stdout);
process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
  const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8');
  if (text.startsWith('{"time"')) {
    appendFileSync(appLog, text);
    if (/"level":"error"/.test(text) && /"context":"http"/.test(text)) internalErrors++;
    return true;
  }
  return (origWrite as (...a: unknown[]) => boolean)(chunk, ...rest);
}) as typeof process.stdout.write;

interface Fixtures {
  readonly token: string;
  readonly projects: string[];
  readonly users: string[];
  readonly imports: string[];
  readonly scans: string[];
  readonly ips: string[];
}

async function http(base: string, token: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { authorization: `Bearer ${token}`, ...(body !== undefined && !(body instanceof FormData) ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : body instanceof FormData ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: any = text;
  try {
    json = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: json };
}

async function until<T>(what: string, fn: () => Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v)) return v;
    if (Date.now() > end) throw new Error(`${what}: not ready after ${ms} ms (${JSON.stringify(v).slice(0, 300)})`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function fixtures(ledger: string, tasker: string, env: NodeJS.ProcessEnv): Promise<Fixtures> {
  const boot = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', join(root, 'dist/apps/ledger-projector/src/admin.js'), 'bootstrap'], { env, encoding: 'utf8' });
  const token = /shown once\): (\S+)/.exec(boot.stdout)?.[1];
  if (!token) throw new Error(`admin bootstrap failed: ${boot.stdout}${boot.stderr}`);
  await until('admin token', () => http(ledger, token, 'GET', '/auth/whoami'), (r) => r.status === 200);
  const projects: string[] = [];
  for (const name of ['fuzz-a', 'fuzz-b']) {
    const p = await http(ledger, token, 'POST', '/projects', { name });
    if (p.status !== 201) throw new Error(`create project: ${p.status} ${JSON.stringify(p.body)}`);
    projects.push(p.body.id);
    const scope = await http(ledger, token, 'PUT', `/projects/${p.body.id}/scope`, { allow: ['127.0.0.0/8'], deny: [] });
    if (scope.status >= 300) throw new Error(`set scope: ${scope.status} ${JSON.stringify(scope.body)}`);
  }
  const user = await http(ledger, token, 'POST', '/users', { username: 'fuzz-member', kind: 'user' });
  if (user.status !== 201) throw new Error(`create user: ${user.status} ${JSON.stringify(user.body)}`);
  await http(ledger, token, 'PUT', `/projects/${projects[0]}/members/${user.body.id}`, { role: 'member' });
  const ips = ['127.0.0.1', '127.0.0.2', '127.0.0.3'];
  const ports = (ip: string, i: number) =>
    `<host starttime="1795300000" endtime="1795300005"><status state="up"/><address addr="${ip}" addrtype="ipv4"/><hostnames><hostname name="h${i}.fuzz.test" type="PTR"/></hostnames><ports>` +
    `<port protocol="tcp" portid="22"><state state="open"/><service name="ssh" product="OpenSSH" version="9.6"/></port>` +
    `<port protocol="tcp" portid="80"><state state="open"/><service name="http" product="nginx"/><script id="http-title" output="Hello"/></port></ports></host>`;
  const xml = `<?xml version="1.0"?>\n<!DOCTYPE nmaprun>\n<nmaprun scanner="nmap" args="nmap -sV -p 1-1000 127.0.0.0/30" start="1795300000" version="7.94"><scaninfo type="syn" protocol="tcp" numservices="1000" services="1-1000"/>${ips.map(ports).join('')}<runstats><finished time="1795300010"/></runstats></nmaprun>\n`;
  const imports: string[] = [];
  for (const p of projects) {
    const form = new FormData();
    form.append('file', new Blob([xml]), 'fixture.xml');
    const r = await http(ledger, token, 'POST', `/projects/${p}/imports?wait=true&mode=replace`, form);
    if (r.status !== 202 || r.body.status !== 'completed') throw new Error(`fixture import: ${r.status} ${JSON.stringify(r.body)}`);
    imports.push(r.body.importId);
  }
  // The tasker learns the projects (and their scope) from the log; then one scan is queued.
  await until('tasker view', () => http(tasker, token, 'GET', `/projects/${projects[0]}/scans`), (r) => r.status === 200);
  const scan = await http(tasker, token, 'POST', `/projects/${projects[0]}/scans`, { targets: ['127.0.0.1', 'h1.fuzz.test'], config: { openPorts: { ports: '22,80' } } });
  if (scan.status >= 300) throw new Error(`fixture scan: ${scan.status} ${JSON.stringify(scan.body)}`);
  return { token, projects, users: [user.body.id], imports, scans: [scan.body.scanId], ips };
}

function configFile(f: Fixtures): string {
  const list = (xs: readonly string[]) => `[${xs.map((x) => JSON.stringify(x)).join(', ')}]`;
  const path = join(work, 'schemathesis.toml');
  writeFileSync(
    path,
    [
      `headers = { Authorization = "Bearer ${f.token}" }`,
      'request-timeout = 30.0',
      '[generation]',
      `max-examples = ${EXAMPLES}`,
      // Real ids most of the time, so requests get past "not found" into the handlers.
      '[parameters]',
      '"path.projectId" = { dictionary = "projects", probability = 0.8 }',
      '"path.userId" = { dictionary = "users", probability = 0.5 }',
      '"path.importId" = { dictionary = "imports", probability = 0.6 }',
      '"path.scanId" = { dictionary = "scans", probability = 0.6 }',
      '"path.ip" = { dictionary = "ips", probability = 0.6 }',
      '[dictionaries.projects]',
      `values = ${list(f.projects)}`,
      '[dictionaries.users]',
      `values = ${list(f.users)}`,
      '[dictionaries.imports]',
      `values = ${list(f.imports)}`,
      '[dictionaries.scans]',
      `values = ${list(f.scans)}`,
      '[dictionaries.ips]',
      `values = ${list(f.ips)}`,
      // The change feed is a server-sent event stream that stays open: read a few events, then move on.
      '[[operations]]',
      'include-path = "/projects/{projectId}/changes/stream"',
      'request-timeout = 2.0',
      'max-stream-events = 3',
      '',
    ].join('\n'),
  );
  return path;
}

interface PhaseResult {
  readonly app: string;
  readonly phase: string;
  readonly operations: number;
  readonly cases: number;
  readonly failures: string[];
  readonly exit: number | null;
  readonly seconds: number;
}

async function runSt(app: string, phase: string, base: string, config: string, filters: string[]): Promise<PhaseResult> {
  const junit = join(work, `${app}-${phase}.xml`);
  const args = [
    '--config-file', config, 'run', `${base}/docs/openapi.json`,
    '--checks', 'not_a_server_error,no_stack_trace',
    '--phases', PHASES, '--seed', SEED, '--workers', '1', '--no-color',
    '--generation-database', 'none',
    '--report', 'junit', '--report-junit-path', junit,
    ...filters,
  ];
  const t0 = performance.now();
  const out = await new Promise<{ code: number | null; text: string }>((resolve) => {
    const p = spawn(st, args, { env: { ...process.env, SCHEMATHESIS_HOOKS: join(root, 'bench/fuzz-http.hooks.py'), NO_COLOR: '1' } });
    let text = '';
    p.stdout.on('data', (c: Buffer) => (text += c.toString()));
    p.stderr.on('data', (c: Buffer) => (text += c.toString()));
    p.on('close', (code) => resolve({ code, text }));
  });
  writeFileSync(join(work, `${app}-${phase}.log`), out.text);
  const xml = existsSync(junit) ? readFileSync(junit, 'utf8') : '';
  const operations = (xml.match(/<testcase /g) ?? []).length;
  const failures = [...xml.matchAll(/<testcase [^>]*name="([^"]+)"[^>]*>\s*<(failure|error)[^>]*message="([^"]*)"/g)].map((m) => `${m[1]}: ${m[3].slice(0, 200)}`);
  // "N generated" in schemathesis' summary; JUnit only lists operations.
  const cases = Number(/(\d+) generated/.exec(out.text)?.[1] ?? NaN);
  if (/No operations matched the filters/.test(out.text)) return { app, phase, operations: 0, cases: 0, failures: [], exit: out.code, seconds: 0 };
  if (out.code !== 0 && failures.length === 0) failures.push(`schemathesis exited ${out.code}: ${out.text.split('\n').slice(-15).join(' | ')}`);
  return { app, phase, operations, cases, failures, exit: out.code, seconds: Math.round((performance.now() - t0) / 1000) };
}

async function main(): Promise<number> {
  ensureSchemathesis();
  const name = `fuzzhttp_${randomBytes(4).toString('hex')}`;
  const prefix = `fuzzhttp${randomBytes(3).toString('hex')}.`;
  const admin = await MikroORM.init({ clientUrl: dbBase.replace(/\/[^/?]+$/, '/postgres'), entities: [], discovery: { warnWhenNoEntities: false } });
  await admin.em.fork().execute(`create database ${name}`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    KAFKA_BROKERS: brokers,
    DATABASE_URL: dbBase.replace(/\/[^/?]+$/, `/${name}`),
    KAFKA_TOPIC_PREFIX: prefix,
    LOG_LEVEL: 'warn',
    // The fuzzer sends bad tokens on purpose; the limiter would turn its later requests into 429s.
    AUTH_FAILURES_PER_MINUTE: '1000000',
    // Keep whatever scan the fuzzer requests small: at most a /24 per input.
    TASKER_CIDR_CAP_V4: '24',
    TASKER_CIDR_CAP_V6: '120',
    TASKER_PLAN_WAIT_MS: '5000',
  };
  Object.assign(process.env, env);
  const apps: INestApplication[] = [];
  const results: PhaseResult[] = [];
  try {
    const { createHttpApp } = await import('#platform');
    const { LedgerModule } = await import('../apps/ledger-projector/src/ledger.module.js');
    const { TaskerModule } = await import('../apps/tasker/src/tasker.module.js');
    const start = async (mod: Parameters<typeof createHttpApp>[0], service: string) => {
      const app = await createHttpApp(mod, { service, port: 0, title: `Falcoria ${service} API` });
      await app.listen(0, '127.0.0.1');
      apps.push(app);
      return `http://127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
    };
    const ledger = await start(() => LedgerModule.register(), 'ledger');
    const tasker = await start(() => TaskerModule.register({ resolver: { resolve: async (n: string) => (n.endsWith('.fuzz.test') ? ['127.0.0.1'] : []) } }), 'tasker');
    const f = await fixtures(ledger, tasker, env);
    const config = configFile(f);
    log(`ledger ${ledger}, tasker ${tasker}; ${EXAMPLES} examples per operation, seed ${SEED}; logs in ${work}`);
    const DISRUPTIVE = '(/rotate$|/ledger/rebuild$|^/emergency-stop)';
    for (const app of APPS) {
      const base = app === 'ledger' ? ledger : tasker;
      const common = ['--exclude-name', 'POST /projects/{projectId}/webhooks'];
      results.push(await runSt(app, 'main', base, config, [...common, '--exclude-method', 'DELETE', '--exclude-path-regex', DISRUPTIVE]));
      log(JSON.stringify(results[results.length - 1]));
      results.push(await runSt(app, 'disruptive', base, config, ['--include-path-regex', DISRUPTIVE]));
      log(JSON.stringify(results[results.length - 1]));
      results.push(await runSt(app, 'deletes', base, config, ['--include-method', 'DELETE']));
      log(JSON.stringify(results[results.length - 1]));
    }
    for (const a of [ledger, tasker]) if ((await fetch(`${a}/health`)).status !== 200) results.push({ app: a, phase: 'health', operations: 0, cases: 0, failures: ['not healthy after the run'], exit: 1, seconds: 0 });
  } finally {
    for (const a of apps.reverse()) await a.close().catch(() => undefined);
    await admin.em.fork().execute(`drop database if exists ${name} with (force)`).catch(() => undefined);
    await admin.close();
    const k = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING }).admin();
    await k.connect();
    const mine = (await k.listTopics()).filter((t) => t.startsWith(prefix));
    if (mine.length) await k.deleteTopics({ topics: mine });
    await k.disconnect();
  }

  const failures = results.flatMap((r) => r.failures.map((x) => `${r.app}/${r.phase}: ${x}`));
  console.log('\n| app | phase | operations | test cases | failures | time |\n|---|---|---:|---:|---:|---:|');
  for (const r of results.filter((x) => x.operations > 0 || x.failures.length)) console.log(`| ${r.app} | ${r.phase} | ${r.operations} | ${Number.isNaN(r.cases) ? '?' : r.cases} | ${r.failures.length} | ${r.seconds} s |`);
  console.log(`\ninternal errors logged by the apps: ${internalErrors}`);
  for (const x of failures) console.log(`FAILED ${x}`);
  console.log(failures.length === 0 && internalErrors === 0 ? '\nfuzz:http: no 5xx, no stack traces' : `\nfuzz:http: ${failures.length} failing operation(s); reports and logs in ${work}`);
  if (failures.length === 0 && internalErrors === 0 && !process.env.FUZZ_KEEP) rmSync(work, { recursive: true, force: true });
  return failures.length === 0 && internalErrors === 0 ? 0 : 1;
}

process.exitCode = await main().catch((e) => {
  console.error(e);
  return 2;
});
// Consumers and timers of the in-process apps are closed; make sure nothing keeps the process alive.
setTimeout(() => process.exit(process.exitCode ?? 0), 2000).unref();
