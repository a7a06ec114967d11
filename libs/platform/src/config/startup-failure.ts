import { redact } from '../logging/json-logger.js';

type Failure = { name?: unknown; message?: unknown; code?: unknown; cause?: unknown };

/**
 * A start-up failure that is a setting to fix (Kafka or PostgreSQL credentials, TLS trust), told in
 * one line that names the variables to check and never their secret values. Anything else:
 * undefined, and it keeps its stack trace.
 */
export function explainStartupFailure(err: unknown, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const chain: Failure[] = [];
  for (let e = err as Failure | undefined; e && typeof e === 'object' && chain.length < 6; e = e.cause as Failure | undefined) chain.push(e);
  for (const e of chain) {
    const name = typeof e.name === 'string' ? e.name : '';
    const message = typeof e.message === 'string' ? e.message : '';
    if (name === 'KafkaJSSASLAuthenticationError') {
      return redact(`Kafka refused the credentials of user "${env.KAFKA_SASL_USERNAME ?? ''}" (${env.KAFKA_SASL_MECHANISM ?? 'none'}): ${message}. Check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD.`);
    }
    if (name.startsWith('KafkaJS') && /certificate|self[- ]signed|unable to verify|SSL routines|wrong version number|ERR_TLS|ERR_SSL/i.test(message)) {
      return redact(`TLS to Kafka failed: ${message}. Check KAFKA_SSL and KAFKA_SSL_CA_FILE (the CA that signed the brokers' certificates).`);
    }
    if (e.code === '28P01' || e.code === '28000') {
      const user = /^postgres(?:ql)?:\/\/([^:@/]+)/.exec(env.DATABASE_URL ?? '')?.[1] ?? '';
      return redact(`PostgreSQL refused the credentials of DATABASE_URL (user "${user}"): ${message}.`);
    }
  }
  return undefined;
}
