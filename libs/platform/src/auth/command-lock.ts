import type { MikroORM } from '@mikro-orm/postgresql';

/**
 * Runs a decide → publish → wait-until-applied sequence while holding a PostgreSQL advisory lock,
 * so that of all instances only one writes a given aggregate at a time (Kafka itself has no
 * "append if version = N"). The lock is released when the transaction ends, also on a crash.
 */
export async function withCommandLock<T>(orm: MikroORM, name: string, fn: () => Promise<T>): Promise<T> {
  return orm.em.fork().transactional(async (tx) => {
    await tx.execute(`select pg_advisory_xact_lock(hashtext(?))`, [`command:${name}`]);
    return fn();
  });
}
