// npm run bench:scan-scale [-- --workers 1,2,4 --rounds 1 --hosts 64 --ports 1-2000 --slots 2 --services --json]
// Scale-out of the scanner: the same scan of `--hosts` network-namespace hosts (built here, on a
// bridge in 10.213.N.0/24, and removed at the end, also on failure or Ctrl-C) run by 1, then 2,
// then 4 worker processes against one tasker. Each measurement uses a fresh project, so nothing is
// skipped as known or done. Wall time: from the scan's 201 (planned, every offer acked by Kafka) to
// every task completed and every host visible in the ledger's API.
//
// What makes a target slow (see bench/netns-lan.ts for why not netem): each host listens on port 22
// and drops every other TCP probe, so nmap's SYN scan of `--ports` meets filtered ports and paces
// itself at the profile's --min-rate with one retry each, then waits out its timeouts: ~2.3 s for
// 2,000 ports, ~0.2 s of it CPU. `--services` adds phase 2 (-sV on port 22), whose banner the host
// sends only after `--banner-delay-ms`. Needs root; scans only the LAN it built.
import type { ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { loadavg } from 'node:os';
import kafkajs from 'kafkajs';
import { createNetnsLan, lanUnavailableReason, sweepStaleLans, type Lan } from './netns-lan.js';
import { api, brokers, cpuSeconds, freePort, sleep, startStack, startTasker, withDb, type Stack } from './scan-harness.js';

const argv = process.argv.slice(2);
const arg = (name: string, dflt: string) => {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] !== undefined ? argv[i + 1] : dflt;
};
const flag = (name: string) => argv.includes(`--${name}`);
const int = (name: string, dflt: number, lo: number, hi: number) => {
  const v = Number(arg(name, String(dflt)));
  if (!Number.isInteger(v) || v < lo || v > hi) {
    console.error(`--${name} must be an integer ${lo}-${hi}`);
    process.exit(2);
  }
  return v;
};

const workerCounts = arg('workers', '1,2,4').split(',').map(Number);
if (workerCounts.some((w) => !Number.isInteger(w) || w < 1 || w > 16)) {
  console.error('--workers must be a list of 1-16, e.g. 1,2,4');
  process.exit(2);
}
const rounds = int('rounds', 1, 1, 20);
const hosts = int('hosts', 64, 1, 200);
const slots = int('slots', 2, 1, 64);
const ports = arg('ports', '1-2000');
const services = flag('services');
const bannerDelayMs = int('banner-delay-ms', 1000, 0, 5000);
const timeoutSeconds = int('timeout', 900, 10, 3600);
const json = flag('json');

const unavailable = lanUnavailableReason();
if (unavailable) {
  console.error(`bench:scan-scale ${unavailable}. Run it as root (e.g. sudo npm run bench:scan-scale); nothing was started.`);
  process.exit(1);
}

// Ctrl-C or SIGTERM: stop the waits, then the finally blocks stop the apps, drop the database and
// remove the namespaces. A second signal skips to the synchronous namespace cleanup.
const abort = new AbortController();
let lan: Lan | undefined;
let signals = 0;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (++signals > 1) {
      lan?.close();
      process.exit(130);
    }
    console.error(`\n${sig}: stopping and cleaning up (again to skip to removing the namespaces)`);
    abort.abort(new Error(`interrupted by ${sig}`));
    // A wait inside the shared harness (app start-up) does not see the abort: bound the cleanup.
    setTimeout(() => {
      console.error('cleanup is taking too long: removing the namespaces and exiting');
      lan?.close();
      process.exit(130);
    }, 20000).unref();
  });
}
const checkAbort = () => {
  if (abort.signal.aborted) throw abort.signal.reason;
};

async function until<T>(what: string, timeoutMs: number, everyMs: number, probe: () => Promise<T | undefined>): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (let i = 0; Date.now() < deadline && i < timeoutMs / everyMs + 10; i++) {
    checkAbort();
    const v = await probe();
    if (v !== undefined) return v;
    await sleep(everyMs);
  }
  throw new Error(`${what}: not within ${Math.round(timeoutMs / 1000)} s`);
}

const kafka = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });

