// npm run chaos [-- --rounds 20 --scenario worker-kill,pg-restart --seed 42 --json --cluster --keep --no-netns
//                   --kafka-port N --pg-port N]
//
// The fault suite (issue #9): every scenario repeats N rounds on real processes against its own
// stack (.stack-chaos: Kafka 127.0.0.1:27192, PostgreSQL 127.0.0.1:27432; the dev and test stacks are
// never touched; --kafka-port/--pg-port give a second suite its own pair and folder, to run two side
// by side), with a known expected set of results each round, a fault at a moment a seeded
// generator picks, and an account of what was lost and what was applied twice. Targets are only
// loopback listeners the suite opens, two network-namespace hosts it builds on a bridge of its own
// (as root; removed at the end) and synthetic reports (nothing else is ever scanned).
// Exits 1 if anything was lost, doubled, or a check failed; 2 on bad arguments.
import { createNetnsLan, lanUnavailableReason, sweepStaleLans, type Lan } from '../netns-lan.js';
import { root, sleep } from '../scan-harness.js';
import { ChaosStack } from './chaos-stack.js';
import { Rng } from './rng.js';
import { SCENARIOS, type Scenario } from './scenarios.js';
import { emptyRound, LAN_PORT, type RoundResult, type SuiteContext, type World } from './world.js';

const argv = process.argv.slice(2);
const arg = (name: string): string | undefined => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
};
const flag = (name: string) => argv.includes(`--${name}`);
const usage = (msg: string): never => {
  console.error(`${msg}\nusage: npm run chaos [-- --rounds N (1-1000, default 20) --scenario a,b --seed N --json --cluster --keep --no-netns --round-timeout S --kafka-port N --pg-port N --list]`);
  process.exit(2);
};

const known = new Set(['rounds', 'scenario', 'seed', 'json', 'cluster', 'keep', 'list', 'round-timeout', 'no-netns', 'kafka-port', 'pg-port']);
for (const a of argv) if (a.startsWith('--') && !known.has(a.slice(2))) usage(`unknown option ${a}`);
if (flag('list')) {
  for (const s of SCENARIOS) console.log(`${s.name.padEnd(16)} ${s.title}`);
  process.exit(0);
}
const rounds = Number(arg('rounds') ?? 20);
if (!Number.isInteger(rounds) || rounds < 1 || rounds > 1000) usage('--rounds must be an integer 1-1000');
const names = (arg('scenario') ?? SCENARIOS.map((s) => s.name).join(',')).split(',').filter(Boolean);
for (const n of names) if (!SCENARIOS.some((s) => s.name === n)) usage(`unknown scenario ${n} (--list shows them)`);
const seed = arg('seed') !== undefined ? Number(arg('seed')) : Math.floor(Date.now() % 2 ** 31);
if (!Number.isInteger(seed) || seed < 0) usage('--seed must be a non-negative integer');
const roundTimeoutMs = Number(arg('round-timeout') ?? 900) * 1000;
const json = flag('json');
const cluster = flag('cluster');
const keep = flag('keep');
const netns = !flag('no-netns');
// Below the ephemeral range, so that no app's listen(0) takes a port the stack is starting on.
const port = (name: string, span: number): number | undefined => {
  const v = arg(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1024 || n + span > 32767) usage(`--${name} must be an integer 1024-${32767 - span} (below the ephemeral port range)`);
  return n;
};
const kafkaPort = port('kafka-port', 5);
const pgPort = port('pg-port', 0);

const log = (line: string) => console.error(`[chaos ${new Date().toISOString().slice(11, 19)}] ${line}`);

interface ScenarioReport {
  scenario: string;
  title: string;
  rounds: number;
  expected: number;
  lost: number;
  appliedTwice: number;
  failedChecks: number;
  errors: number;
  notes: string[];
  roundsDetail: (RoundResult & { round: number })[];
}

