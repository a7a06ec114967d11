import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
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

  // Regression test: a fixed port inside the ephemeral range was, now and then, taken by a test app's
  // listener while a broker's JVM started; the script saw the port open and reported a node that had
  // died on its bind (CI: a "three-node" cluster of two).
  it('a broker whose port another process takes while it starts is reported dead, not up', async () => {
    const free = async () => { const { server, port } = await listen(); await new Promise((r) => server.close(r)); return port; };
    const [port, controller] = [await free(), await free()]; // free now; `port` is taken (below) just after the script checked it
    const child = spawn('bash', ['scripts/stack.sh', 'start'], {
      cwd: root,
      env: { ...process.env, FALCORIA_STACK_DIR: scratch, FALCORIA_EXTERNAL_PG: '1', KAFKA_PORT: String(port), KAFKA_CONTROLLER_PORT: String(controller) },
    });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
    let thief: Server | undefined;
    try {
      for (let i = 0; i < 600 && !existsSync(join(scratch, 'run', 'kafka.pid')); i++) await new Promise((r) => setTimeout(r, 50));
      thief = createServer().listen(port, '127.0.0.1');
      expect(await exited).not.toBe(0);
      expect(stderr).toContain(`kafka exited before it listened on 127.0.0.1:${port}`);
      expect(stderr).not.toContain('kafka up on');
    } finally {
      thief?.close();
      spawnSync('bash', ['scripts/stack.sh', 'stop'], { cwd: root, env: { ...process.env, FALCORIA_STACK_DIR: scratch, FALCORIA_EXTERNAL_PG: '1' } });
    }
  }, 120000);

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