/** Waits until the workers' consumer group is stable with exactly n members; partitions per member. */
async function groupStable(groupId: string, n: number): Promise<number[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await until(`consumer group ${groupId} with ${n} members`, 90000, 250, async () => {
      const g = (await admin.describeGroups([groupId])).groups[0];
      if (g?.state !== 'Stable' || g.members.length !== n) return undefined;
      const parts = g.members.map((m) => {
        const a = kafkajs.AssignerProtocol.MemberAssignment.decode(m.memberAssignment);
        return Object.values(a?.assignment ?? {}).reduce((s, p) => s + p.length, 0);
      });
      return parts.every((p) => p > 0) || n > 12 ? parts.sort((a, b) => b - a) : undefined;
    });
  } finally {
    await admin.disconnect();
  }
}

/** The TaskCompleted events of one scan, read from the scans topic up to its current end. */
async function completions(topic: string, scanId: string): Promise<{ workerId: string; durationMs: number }[]> {
  const admin = kafka.admin();
  await admin.connect();
  const ends = (await admin.fetchTopicOffsets(topic)).filter((p) => Number(p.high) > Number(p.low));
  await admin.disconnect();
  const left = new Map(ends.map((e) => [e.partition, Number(e.high) - 1]));
  const out: { workerId: string; durationMs: number }[] = [];
  if (!left.size) return out;
  const c = kafka.consumer({ groupId: `bench-scale-${randomUUID()}` });
  await c.connect();
  try {
    await c.subscribe({ topic, fromBeginning: true });
    await Promise.race([
      new Promise<void>((resolve) => {
        void c.run({
          eachMessage: async ({ partition, message }) => {
            const e = JSON.parse(message.value!.toString());
            if (e.type === 'TaskCompleted' && e.payload.scanId === scanId) out.push({ workerId: e.payload.workerId, durationMs: e.payload.durationMs });
            if (Number(message.offset) >= (left.get(partition) ?? -1)) left.delete(partition);
            if (!left.size) resolve();
          },
        });
      }),
      sleep(60000).then(() => {
        throw new Error(`reading ${topic}: not to its end within 60 s`);
      }),
    ]);
  } finally {
    await c.disconnect();
  }
  return out;
}

async function newProject(stack: Stack, taskerUrl: string, name: string, cidr: string): Promise<string> {
  const p = await until('project creation', 30000, 100, async () => {
    const r = await api(stack.ledgerUrl, stack.token, 'POST', '/projects', { name });
    return r.status === 201 ? (r.body.id as string) : undefined;
  });
  const scope = await api(stack.ledgerUrl, stack.token, 'PUT', `/projects/${p}/scope`, { allow: [cidr], deny: [] });
  if (scope.status !== 200) throw new Error(`scope: ${scope.status} ${JSON.stringify(scope.body)}`);
  await until('the tasker to see the project', 30000, 100, async () => ((await api(taskerUrl, stack.token, 'GET', `/projects/${p}/scans`)).status === 200 ? true : undefined));
  return p;
}

async function stopAll(children: ChildProcess[]): Promise<void> {
  await Promise.all(
    children.map(async (c) => {
      if (c.exitCode !== null || c.signalCode !== null) return;
      const exited = new Promise((r) => c.once('exit', r));
      c.kill('SIGTERM');
      await Promise.race([exited, sleep(15000).then(() => c.kill('SIGKILL'))]);
    }),
  );
}

interface Result {
  round: number;
  workers: number;
  slots: number;
  hosts: number;
  tasks: number;
  addressesPerTask: number;
  planSeconds: number;
  wallSeconds: number;
  /** Sum of the tasks' own durations (worker clock), and what wall would be if slots never idled. */
  taskSecondsTotal: number;
  meanTaskSeconds: number;
  idealWallSeconds: number;
  /** Offers stay on their partition's worker: the busiest worker's share bounds the wall. */
  busiestWorkerSeconds: number;
  tasksPerWorker: number[];
  partitionsPerWorker: number[];
  workerCpuSeconds: number;
  appsCpuSeconds: number;
  load1AtStart: number;
  load1AtEnd: number;
  speedup?: number;
}

