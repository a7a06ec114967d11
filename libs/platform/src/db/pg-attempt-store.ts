import type { MikroORM } from '@mikro-orm/postgresql';
import type { AttemptStore } from '../kafka/event-consumer.js';
import { migrateSchema } from './database.js';

/** Failed-attempt counts in PostgreSQL, so a restart does not give a poison message fresh chances forever. */
export class PgAttemptStore implements AttemptStore {
  constructor(private readonly orm: MikroORM) {}

  async init(): Promise<void> {
    await migrateSchema(this.orm, 'platform', [
      `create table consumer_attempts (key text primary key, attempts int not null, updated_at timestamptz not null default now())`,
    ]);
  }

  async increment(key: string): Promise<number> {
    const rows = await this.orm.em.fork().execute<{ attempts: number }[]>(
      `insert into platform.consumer_attempts(key, attempts) values (?, 1)
       on conflict (key) do update set attempts = consumer_attempts.attempts + 1, updated_at = now()
       returning attempts`,
      [key],
    );
    return rows[0].attempts;
  }

  async clear(key: string): Promise<void> {
    await this.orm.em.fork().execute(`delete from platform.consumer_attempts where key = ?`, [key]);
  }
}
