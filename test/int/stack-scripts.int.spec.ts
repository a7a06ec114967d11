import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const root = process.cwd();
const run = (cmd: string, args: string[], env: Record<string, string>) =>
  spawnSync(cmd, args, { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 120000 });

const listen = (): Promise<{ server: Server; port: number }> =>
  new Promise((resolve) => {
    const server = createServer();
    server.listen(0, '127.0.0.1', () => resolve({ server, port: (server.address() as { port: number }).port }));
  });

describe('stack scripts', () => {
  let scratch: string;
  beforeEach(() => {
    scratch = mkdtempSync(join(tmpdir(), 'falcoria-stack-'));
  });
  afterEach(() => rmSync(scratch, { recursive: true, force: true }));

  it('start on a running stack is harmless and says so', () => {
    // scripts/test.sh started this stack; its settings are in the environment.
    const r = run('bash', ['scripts/stack.sh', 'start'], {});
    expect(r.status).toBe(0);
    expect(r.stderr).toMatch(/kafka already running/);
    expect(r.stderr).toMatch(/postgres already running/);
  });

  it('a missing JDK is a clear error and starts nothing', () => {
    const r = run('bash', ['scripts/stack.sh', 'start'], { FALCORIA_STACK_DIR: scratch, JAVA: '/nonexistent/java', FALCORIA_EXTERNAL_PG: '1', KAFKA_PORT: '1' });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toMatch(/no JDK found \(\/nonexistent\/java\): Kafka needs Java 17\+/);
  });

  it('a port in use is a clear error naming the port and the variable', async () => {
    const { server, port } = await listen();
    try {
      const r = run('bash', ['scripts/stack.sh', 'start'], { FALCORIA_STACK_DIR: scratch, FALCORIA_EXTERNAL_PG: '1', KAFKA_PORT: String(port) });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`port ${port} is in use by another process: set KAFKA_PORT`);
    } finally {
      server.close();
    }
  });

  it('a missing nmap stops the worker at start with what to install', () => {
    const r = run(process.execPath, ['dist/apps/worker/src/main.js'], { NMAP_PATH: '/nonexistent/nmap' });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/nmap not found at "\/nonexistent\/nmap": install it \(Debian\/Ubuntu: apt-get install nmap/);
  });

  it('a bad setting stops an app at start naming the variable', () => {
    const r = run(process.execPath, ['dist/apps/tasker/src/main.js'], { KAFKA_BROKERS: 'not a broker list' });
    expect(r.status).toBe(78);
    expect(r.stderr).toMatch(/KAFKA_BROKERS \("not a broker list"\): must be host:port/);
  });
});
