import 'reflect-metadata';
import { randomBytes, randomUUID } from 'node:crypto';
import { decideIdentity } from '#domain';
import { AccessView, ConfigError, createKafka, createOrm, ensureTopics, EventPublisher, JsonLogger, loadConfig, topicOptions, withCommandLock } from '#platform';
import { LedgerEnv } from './ledger.config.js';

/**
 * Server-side administration, run on the machine that hosts the ledger:
 *   node dist/apps/ledger-projector/src/admin.js bootstrap [--reissue] [--username NAME]
 * Creates the first admin and prints its token once; --reissue rotates the admin's token.
 */
async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command !== 'bootstrap') {
    process.stderr.write('usage: admin bootstrap [--reissue] [--username NAME]\n');
    return 2;
  }
  const reissue = rest.includes('--reissue');
  const ui = rest.indexOf('--username');
  const username = ui >= 0 ? rest[ui + 1] : undefined;
  const env = loadConfig(LedgerEnv);
  const logger = new JsonLogger('admin', 'error', (l) => process.stderr.write(l + '\n'));
  const kafka = createKafka(env, 'falcoria-admin', logger);
  await ensureTopics(kafka, topicOptions(env));
  const orm = await createOrm(env.DATABASE_URL, 2);
  const publisher = new EventPublisher(kafka, env.KAFKA_TOPIC_PREFIX);
  const view = new AccessView(kafka, env.KAFKA_TOPIC_PREFIX, 'admin', logger);
  try {
    await view.start();
    const out = await withCommandLock(orm, 'identity', async () => {
      await view.catchUp();
      const d = decideIdentity(
        { type: 'BootstrapAdmin', actor: { kind: 'system', id: 'server-cli' }, reissue, username },
        view.identity,
        { now: new Date(), newId: randomUUID, randomBytes: (n) => randomBytes(n) },
      );
      if (!d.ok) return d.error;
      await publisher.publish(d.events);
      await view.waitForEvents(d.events.map((e) => e.eventId));
      return d;
    });
    if ('code' in out) {
      if (out.code === 'IDENTITY.ADMIN_EXISTS') {
        process.stdout.write('admin token: issued at first start (re-issue with: npm run admin -- bootstrap --reissue)\n');
        return 0;
      }
      process.stderr.write(`${out.code}: ${out.message}\n`);
      return 1;
    }
    const user = view.identity.users.get(out.userId);
    process.stdout.write(`admin token (user ${user?.username}, shown once): ${out.token?.reveal()}\n`);
    return 0;
  } finally {
    await view.stop().catch(() => undefined);
    await publisher.disconnect().catch(() => undefined);
    await orm.close().catch(() => undefined);
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e) => {
    process.stderr.write(`admin: ${e instanceof ConfigError ? e.message : (e as Error).message}\n`);
    process.exit(1);
  },
);
