import { CompiledQuery, PostgresDriver, type DatabaseConnection } from 'kysely';
import { MikroORM, type EntityManager } from '@mikro-orm/postgresql';

export type Em = EntityManager;

/**
 * kysely-org/kysely#1990: a controlled transaction (what MikroORM's `transactional` runs on) gives its
 * pooled connection back only when its COMMIT or ROLLBACK succeeds. On a connection the server
 * dropped (a restart, a terminated backend) neither can, so each such loss kept a pool slot for
 * good, and after as many losses as the pool had connections every query waited for ever (found by
 * the fault suite: pg-restart, ten restarts against one ledger). MikroORM follows a failed commit
 * with a rollback; a rollback that reports a dead connection as done lets Kysely release it, and
 * pg-pool discards a released client that is no longer queryable. On a live connection a failed
 * rollback still throws (test/int/pg-connection-loss.int.spec.ts).
 */
const CONNECTION_GONE = /not queryable|Connection terminated|terminating connection|server closed the connection|ECONNRESET|EPIPE/i;
const gone = (e: unknown) => CONNECTION_GONE.test((e as Error).message);
const { beginTransaction: begin, rollbackTransaction: rollback, releaseConnection: release } = PostgresDriver.prototype;
PostgresDriver.prototype.rollbackTransaction = async function (this: PostgresDriver, connection: DatabaseConnection) {
  try {
    await rollback.call(this, connection);
  } catch (e) {
    if (!gone(e)) throw e;
  }
};

/**
 * The same issue's other half: a controlled transaction whose BEGIN fails never releases its
 * connection at all. pg-pool can hand out a client that has just met a connection error (its
 * "not queryable" client, during a restart) and BEGIN on it fails. The fault suite's pg-restart met
 * such clients, and after 59 rounds a ledger whose pool was empty. Such a connection is released
 * here, and pg-pool discards it; a caller that releases it again afterwards (Kysely's callback
 * transactions do) finds it done. Only dead connections: a live one could be handed out again
 * before that second release.
 */
type PgConnection = Parameters<PostgresDriver['releaseConnection']>[0];
const releasedOnFailedBegin = new WeakSet<DatabaseConnection>();
PostgresDriver.prototype.beginTransaction = async function (this: PostgresDriver, connection: DatabaseConnection, settings) {
  try {
    await begin.call(this, connection, settings);
  } catch (e) {
    if (gone(e) && !releasedOnFailedBegin.has(connection)) {
      releasedOnFailedBegin.add(connection);
      await release.call(this, connection as PgConnection);
    }
    throw e;
  }
};
PostgresDriver.prototype.releaseConnection = async function (this: PostgresDriver, connection: PgConnection) {
  if (releasedOnFailedBegin.delete(connection)) return;
  await release.call(this, connection);
};

export async function createOrm(databaseUrl: string, poolMax = 10): Promise<MikroORM> {
  return MikroORM.init({
    clientUrl: databaseUrl,
    entities: [],
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: poolMax },
    debug: false,
    // Consumers fork an EntityManager per message batch; the global one must never be used.
    allowGlobalContext: false,
  });
}

export const quoteIdent = (name: string): string => {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) throw new Error(`unsafe SQL identifier: ${name}`);
  return `"${name}"`;
};

/**
 * Applies a schema's migrations in order, once each, recorded in the schema itself so that a
 * rebuilt copy of the schema carries its own record. Serialised with an advisory lock because
 * several instances may start at once.
 */
export async function migrateSchema(orm: MikroORM, schema: string, migrations: readonly string[]): Promise<void> {
  const em = orm.em.fork();
  const s = quoteIdent(schema);
  await em.transactional(async (tx) => {
    await tx.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`migrate:${schema}`]);
    await tx.execute(`create schema if not exists ${s}`);
    await tx.execute(`create table if not exists ${s}.schema_migrations (version int primary key, applied_at timestamptz not null default now())`);
    const rows = await tx.execute<{ v: number | null }[]>(`select max(version) as v from ${s}.schema_migrations`);
    const done = rows[0]?.v ?? 0;
    for (let i = done; i < migrations.length; i++) {
      await tx.execute(`set local search_path to ${s}, public`);
      await tx.execute(migrations[i]);
      await tx.execute(`insert into ${s}.schema_migrations(version) values (?)`, [i + 1]);
    }
  });
}

/**
 * Runs SQL with server-side parameters on the EntityManager's connection (inside its transaction,
 * if any). MikroORM's `em.execute` inlines parameters into the SQL text on the client, which for
 * multi-megabyte JSON batches costs ~8× the time and memory (see docs/benchmarks.md).
 * `?` placeholders become $1, $2 …; the SQL text itself must not contain a literal `?`.
 */
export async function sql<T = Record<string, unknown>>(em: Em, text: string, params: readonly unknown[] = []): Promise<T[]> {
  let n = 0;
  const compiled = CompiledQuery.raw(text.replace(/\?/g, () => `$${++n}`), [...params]);
  const result = await em.getKysely().executeQuery(compiled);
  return result.rows as T[];
}
