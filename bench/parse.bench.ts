// Parse-only throughput and memory of the streaming nmap report parser.
// Usage (compiled with swc, see the nmap-report notes): node parse.bench.js [hosts ...]
// Each size is generated into a temp file first, then parsed from fs.createReadStream in a fresh
// child process so that peak RSS belongs to the parse alone.
import { spawnSync } from 'node:child_process';
import { createReadStream, createWriteStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseNmapReport } from '../libs/domain/src/nmap-report/index.js';
import { generateReport } from './gen-report.js';

async function writeReport(file: string, hosts: number): Promise<void> {
  const out = createWriteStream(file);
  for await (const chunk of generateReport(hosts)) {
    if (!out.write(chunk)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

async function parseFile(file: string): Promise<void> {
  let peakRss = process.memoryUsage().rss;
  let hosts = 0;
  let ports = 0;
  const cpu0 = process.cpuUsage();
  const t0 = process.hrtime.bigint();
  for await (const e of parseNmapReport(createReadStream(file, { highWaterMark: 1 << 16 }))) {
    if (e.kind !== 'host') continue;
    hosts++;
    ports += e.host.ports.length;
    if ((hosts & 1023) === 0) {
      const rss = process.memoryUsage().rss;
      if (rss > peakRss) peakRss = rss;
    }
  }
  const secs = Number(process.hrtime.bigint() - t0) / 1e9;
  const cpu = process.cpuUsage(cpu0);
  // CPU seconds as well as wall time: on a shared box the wall clock measures the neighbours too.
  const cpuSecs = (cpu.user + cpu.system) / 1e6;
  const maxRssKiB = process.resourceUsage().maxRSS;
  const mib = statSync(file).size / 1048576;
  process.stdout.write(
    JSON.stringify({
      hosts,
      ports,
      fileMiB: +mib.toFixed(1),
      seconds: +secs.toFixed(2),
      hostsPerSec: Math.round(hosts / secs),
      cpuSeconds: +cpuSecs.toFixed(2),
      hostsPerCpuSec: Math.round(hosts / cpuSecs),
      MiBPerSec: +(mib / secs).toFixed(1),
      peakRssMiB: +(Math.max(peakRss, maxRssKiB * 1024) / 1048576).toFixed(1),
    }) + '\n',
  );
}

async function main(): Promise<void> {
  const [mode, arg] = process.argv.slice(2);
  if (mode === '--parse') return parseFile(arg);
  const sizes = process.argv.slice(2).map(Number);
  const dir = mkdtempSync(join(tmpdir(), 'falcoria-bench-'));
  try {
    for (const hosts of sizes.length ? sizes : [50_000, 200_000]) {
      const file = join(dir, `report-${hosts}.xml`);
      await writeReport(file, hosts);
      const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--parse', file], { encoding: 'utf8' });
      if (child.status !== 0) throw new Error(`parse of ${hosts} hosts failed: ${child.stderr}`);
      process.stdout.write(`parse ${hosts} hosts: ${child.stdout}`);
      rmSync(file);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
