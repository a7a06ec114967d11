import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { ConfigError, JsonLogger, loadConfig, runHttpApp } from '#platform';
import { defaultWorkerId } from './identity/worker-identity.js';
import { NmapMissingError, probeNmap } from './nmap/nmap-probe.js';
import { WorkerEnv } from './worker.config.js';
import { WorkerModule } from './worker.module.js';

/** Whether `setpriv --pdeathsig` works here (util-linux on Linux): nmap then dies with the worker. */
function pdeathsigAvailable(mode: string): boolean {
  if (mode === 'off' || process.platform !== 'linux') return false;
  try {
    execFileSync('setpriv', ['--pdeathsig', 'SIGKILL', '--', 'true'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}

const logger = new JsonLogger('worker');
try {
  const env = loadConfig(WorkerEnv);
  const nmap = await probeNmap(env.NMAP_PATH);
  const pdeathsig = pdeathsigAvailable(env.WORKER_PDEATHSIG);
  const workerId = env.WORKER_ID ?? defaultWorkerId();
  logger.info({ msg: 'nmap found', workerId, version: nmap.version, mode: nmap.privileged ? 'privileged (SYN scans)' : 'unprivileged (connect scans only)', pdeathsig });
  await runHttpApp(() => WorkerModule.register({ ...nmap, pdeathsig }, workerId), { service: 'worker', port: env.WORKER_PORT, title: 'Falcoria worker' });
} catch (e) {
  if (e instanceof ConfigError || e instanceof NmapMissingError) {
    process.stderr.write(`worker: ${e.message}\n`);
    process.exit(78);
  }
  throw e;
}
