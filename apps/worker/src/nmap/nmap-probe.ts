import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface NmapInfo {
  readonly path: string;
  readonly version: string;
  /** Raw-socket scans (-sS, -O, UDP) need root or CAP_NET_RAW; otherwise the worker uses connect scans. */
  readonly privileged: boolean;
}

export class NmapMissingError extends Error {
  readonly code = 'WORKER.NMAP_MISSING';
}

/** Checks at start-up that nmap runs, so a worker never takes a task it cannot do. */
export async function probeNmap(path: string): Promise<NmapInfo> {
  let stdout: string;
  try {
    ({ stdout } = await run(path, ['--version'], { timeout: 10000 }));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new NmapMissingError(
      code === 'ENOENT'
        ? `nmap not found at "${path}": install it (Debian/Ubuntu: apt-get install nmap; macOS: brew install nmap) or set NMAP_PATH`
        : `nmap at "${path}" does not run: ${(e as Error).message}`,
    );
  }
  const version = /Nmap version (\S+)/.exec(stdout)?.[1] ?? 'unknown';
  return { path, version, privileged: typeof process.getuid === 'function' && process.getuid() === 0 };
}
