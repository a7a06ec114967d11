import { spawn } from 'node:child_process';

export interface NmapRun {
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly aborted: boolean;
  /** The last few KiB of stderr, for the failure message. */
  readonly stderr: string;
  readonly startedAt: number;
  readonly exitedAt: number;
  readonly pid: number | undefined;
}

export interface NmapLauncher {
  readonly nmapPath: string;
  /** Run under `setpriv --pdeathsig SIGKILL`: the kernel kills nmap when the worker dies, even by SIGKILL. */
  readonly pdeathsig: boolean;
  readonly killGraceMs: number;
}

const STDERR_TAIL = 4096;

/**
 * Runs nmap with an argv (no shell ever sees it) and stops it at the deadline or on abort: SIGTERM,
 * then SIGKILL after the grace period, to its whole process group (nmap runs as the leader of a group
 * of its own, so anything it spawned goes with it). Resolves when the process has exited.
 */
export function runNmap(launcher: NmapLauncher, argv: readonly string[], timeoutMs: number, signal: AbortSignal): Promise<NmapRun> {
  const [cmd, args] = launcher.pdeathsig ? ['setpriv', ['--pdeathsig', 'SIGKILL', '--', launcher.nmapPath, ...argv]] : [launcher.nmapPath, [...argv]];
  const startedAt = Date.now();
  return new Promise((resolve) => {
    let timedOut = false;
    let aborted = false;
    let stderr = '';
    let killTimer: NodeJS.Timeout | undefined;
    // detached: a process group of its own (not a daemon: the worker still waits for it, and with
    // pdeathsig the kernel still kills it when the worker dies).
    const child = spawn(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'], shell: false, windowsHide: true, detached: process.platform !== 'win32' });
    const signalGroup = (sig: NodeJS.Signals) => {
      try {
        if (child.pid !== undefined && process.platform !== 'win32') process.kill(-child.pid, sig);
        else child.kill(sig);
      } catch {
        child.kill(sig); // the group is gone already; the process may not be
      }
    };
    const stop = () => {
      if (child.exitCode !== null || child.signalCode !== null) return;
      signalGroup('SIGTERM');
      killTimer = setTimeout(() => signalGroup('SIGKILL'), launcher.killGraceMs);
    };
    const deadline = setTimeout(() => {
      timedOut = true;
      stop();
    }, timeoutMs);
    const onAbort = () => {
      aborted = true;
      stop();
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => {
      stderr = (stderr + d).slice(-STDERR_TAIL);
    });
    const finish = (exitCode: number | null, sig: NodeJS.Signals | null) => {
      clearTimeout(deadline);
      clearTimeout(killTimer);
      signal.removeEventListener('abort', onAbort);
      resolve({ exitCode, signal: sig, timedOut, aborted, stderr, startedAt, exitedAt: Date.now(), pid: child.pid });
    };
    child.once('error', (e) => {
      stderr += `\n${e.message}`;
      finish(null, null);
    });
    child.once('close', finish);
  });
}
