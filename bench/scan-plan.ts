// npm run bench:scan [-- --max-tasks 16384,65536 --cidr 127.0.0.0/12]: a /12 scan request (1,048,576
// targets) from POST to "every task offered and acknowledged by Kafka", and the tasker's peak RSS.
// Nothing is scanned: no worker runs, and the topics have a prefix of their own. The bar: ≤ 10 s and
// ≤ 300 MB. The 201 answer comes after the planner committed, which is after its offers were acked.
import kafkajs from 'kafkajs';
import { api, brokers, percentile, rssMb, sleep, startStack, startTasker, withDb } from './scan-harness.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const variants = arg('max-tasks', '8192').split(',').map(Number);
const cidr = arg('cidr', '127.0.0.0/12');
const rounds = Number(arg('rounds', '1'));

async function offersIn(topic: string): Promise<number> {
  const kafka = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    return (await admin.fetchTopicOffsets(topic)).reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
  } finally {
    await admin.disconnect();
  }
}

async function once(maxTasks: number) {
  return withDb(async (databaseUrl) => {
    const stack = await startStack(databaseUrl);
    try {
      const tasker = await startTasker(stack, { TASKER_CIDR_CAP_V4: '8', TASKER_MAX_TASKS_PER_SCAN: String(maxTasks), TASKER_PLAN_WAIT_MS: '600000' });
      await sleep(1000);
      const idle = rssMb(tasker.child.pid!);
      const body = { targets: [cidr], config: { openPorts: { ports: '80,443' }, services: false } };
      const first = await api(tasker.url, stack.token, 'POST', `/projects/${stack.projectId}/scans`, body);
      if (first.status !== 201) throw new Error(`scan request: ${first.status} ${JSON.stringify(first.body).slice(0, 300)}`);
      const afterFirst = rssMb(tasker.child.pid!);
      const offers = await offersIn(`${stack.prefix}falcoria.tasks`);
      // The same request again: everything is in flight, so the planner loads and subtracts it all.
      const second = await api(tasker.url, stack.token, 'POST', `/projects/${stack.projectId}/scans`, body);
      const s = first.body.summary;
      return {
        maxTasks,
        targets: s.accepted as number,
        tasks: s.tasks as number,
        addressesPerTask: s.addressesPerTask as number,
        offersOnTopic: offers,
        seconds: first.ms / 1000,
        duplicateSeconds: second.ms / 1000,
        duplicateSkipped: second.body.summary?.skipped?.already_queued as number,
        rssIdleMb: idle.now,
        rssPeakMb: rssMb(tasker.child.pid!).peak,
        rssAfterMb: afterFirst.now,
      };
    } finally {
      await stack.stop();
    }
  });
}

const results = [];
for (const v of variants) {
  const runs = [];
  for (let r = 0; r < rounds; r++) runs.push(await once(v));
  results.push(...runs);
  const secs = runs.map((x) => x.seconds);
  console.log(
    `${cidr} max-tasks=${v}: ${runs[0].targets} targets → ${runs[0].tasks} tasks of ≤${runs[0].addressesPerTask} (${runs[0].offersOnTopic} offers on the topic); ` +
      `accepted and emitted in ${percentile(secs, 50).toFixed(2)} s (max ${Math.max(...secs).toFixed(2)} s over ${rounds}); ` +
      `identical request while in flight ${runs[0].duplicateSeconds.toFixed(2)} s (${runs[0].duplicateSkipped} skipped); ` +
      `tasker RSS idle ${runs[0].rssIdleMb.toFixed(0)} MB, peak ${Math.max(...runs.map((x) => x.rssPeakMb)).toFixed(0)} MB`,
  );
}
console.log(JSON.stringify(results, null, 2));
process.exit(0);
