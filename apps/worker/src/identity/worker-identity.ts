import { existsSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { normalizeIp } from '#domain';
import type { JsonLogger } from '#platform';
import type { WorkerEnv } from '../worker.config.js';

/** The version of the build this worker runs, from the repository's package.json above it. */
export function appVersion(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 8; i++) {
    const f = join(dir, 'package.json');
    if (existsSync(f)) {
      const pkg = JSON.parse(readFileSync(f, 'utf8')) as { name?: string; version?: string };
      if (pkg.name === 'falcoria' && pkg.version) return pkg.version;
    }
    dir = dirname(dir);
  }
  return 'unknown';
}

export const defaultWorkerId = (): string => `${hostname().replace(/[^A-Za-z0-9._-]/g, '-').slice(0, 48)}-${process.pid}`;

/**
 * The egress address: configured, or asked of a URL the operator chose. Never a hard-wired public
 * service (the reference called api.ipify.org from every worker); without either it is unknown.
 */
export async function discoverEgressIp(env: WorkerEnv, logger: JsonLogger): Promise<string | null> {
  if (env.WORKER_EGRESS_IP) return normalizeIp(env.WORKER_EGRESS_IP);
  if (!env.WORKER_EGRESS_DISCOVERY_URL) return null;
  try {
    const res = await fetch(env.WORKER_EGRESS_DISCOVERY_URL, { signal: AbortSignal.timeout(5000), redirect: 'error' });
    const text = (await res.text()).slice(0, 100).trim();
    const ip = res.ok ? normalizeIp(text) : null;
    if (!ip) logger.warn({ msg: 'egress discovery answered no IP address', status: res.status });
    return ip;
  } catch (e) {
    logger.warn({ msg: 'egress discovery failed', error: (e as Error).message });
    return null;
  }
}
