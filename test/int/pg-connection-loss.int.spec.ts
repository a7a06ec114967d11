import type { MikroORM } from '@mikro-orm/postgresql';
import { createOrm, sql } from '#platform';
import { createTestDatabase } from '../support/stack.js';

// Found by the fault suite (pg-restart, 10 rounds against one ledger): every PostgreSQL restart that
// caught a transaction leaked its pooled connection, because Kysely releases a controlled
// transaction's connection only when COMMIT or ROLLBACK succeeds (kysely-org/kysely#1990), and on a
// dead connection neither can. After as many restarts as the pool has connections, the ledger
// waited for a connection for ever: no projection, `/ready` hanging.
describe('a transaction whose connection dies', () => {
  let url: string;
  let orm: MikroORM;
  let admin: MikroORM;

  // The pools the ORMs create (pg's, untyped here), to reach a pooled client as pg-pool holds it.
  type Pool = { _idle: { client: { _queryable: boolean } }[] };
  type PoolClass = { prototype: { connect: (this: Pool, ...args: unknown[]) => unknown } };
  const pools = new Set<Pool>();
  let PgPool: PoolClass;
  let connect: PoolClass['prototype']['connect'];
  beforeAll(async () => {
    PgPool = ((await import('pg' as string)) as { default: { Pool: PoolClass } }).default.Pool;
    connect = PgPool.prototype.connect;
    PgPool.prototype.connect = function (this: Pool, ...args: unknown[]) {
      pools.add(this);
      return connect.apply(this, args);
    };
    url = await createTestDatabase();
    // One connection: a single leak would leave the pool empty.
    orm = await createOrm(url, 1);
    admin = await createOrm(url, 1);
  });
  // A pool that lost its connection never finishes closing: do not let that hang the suite.
  const close = (o: MikroORM | undefined) => Promise.race([o?.close(true), new Promise((r) => setTimeout(r, 3000).unref())]);
  afterAll(async () => {
    PgPool.prototype.connect = connect;
    await close(orm);
    await close(admin);
  });

  // The backend is terminated from outside the transaction's callback: inside it, MikroORM's
  // transaction context would carry over to the other ORM's queries.
  const killedMidTransaction = async () => {
    let seen!: (pid: number) => void;
    const pid = new Promise<number>((r) => (seen = r));
    let killed!: () => void;
    const afterKill = new Promise<void>((r) => (killed = r));
    const tx = orm.em.fork().transactional(async (t) => {
      seen((await sql<{ pid: number }>(t, `select pg_backend_pid() as pid`))[0].pid);
      await afterKill;
      await sql(t, `select 1`);
    });
    tx.catch(() => undefined);
    await sql(admin.em.fork(), `select pg_terminate_backend(?)`, [await pid]);
    killed();
    return tx;
  };

  it('fails with the connection error and gives its pool slot back, however often it happens', async () => {
    for (let i = 0; i < 3; i++) {
      await expect(killedMidTransaction()).rejects.toThrow(/terminat|connection/i);
      const next = orm.em.fork().transactional((tx) => sql<{ one: number }>(tx, `select 1 as one`));
      const timedOut = new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 5000).unref());
      expect(await Promise.race([next, timedOut])).toEqual([{ one: 1 }]);
    }
  });

  // Found by the fault suite (pg-restart, round 60 of 100 against one ledger): pg-pool hands out a
  // client that has met a connection error before it notices, BEGIN on it fails, and Kysely never
  // releases a controlled transaction's connection when BEGIN fails.
  it('gives its pool slot back when BEGIN meets a connection that already failed', async () => {
    pools.clear();
    await orm.em.fork().transactional((tx) => sql(tx, `select 1`));
    const [pool] = [...pools];
    const idle = () => pool._idle;
    for (let i = 0; i < 3; i++) {
      expect(idle()).toHaveLength(1);
      // A client whose socket failed while it was checked out, taken back and given out again by pg-pool.
      idle()[0].client._queryable = false;
      await expect(orm.em.fork().transactional((tx) => sql(tx, `select 1`))).rejects.toThrow(/not queryable/);
      const next = orm.em.fork().transactional((tx) => sql<{ one: number }>(tx, `select 1 as one`));
      const timedOut = new Promise<'stuck'>((r) => setTimeout(() => r('stuck'), 5000).unref());
      expect(await Promise.race([next, timedOut])).toEqual([{ one: 1 }]);
    }
  });
});
