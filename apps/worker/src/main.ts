import 'reflect-metadata';
import { ConfigError, JsonLogger, loadConfig, runHttpApp } from '#platform';
import { NmapMissingError, probeNmap } from './nmap/nmap-probe.js';
import { WorkerEnv } from './worker.config.js';
import { WorkerModule } from './worker.module.js';

const logger = new JsonLogger('worker');
try {
  const env = loadConfig(WorkerEnv);
  const nmap = await probeNmap(env.NMAP_PATH);
  logger.info({ msg: 'nmap found', version: nmap.version, mode: nmap.privileged ? 'privileged (SYN scans)' : 'unprivileged (connect scans only)' });
  await runHttpApp(() => WorkerModule.register(nmap), { service: 'worker', port: env.WORKER_PORT, title: 'Falcoria worker' });
} catch (e) {
  if (e instanceof ConfigError || e instanceof NmapMissingError) {
    process.stderr.write(`worker: ${e.message}\n`);
    process.exit(78);
  }
  throw e;
}
