import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createTestDatabase, testPrefix } from '../support/stack.js';

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

const getTls = (port: number, ca: string) =>
  new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path: '/health', ca, servername: 'localhost', checkServerIdentity: () => undefined }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });

describe('optional TLS on the HTTP apps', () => {
  let dir: string;
  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'falcoria-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=localhost', '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('serves HTTPS when given a certificate and key', async () => {
    const port = await freePort();
    const env = { ...process.env, KAFKA_TOPIC_PREFIX: testPrefix(), DATABASE_URL: await createTestDatabase(), LEDGER_PORT: String(port), HTTP_TLS_CERT: join(dir, 'cert.pem'), HTTP_TLS_KEY: join(dir, 'key.pem') };
    const child = spawn(process.execPath, ['dist/apps/ledger-projector/src/main.js'], { env, stdio: 'ignore' });
    try {
      const { readFileSync } = await import('node:fs');
      const ca = readFileSync(join(dir, 'cert.pem'), 'utf8');
      let r = { status: 0, body: '' };
      for (let i = 0; i < 300 && r.status !== 200; i++) {
        r = await getTls(port, ca).catch(() => ({ status: 0, body: '' }));
        if (r.status !== 200) await new Promise((res) => setTimeout(res, 100));
      }
      expect(r).toEqual({ status: 200, body: '{"status":"ok"}' });
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('refuses a certificate without its key at start, naming the variable', () => {
    let out = '';
    try {
      execFileSync(process.execPath, ['dist/apps/ledger-projector/src/main.js'], { env: { ...process.env, HTTP_TLS_CERT: join(dir, 'cert.pem') }, encoding: 'utf8', stdio: 'pipe' });
    } catch (e) {
      out = String((e as { stderr?: string }).stderr);
      expect((e as { status?: number }).status).toBe(78);
    }
    expect(out).toMatch(/HTTP_TLS_KEY \(unset\): HTTPS needs both/);
  });
});