async function measure(stack: Stack, tasker: { url: string; child: ChildProcess }, l: Lan, workers: number, round: number, targets: { readonly inputs: readonly string[]; readonly count: number }, quiet = false): Promise<Result> {
  const projectId = await newProject(stack, tasker.url, `scale-r${round}-w${workers}-${randomUUID().slice(0, 8)}`, l.cidr);
  const children: ChildProcess[] = [];
  try {
    for (let k = 0; k < workers; k++) {
      const port = await freePort();
      children.push(stack.spawnApp('dist/apps/worker/src/main.js', { WORKER_ID: `scale-r${round}-w${workers}-${k + 1}`, WORKER_PORT: String(port), WORKER_CONCURRENCY: String(slots) }));
      const child = children[k];
      await until(`worker ${k + 1} ready`, 60000, 100, async () => {
        if (child.exitCode !== null || child.signalCode !== null) throw new Error(`worker ${k + 1} exited (${child.exitCode ?? child.signalCode})`);
        return (await fetch(`http://127.0.0.1:${port}/ready`).then((r) => r.status).catch(() => 0)) === 200 ? true : undefined;
      });
    }
    const partitionsPerWorker = await groupStable(`${stack.prefix}falcoria.workers`, workers);
    const load1AtStart = loadavg()[0];
    const apps = [stack.children[0], tasker.child].map((c) => c.pid!);
    const appsCpu0 = apps.reduce((s, p) => s + cpuSeconds(p), 0);
    const workerCpu0 = children.reduce((s, c) => s + cpuSeconds(c.pid!), 0);

    const body = {
      targets: targets.inputs,
      config: { openPorts: { ports, timeoutSeconds: 600 }, services: services ? { timeoutSeconds: 300 } : false },
    };
    const r = await api(tasker.url, stack.token, 'POST', `/projects/${projectId}/scans`, body);
    const accepted = performance.now();
    if (r.status !== 201) throw new Error(`scan request: ${r.status} ${JSON.stringify(r.body).slice(0, 400)}`);
    const s = r.body.summary;
    if (s.accepted !== targets.count || s.queued !== targets.count) throw new Error(`scan planned ${s.accepted} accepted / ${s.queued} queued of ${targets.count}: ${JSON.stringify(s)}`);
    const scanId = r.body.scanId as string;

    let done = false;
    await until('scan done and every host in the ledger', timeoutSeconds * 1000, 100, async () => {
      if (!done) {
        const st = await api(tasker.url, stack.token, 'GET', `/projects/${projectId}/scans/${scanId}`);
        if (st.body?.status === 'failed' || st.body?.status === 'cancelled') throw new Error(`scan ${st.body.status}: ${JSON.stringify(st.body.failures ?? st.body.counts).slice(0, 400)}`);
        done = st.body?.status === 'done';
        if (!done) return undefined;
      }
      const h = await api(stack.ledgerUrl, stack.token, 'GET', `/projects/${projectId}/hosts?limit=1000`);
      return (h.body?.items?.length ?? 0) >= targets.count ? true : undefined;
    });
    const wallSeconds = (performance.now() - accepted) / 1000;
    const load1AtEnd = loadavg()[0];
    const workerCpuSeconds = children.reduce((sum, c) => sum + cpuSeconds(c.pid!), 0) - workerCpu0;
    const appsCpuSeconds = apps.reduce((sum, p) => sum + cpuSeconds(p), 0) - appsCpu0;

    const runs = await completions(`${stack.prefix}falcoria.scans`, scanId);
    const perWorker = new Map<string, number>();
    for (const c of runs) perWorker.set(c.workerId, (perWorker.get(c.workerId) ?? 0) + 1);
    const taskSecondsTotal = runs.reduce((sum, c) => sum + c.durationMs, 0) / 1000;
    const result: Result = {
      round,
      workers,
      slots,
      hosts: targets.count,
      tasks: s.tasks,
      addressesPerTask: s.addressesPerTask,
      planSeconds: r.ms / 1000,
      wallSeconds,
      taskSecondsTotal,
      meanTaskSeconds: runs.length ? taskSecondsTotal / runs.length : NaN,
      idealWallSeconds: taskSecondsTotal / (workers * slots),
      busiestWorkerSeconds: runs.length ? ((Math.max(...perWorker.values()) / slots) * taskSecondsTotal) / runs.length : NaN,
      tasksPerWorker: [...perWorker.values()].sort((a, b) => b - a),
      partitionsPerWorker,
      workerCpuSeconds,
      appsCpuSeconds,
      load1AtStart,
      load1AtEnd,
    };
    if (!quiet) {
      console.error(
        `round ${round}, ${workers} worker(s) × ${slots} slot(s): ${result.tasks} tasks in ${wallSeconds.toFixed(1)} s ` +
          `(mean task ${result.meanTaskSeconds.toFixed(2)} s, tasks per worker ${result.tasksPerWorker.join('/')}, partitions ${partitionsPerWorker.join('/')}, load ${load1AtStart.toFixed(2)}→${load1AtEnd.toFixed(2)})`,
      );
    }
    return result;
  } finally {
    await stopAll(children);
  }
}