const abort = new AbortController();
let signals = 0;
let stackRef: ChaosStack | undefined;
let lan: Lan | undefined;
let worldRef: World | undefined;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (++signals > 1) {
      for (const a of worldRef?.fleet.live() ?? []) a.child.kill('SIGKILL');
      lan?.close();
      process.exit(130);
    }
    log(`${sig}: finishing the current step, then cleaning up (again to exit at once)`);
    abort.abort();
    setTimeout(() => {
      for (const a of worldRef?.fleet.live() ?? []) a.child.kill('SIGKILL');
      lan?.close();
      log(`cleanup took too long; the chaos stack may still run: npm run stack -- stop with FALCORIA_STACK_DIR=${stackRef?.dir ?? '.stack-chaos'}`);
      process.exit(130);
    }, 180000).unref();
  });
}

function bounded<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([p, new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no end within ${ms / 1000} s`)), ms)))]).finally(() => clearTimeout(timer));
}

const METRICS: Record<string, (xs: number[], rounds: number) => string> = {
  rerunSeconds: (xs) => `killed worker's tasks re-ran after ≤ ${Math.max(...xs).toFixed(0)} s (bound ${6 + 1 + 6 + 30} s)`,
  killedTasks: (xs) => `${xs.reduce((a, b) => a + b, 0)} tasks killed mid-run`,
  checksumEqual: (xs, n) => `checksum = rebuild in ${xs.length}/${n}`,
  appliedAtFault: (xs) => `fault at ${Math.round(Math.min(...xs) * 100)}–${Math.round(Math.max(...xs) * 100)} % projected`,
  brokerDownSeconds: (xs) => `broker down ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} s`,
  importAttempts: (xs) => `import sent ${Math.min(...xs)}–${Math.max(...xs)} time(s)`,
  acceptedBeforeRetry: (xs, n) => `before the retry: whole in ${xs.filter((x) => x === 1).length}, none in ${n - xs.filter((x) => x === 1).length}`,
  scanSeconds: (xs) => `round ${Math.min(...xs).toFixed(0)}–${Math.max(...xs).toFixed(0)} s`,
  rebuildSeconds: (xs) => `rebuild ≤ ${Math.max(...xs).toFixed(1)} s`,
  offersPerTask: (xs) => `offers sent again after the kill (same event ids) in ${xs.filter((x) => x > 1).length} round(s)`,
};

function summarise(s: ScenarioReport): void {
  const byMetric = new Map<string, number[]>();
  for (const r of s.roundsDetail) for (const [k, v] of Object.entries(r.metrics)) byMetric.set(k, [...(byMetric.get(k) ?? []), v]);
  for (const [k, f] of Object.entries(METRICS)) if (byMetric.has(k)) s.notes.push(f(byMetric.get(k)!, s.rounds));
  const failures = new Map<string, number>();
  for (const r of s.roundsDetail) for (const f of [...r.failed, ...(r.error ? [`error: ${r.error}`] : [])]) failures.set(f.slice(0, 160), (failures.get(f.slice(0, 160)) ?? 0) + 1);
  for (const [f, n] of [...failures].slice(0, 5)) s.notes.push(`${n}× ${f}`);
}

async function runScenario(ctx: SuiteContext, scenario: Scenario, master: Rng): Promise<ScenarioReport> {
  const report: ScenarioReport = { scenario: scenario.name, title: scenario.title, rounds: 0, expected: 0, lost: 0, appliedTwice: 0, failedChecks: 0, errors: 0, notes: [], roundsDetail: [] };
  log(`${scenario.name}: ${scenario.title} — setting up`);
  let world: World;
  try {
    world = await bounded(scenario.setup(ctx), 600000, `${scenario.name} set-up`);
  } catch (e) {
    report.errors++;
    report.notes.push(`set-up failed: ${(e as Error).message.split('\n')[0]}`);
    log(`${scenario.name}: set-up failed: ${(e as Error).stack}`);
    return report;
  }
  worldRef = world;
  try {
    for (let r = 1; r <= rounds && !abort.signal.aborted; r++) {
      const rng = master.fork(`${scenario.name}#${r}`);
      const round = emptyRound();
      const t0 = Date.now();
      try {
        await bounded(scenario.round(world, r, rng, round), roundTimeoutMs, `round ${r}`);
      } catch (e) {
        round.error = (e as Error).message.split('\n')[0];
        log(`${scenario.name} round ${r}: ${(e as Error).stack}`);
      }
      try {
        await bounded(world.heal(round), 300000, 'restoring the apps');
      } catch (e) {
        round.error ??= `restoring the apps: ${(e as Error).message}`;
      }
      round.seconds = (Date.now() - t0) / 1000;
      report.rounds++;
      report.expected += round.expected;
      report.lost += round.lost;
      report.appliedTwice += round.doubled;
      report.failedChecks += round.failed.length;
      if (round.error) report.errors++;
      report.roundsDetail.push({ round: r, ...round });
      log(
        `${scenario.name} round ${r}/${rounds}: expected ${round.expected}, lost ${round.lost}, applied twice ${round.doubled}` +
          `${round.failed.length ? `, FAILED: ${round.failed.join('; ')}` : ''}${round.error ? `, ERROR: ${round.error}` : ''} (${round.seconds.toFixed(0)} s; ${round.notes.join('; ')})`,
      );
    }
  } finally {
    await bounded(world.close(), 120000, 'closing the scenario').catch((e) => log(`${scenario.name}: ${(e as Error).message}`));
    worldRef = undefined;
  }
  summarise(report);
  return report;
}

const started = Date.now();
const master = new Rng(seed);
log(`seed ${seed} (repeat with --seed ${seed}); ${rounds} round(s) of ${names.join(', ')}${cluster ? '; 3-broker cluster' : ''}`);
const stack = new ChaosStack({ root, cluster, log, kafkaPort, pgPort });
stackRef = stack;
const reports: ScenarioReport[] = [];
let fatal: Error | undefined;
try {
  const noLan = netns ? lanUnavailableReason() : 'off (--no-netns)';
  if (noLan) log(`namespace hosts: ${noLan}; scans target loopback listeners only`);
  else {
    sweepStaleLans();
    lan = await createNetnsLan({ hosts: 2, tcp: [{ port: LAN_PORT, banner: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3' }] });
    log(`namespace hosts ${lan.range} on ${lan.bridge} (${lan.cidr}), listening on ${LAN_PORT}`);
  }
  await stack.start();
  const ctx: SuiteContext = { stack, log, replicationFactor: cluster ? 3 : 1, keepDatabases: keep, lan };
  for (const n of names) {
    if (abort.signal.aborted) break;
    reports.push(await runScenario(ctx, SCENARIOS.find((s) => s.name === n)!, master));
  }
} catch (e) {
  fatal = e as Error;
  log(`the suite stopped: ${fatal.stack}`);
} finally {
  log(keep ? `keeping the chaos stack's data in ${stack.dir}` : 'stopping the chaos stack');
  await bounded(stackRef.stop(keep), 240000, 'stopping the chaos stack').catch((e) => log((e as Error).message));
  lan?.close();
  await sleep(100);
}

const minutes = ((Date.now() - started) / 60000).toFixed(1);
console.log(`\nFault suite, seed ${seed}, ${rounds} round(s) per scenario${cluster ? ', 3-broker cluster' : ', one broker'}, ${minutes} min; logs in ${stack.logDir}`);
console.log('| scenario | rounds | results expected | lost | applied twice | failed checks | notes |');
console.log('|---|---:|---:|---:|---:|---:|---|');
for (const r of reports) {
  console.log(`| ${r.scenario}: ${r.title} | ${r.rounds} | ${r.expected} | ${r.lost} | ${r.appliedTwice} | ${r.failedChecks + r.errors} | ${r.notes.join('; ').replace(/\|/g, '\\|')} |`);
}
if (json) console.log(JSON.stringify({ seed, rounds, cluster, minutes: Number(minutes), scenarios: reports }, null, 2));
const bad = fatal || reports.some((r) => r.lost || r.appliedTwice || r.failedChecks || r.errors) || reports.length < names.length;
process.exit(abort.signal.aborted ? 130 : bad ? 1 : 0);
