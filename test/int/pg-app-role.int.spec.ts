import { spawn } from 'node:child_process';
import { readFileSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { inspect } from 'node:util';
import { join } from 'node:path';
import type { MikroORM } from '@mikro-orm/postgresql';
import { createOrm, migrateSchema } from '#platform';

// The role the apps connect as on the local stack: stack.sh makes it on a PostgreSQL of its own
// here (own port and folder; the test stack is left alone), npm start's environment points
// DATABASE_URL at it, and it can run the apps' migrations but nothing beyond its database.
const dir = join(process.cwd(), '.stack-pgrole-test');

const freePort = (): Promise<number> =>
  new Promise((resolve) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });

describe('the least-privilege database role of the local stack', () => {
  let port: number;
  let env: Record<string, string | undefined>;
  let appUrl: string;
  let password: string;
  const orms: MikroORM[] = [];

  const sh = (script: string): Promise<{ code: number | null; out: string; err: string }> =>
    new Promise((resolve) => {
      const child = spawn('bash', ['-c', script], { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      child.stdout.on('data', (d) => (out += d));
      child.stderr.on('data', (d) => (err += d));
      child.on('close', (code) => resolve({ code, out, err }));
    });
  const stackStart = async () => {
    const r = await sh('bash scripts/stack.sh start');
    if (r.code !== 0) throw new Error(`stack.sh start failed:\n${r.err}`);
    return r.err;
  };
  const orm = async (url: string) => {
    const o = await createOrm(url, 2);
    orms.push(o);
    return o;
  };
  const superUrl = () => `postgres://postgres@127.0.0.1:${port}/falcoria`;

  beforeAll(async () => {
    rmSync(dir, { recursive: true, force: true });
    port = await freePort();
    env = { ...process.env, FALCORIA_STACK_DIR: dir, PG_PORT: String(port), FALCORIA_EXTERNAL_KAFKA: '1', DATABASE_URL: undefined, FALCORIA_LOCAL_DATABASE_URL: undefined };
    expect(await stackStart()).toContain(`postgres up on 127.0.0.1:${port} (database falcoria, role falcoria_app)`);
  });

  afterAll(async () => {
    for (const o of orms) await o.close().catch(() => undefined);
    await sh('bash scripts/stack.sh stop');
    rmSync(dir, { recursive: true, force: true });
  });

  it('gets a generated password only the stack owner can read, and the apps environment uses it', async () => {
    const file = join(dir, 'app-db.password');
    password = readFileSync(file, 'utf8').trim();
    expect(password).toMatch(/^[A-Za-z0-9_-]{20,}$/);
    expect(statSync(file).mode & 0o077).toBe(0);
    const r = await sh('. scripts/env.sh && printf "%s\\n%s" "$DATABASE_URL" "$(shown_database_url)"');
    const [url, shown] = r.out.split('\n');
    appUrl = `postgres://falcoria_app:${password}@127.0.0.1:${port}/falcoria`;
    expect(url).toBe(appUrl);
    expect(shown).toBe(`postgres://falcoria_app:***@127.0.0.1:${port}/falcoria`);
  });

  it('is not a superuser and cannot read pg_authid, create databases or roles', async () => {
    const em = (await orm(appUrl)).em.fork();
    expect(await em.execute(`select current_user as who, rolsuper, rolcreatedb, rolcreaterole, rolreplication, rolbypassrls from pg_roles where rolname = current_user`)).toEqual([
      { who: 'falcoria_app', rolsuper: false, rolcreatedb: false, rolcreaterole: false, rolreplication: false, rolbypassrls: false },
    ]);
    await expect(em.execute(`select rolpassword from pg_authid`)).rejects.toThrow(/permission denied for table pg_authid/);
    await expect(em.execute(`create database falcoria_other`)).rejects.toThrow(/permission denied to create database/);
    await expect(em.execute(`create role sneaky login`)).rejects.toThrow(/permission denied to create role/);
    await expect(em.execute(`create role sneaky login superuser`)).rejects.toThrow(/must be superuser|permission denied/);
    await expect(em.execute(`copy (select 1) to program 'true'`)).rejects.toThrow(/permission denied|must be superuser|pg_execute_server_program/);
  });

  it('runs the apps migrations, makes and swaps schemas as a rebuild does', async () => {
    const o = await orm(appUrl);
    await migrateSchema(o, 'ledger', [`create table projects (id text primary key)`, `alter table projects add column name text`]);
    await migrateSchema(o, 'ledger_rebuild', [`create table projects (id text primary key, name text)`]);
    const em = o.em.fork();
    await em.execute(`alter schema ledger rename to ledger_old`);
    await em.execute(`alter schema ledger_rebuild rename to ledger`);
    await em.execute(`drop schema ledger_old cascade`);
    expect(await em.execute(`select count(*)::int as n from ledger.schema_migrations`)).toEqual([{ n: 1 }]);
  });

  it('takes over schemas the apps made as postgres before the role existed, on the next start', async () => {
    await migrateSchema(await orm(superUrl()), 'tasker', [`create table scans (id serial primary key, n int generated always as identity)`]);
    const app = await orm(appUrl);
    await expect(migrateSchema(app, 'tasker', [`create table scans (id serial primary key, n int generated always as identity)`, `alter table scans add column note text`])).rejects.toThrow(/permission denied for schema tasker|must be owner/);
    await stackStart();
    await migrateSchema(app, 'tasker', [`create table scans (id serial primary key, n int generated always as identity)`, `alter table scans add column note text`]);
    await app.em.fork().execute(`insert into tasker.scans(note) values ('ok')`);
  });

  it('needs its password: a wrong one is refused without echoing either', async () => {
    const wrong = 'wrong-password-123456';
    const err = await createOrm(appUrl.replace(password, wrong), 1)
      .then(async (o) => {
        orms.push(o);
        await o.em.fork().execute('select 1');
        return new Error('connected');
      })
      .catch((e: Error) => e);
    expect(err.message).toMatch(/password authentication failed for user "falcoria_app"/);
    const text = `${err.message}\n${err.stack}\n${inspect(err, { depth: 6 })}`;
    expect(text).not.toContain(wrong);
    expect(text).not.toContain(password);
  });
});
