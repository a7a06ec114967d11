import { spawnSync } from 'node:child_process';
import type { INestApplication } from '@nestjs/common';
import { createHttpApp } from '#platform';
import { testPrefix, createTestDatabase } from './stack.js';

export interface RunningApp {
  readonly app: INestApplication;
  readonly url: string;
  readonly prefix: string;
  readonly databaseUrl: string;
  readonly adminToken: string;
  close(): Promise<void>;
}

/**
 * Boots the ledger app in this process against the real test stack, with its own topics and database
 * (or those of an app started before, as after a restart).
 */
export async function startLedgerApp(after?: Pick<RunningApp, 'prefix' | 'databaseUrl' | 'adminToken'>): Promise<RunningApp> {
  const prefix = after?.prefix ?? testPrefix();
  const databaseUrl = after?.databaseUrl ?? (await createTestDatabase());
  process.env.KAFKA_TOPIC_PREFIX = prefix;
  process.env.DATABASE_URL = databaseUrl;
  process.env.LOG_LEVEL = process.env.TEST_LOG_LEVEL ?? 'error';
  const { LedgerModule } = await import('../../apps/ledger-projector/src/ledger.module.js');
  const app = await createHttpApp(() => LedgerModule.register(), { service: 'ledger', port: 0, title: 'test' });
  await app.listen(0, '127.0.0.1');
  const addr = app.getHttpServer().address() as { port: number };
  const url = `http://127.0.0.1:${addr.port}`;
  if (after) return { app, url, prefix, databaseUrl, adminToken: after.adminToken, close: () => app.close() };
  const boot = spawnSync(process.execPath, ['--disable-warning=TimeoutNegativeWarning', 'dist/apps/ledger-projector/src/admin.js', 'bootstrap'], {
    env: { ...process.env, KAFKA_TOPIC_PREFIX: prefix, DATABASE_URL: databaseUrl },
    encoding: 'utf8',
  });
  const adminToken = /shown once\): (\S+)/.exec(boot.stdout)?.[1];
  if (!adminToken) throw new Error(`admin bootstrap failed: ${boot.stdout}${boot.stderr}`);
  // The app learns of the new admin from the log, a moment after the CLI wrote it.
  for (let i = 0; i < 100 && (await call(url, 'GET', '/auth/whoami', adminToken)).status !== 200; i++) await new Promise((r) => setTimeout(r, 100));
  return { app, url, prefix, databaseUrl, adminToken, close: () => app.close() };
}

export interface Reply {
  readonly status: number;
  readonly body: any;
  readonly text: string;
}

export async function call(base: string, method: string, path: string, token?: string | null, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> {
  const res = await fetch(base + path, {
    method,
    headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body: parsed, text };
}

export async function upload(base: string, projectId: string, token: string, content: string | Buffer, opts: Record<string, string> = {}, fileName = 'report.xml'): Promise<Reply> {
  const form = new FormData();
  form.append('file', new Blob([content]), fileName);
  const qs = new URLSearchParams({ wait: 'true', ...opts }).toString();
  const res = await fetch(`${base}/projects/${projectId}/imports?${qs}`, { method: 'POST', headers: { authorization: `Bearer ${token}` }, body: form });
  const text = await res.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    /* not JSON */
  }
  return { status: res.status, body, text };
}