const results: Result[] = [];
let failed = false;
try {
  const swept = sweepStaleLans();
  if (swept) console.error(`removed ${swept} namespaces/links left by an earlier run`);
  const t0 = performance.now();
  lan = await createNetnsLan({ hosts, tcp: [{ port: 22, banner: 'SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3', bannerDelayMs }], dropOtherTcp: true });
  console.error(`${hosts} namespace hosts ${lan.range} on ${lan.bridge} (${lan.cidr}) in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  const theLan = lan;
  await withDb(async (databaseUrl) => {
    const stack = await startStack(databaseUrl);
    try {
      const tasker = await startTasker(stack);
      // A short scan first, so JIT and connection warm-up do not land on the first measurement.
      await measure(stack, tasker, theLan, 1, 0, { inputs: [theLan.ips[0], theLan.ips[theLan.ips.length - 1]], count: Math.min(2, theLan.ips.length) }, true);
      for (let round = 1; round <= rounds; round++) {
        for (const w of workerCounts) results.push(await measure(stack, tasker, theLan, w, round, { inputs: [theLan.range], count: theLan.ips.length }));
      }
    } finally {
      await stack.stop();
    }
  });
} catch (e) {
  failed = true;
  console.error(abort.signal.aborted ? `bench:scan-scale interrupted (${(e as Error).message}); cleaned up` : `bench:scan-scale failed: ${(e as Error).message}`);
} finally {
  lan?.close();
}

if (results.length) {
  const median = (w: number) => {
    const xs = results.filter((r) => r.workers === w).map((r) => r.wallSeconds).sort((a, b) => a - b);
    return (xs[(xs.length - 1) >> 1] + xs[xs.length >> 1]) / 2;
  };
  const base = median(Math.min(...workerCounts));
  for (const r of results) r.speedup = base / r.wallSeconds;
  console.log(`\n${hosts} namespace hosts, ports ${ports}${services ? `, phase 2 with ${bannerDelayMs} ms banner delay` : ', phase 1 only'}, ${slots} slot(s) per worker`);
  console.log('| round | workers | tasks | wall | speed-up | even spread | busiest worker | mean task | tasks per worker | partitions per worker | CPU workers+nmap | CPU tasker+ledger | load 1 min (start → end) |');
  console.log('|---:|---:|---:|---:|---:|---:|---:|---:|---|---|---:|---:|---|');
  for (const r of results) {
    console.log(
      `| ${r.round} | ${r.workers} | ${r.tasks} | ${r.wallSeconds.toFixed(1)} s | ${r.speedup!.toFixed(2)}× | ${r.idealWallSeconds.toFixed(1)} s | ${r.busiestWorkerSeconds.toFixed(1)} s | ${r.meanTaskSeconds.toFixed(2)} s | ${r.tasksPerWorker.join('/')} | ${r.partitionsPerWorker.join('/')} | ${r.workerCpuSeconds.toFixed(1)} s | ${r.appsCpuSeconds.toFixed(1)} s | ${r.load1AtStart.toFixed(2)} → ${r.load1AtEnd.toFixed(2)} |`,
    );
  }
  if (rounds > 1) {
    console.log(`\nmedians over ${rounds} rounds: ` + workerCounts.map((w) => `${w} worker(s) ${median(w).toFixed(1)} s (${(base / median(w)).toFixed(2)}×)`).join(', '));
  }
  if (json) console.log(JSON.stringify(results, null, 2));
}
process.exit(abort.signal.aborted ? 130 : failed ? 1 : 0);
