// npm run bench:scan-overhead [-- --tasks 30]: what the system adds around nmap, per task, on loopback:
//   offer → nmap start      the TaskOffered record's Kafka timestamp to the worker's nmap spawn
//   nmap exit → published   nmap's exit to the HostObserved being acknowledged by Kafka
//   nmap exit → in ledger   nmap's exit to the host's new event being visible in the ledger's API
// Tasks run one at a time (a scan of one address, waited for), so queueing never counts as overhead.
// Apps run as processes from dist/ (run `npm run build` first); nmap scans one listener on 127.0.0.51.
import { randomUUID } from 'node:crypto';
import { createServer } from 'node:net';
import kafkajs from 'kafkajs';
import { api, brokers, freePort, percentile, sleep, startStack, startTasker, waitReady, withDb } from './scan-harness.js';

const arg = (name: string, dflt: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
};
const tasks = Number(arg('tasks', '30'));
const target = '127.0.0.51';

interface Timings {
  readonly receivedAt: number;
  readonly firstNmapAt?: number;
  readonly runs: { startedAt: number; exitedAt: number; publishedAt?: number }[];
}

async function readAll(topic: string, type: string): Promise<{ ts: number; payload: any }[]> {
  const kafka = new kafkajs.Kafka({ brokers: brokers.split(','), logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const ends = (await admin.fetchTopicOffsets(topic)).filter((p) => Number(p.high) > 0);
  await admin.disconnect();
  const left = new Map(ends.map((e) => [e.partition, Number(e.high) - 1]));
  const out: { ts: number; payload: any }[] = [];
  if (!left.size) return out;
  const c = kafka.consumer({ groupId: `bench-${randomUUID()}` });
  await c.connect();
  await c.subscribe({ topic, fromBeginning: true });
  await new Promise<void>((resolve) => {
    void c.run({
      eachMessage: async ({ partition, message }) => {
        const e = JSON.parse(message.value!.toString());
        if (e.type === type) out.push({ ts: Number(message.timestamp), payload: e.payload });
        if (Number(message.offset) >= (left.get(partition) ?? -1)) left.delete(partition);
        if (!left.size) resolve();
      },
    });
  });
  await c.disconnect();
  return out;
}

await withDb(async (databaseUrl) => {
  const listener = createServer((c) => {
    c.on('error', () => undefined);
    c.write('SSH-2.0-OpenSSH_9.2p1\r\n');
    c.once('data', () => c.destroy());
  });
  const port = await new Promise<number>((resolve) => listener.listen(0, target, () => resolve((listener.address() as { port: number }).port)));
  const stack = await startStack(databaseUrl);
  try {
    const tasker = await startTasker(stack);
    const workerPort = await freePort();
    stack.spawnApp('dist/apps/worker/src/main.js', { WORKER_ID: 'bench-worker', WORKER_PORT: String(workerPort), WORKER_CONCURRENCY: '1' });
    await waitReady(`http://127.0.0.1:${workerPort}`);
    const visible: number[] = [];
    const scanIds: string[] = [];
    for (let i = 0; i < tasks + 1; i++) {
      // append + rescan: the same host again and again, never skipped as known or done.
      const r = await api(tasker.url, stack.token, 'POST', `/projects/${stack.projectId}/scans`, {
        targets: [target],
        config: { openPorts: { ports: String(port), timeoutSeconds: 60 }, services: false },
        mode: 'append',
        rescan: true,
      });
      if (r.status !== 201) throw new Error(`scan: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      for (;;) {
        const events = await api(stack.ledgerUrl, stack.token, 'GET', `/projects/${stack.projectId}/hosts/${target}/events`);
        const n = Array.isArray(events.body) ? events.body.length : (events.body?.items?.length ?? 0);
        if (n >= i + 1) {
          visible.push(Date.now());
          break;
        }
        await sleep(5);
      }
      scanIds.push(r.body.scanId);
    }
    const offers = new Map((await readAll(`${stack.prefix}falcoria.tasks`, 'TaskOffered')).map((o) => [o.payload.scanId as string, o.ts]));
    const done = new Map((await readAll(`${stack.prefix}falcoria.scans`, 'TaskCompleted')).map((c) => [c.payload.scanId as string, c.payload.timings as Timings]));
    const start: number[] = [];
    const publish: number[] = [];
    const ledger: number[] = [];
    // The first task warms up connections and the JIT: left out.
    for (let i = 1; i < scanIds.length; i++) {
      const t = done.get(scanIds[i]);
      const offered = offers.get(scanIds[i]);
      if (!t || offered === undefined || t.firstNmapAt === undefined) continue;
      const last = t.runs[t.runs.length - 1];
      start.push(t.firstNmapAt - offered);
      if (last.publishedAt !== undefined) publish.push(last.publishedAt - last.exitedAt);
      ledger.push(visible[i] - last.exitedAt);
    }
    const fmt = (xs: number[]) => `p50 ${percentile(xs, 50).toFixed(0)} ms, p99 ${percentile(xs, 99).toFixed(0)} ms (n=${xs.length})`;
    console.log(`offer → nmap start:          ${fmt(start)}`);
    console.log(`nmap exit → HostObserved acked: ${fmt(publish)}`);
    console.log(`nmap exit → visible in ledger:  ${fmt(ledger)} (API polled every 5 ms)`);
  } finally {
    await stack.stop();
    listener.close();
  }
});
process.exit(0);
