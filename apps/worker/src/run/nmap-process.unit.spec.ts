import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runNmap } from './nmap-process.js';

// A stand-in for nmap: a script that ignores SIGTERM (as a stuck nmap may) or exits as told.
const dir = mkdtempSync(join(tmpdir(), 'fake-nmap-'));
const script = (name: string, body: string) => {
  const p = join(dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return p;
};
const stubborn = script('stubborn', `trap '' TERM\necho "stuck on $*" >&2\nwhile :; do sleep 0.05; done`);
const polite = script('polite', 'exec sleep 30');
const failing = script('failing', 'echo "QUITTING: bad argument" >&2\nexit 1');
const launcher = (nmapPath: string) => ({ nmapPath, pdeathsig: false, killGraceMs: 300 });

describe('running nmap under a deadline', () => {
  it('stops a run at its deadline with SIGTERM', async () => {
    const r = await runNmap(launcher(polite), ['-p', '80', '127.0.0.1'], 200, new AbortController().signal);
    expect(r).toMatchObject({ timedOut: true, aborted: false, signal: 'SIGTERM' });
  });

  it('kills a run that ignores SIGTERM after the grace period, and keeps its stderr', async () => {
    const r = await runNmap(launcher(stubborn), ['-p', '80', '127.0.0.1'], 200, new AbortController().signal);
    expect(r).toMatchObject({ timedOut: true, signal: 'SIGKILL' });
    expect(r.stderr).toContain('stuck on -p 80 127.0.0.1');
  });

  it('stops on abort (a cancel or a revocation)', async () => {
    const c = new AbortController();
    setTimeout(() => c.abort(), 100);
    const r = await runNmap(launcher(polite), [], 60000, c.signal);
    expect(r).toMatchObject({ aborted: true, timedOut: false });
  });

  it('stops the whole process group: what the run spawned dies with it', async () => {
    const pidFile = join(dir, 'grandchild.pid');
    const forking = script('forking', `trap '' TERM\nsleep 300 &\necho $! > ${pidFile}\nwhile :; do sleep 0.05; done`);
    const c = new AbortController();
    setTimeout(() => c.abort(), 300);
    const r = await runNmap(launcher(forking), [], 60000, c.signal);
    expect(r).toMatchObject({ aborted: true, signal: 'SIGKILL' });
    const grandchild = Number(readFileSync(pidFile, 'utf8'));
    await new Promise((res) => setTimeout(res, 100));
    // Gone, or a zombie waiting for a reaper (a container's init may not reap): either way not running.
    const state = (() => {
      try {
        return readFileSync(`/proc/${grandchild}/stat`, 'utf8').split(') ')[1][0];
      } catch {
        return 'gone';
      }
    })();
    expect(['gone', 'Z', 'X']).toContain(state);
  });

  it('passes arguments as argv, never through a shell', async () => {
    const r = await runNmap(launcher(stubborn), ['127.0.0.1;touch /tmp/pwned', '$(id)'], 150, new AbortController().signal);
    expect(r.stderr).toContain('stuck on 127.0.0.1;touch /tmp/pwned $(id)');
  });

  it('reports the exit code and stderr of a failing run, and a missing binary', async () => {
    expect(await runNmap(launcher(failing), [], 5000, new AbortController().signal)).toMatchObject({ exitCode: 1, timedOut: false, stderr: expect.stringContaining('QUITTING') });
    expect(await runNmap(launcher(join(dir, 'absent')), [], 5000, new AbortController().signal)).toMatchObject({ exitCode: null, stderr: expect.stringContaining('ENOENT') });
  });
});
