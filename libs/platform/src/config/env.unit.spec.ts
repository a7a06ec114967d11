import { DatabaseEnv } from './common.config.js';
import { ConfigError, loadConfig } from './env.js';
import { JsonLogger, redact } from '../logging/json-logger.js';
import { topicOptions } from '../kafka/topic-admin.js';

describe('configuration at start-up', () => {
  it('given defaults, when nothing is set, then the local stack settings apply', () => {
    const c = loadConfig(DatabaseEnv, {});
    expect(c.KAFKA_BROKERS).toBe('127.0.0.1:19092');
    expect(c.CONSUMER_MAX_ATTEMPTS).toBe(5);
  });

  it('converts numbers from strings', () => {
    expect(loadConfig(DatabaseEnv, { CONSUMER_MAX_ATTEMPTS: '7' }).CONSUMER_MAX_ATTEMPTS).toBe(7);
  });

  it('names every bad variable with its value', () => {
    let err: unknown;
    try {
      loadConfig(DatabaseEnv, { KAFKA_BROKERS: 'nope', DATABASE_URL: 'mysql://x', CONSUMER_MAX_ATTEMPTS: '0' });
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ConfigError);
    const msg = (err as Error).message;
    expect(msg).toMatch(/KAFKA_BROKERS \("nope"\): must be host:port/);
    expect(msg).toMatch(/DATABASE_URL \("mysql:\/\/x"\): must be a postgres:\/\/ URL/);
    expect(msg).toMatch(/CONSUMER_MAX_ATTEMPTS \(/);
  });

  // Regression: the guard read AUTH_FAILURES_PER_MINUTE unchecked; "abc" became NaN and switched the 429 limit off.
  it('given a failure limit or listen address that is not one, then start-up stops naming it', () => {
    expect(loadConfig(DatabaseEnv, {}).AUTH_FAILURES_PER_MINUTE).toBe(20);
    expect(loadConfig(DatabaseEnv, { AUTH_FAILURES_PER_MINUTE: '100000' }).AUTH_FAILURES_PER_MINUTE).toBe(100000);
    expect(() => loadConfig(DatabaseEnv, { AUTH_FAILURES_PER_MINUTE: 'abc' })).toThrow(/AUTH_FAILURES_PER_MINUTE \("abc"\)/);
    expect(() => loadConfig(DatabaseEnv, { AUTH_FAILURES_PER_MINUTE: '0' })).toThrow(/AUTH_FAILURES_PER_MINUTE/);
    expect(loadConfig(DatabaseEnv, {}).HTTP_HOST).toBe('127.0.0.1');
    expect(() => loadConfig(DatabaseEnv, { HTTP_HOST: '' })).toThrow(/HTTP_HOST \(""\)/);
  });

  it('never echoes a secret in the error', () => {
    expect(() => loadConfig(DatabaseEnv, { KAFKA_SASL_MECHANISM: 'weird', KAFKA_SASL_PASSWORD: 'hunter2' })).toThrow(/KAFKA_SASL_MECHANISM/);
    try {
      loadConfig(DatabaseEnv, { KAFKA_SASL_MECHANISM: 'weird', KAFKA_SASL_PASSWORD: 'hunter2' });
    } catch (e) {
      expect((e as Error).message).not.toContain('hunter2');
    }
  });
});

describe('Kafka topic settings', () => {
  const problem = (env: Record<string, string>) => {
    try {
      loadConfig(DatabaseEnv, env);
      return '';
    } catch (e) {
      return (e as Error).message;
    }
  };

  it('given nothing set, then replication and min ISR are left to ensureTopics (it looks at the cluster)', () => {
    const c = loadConfig(DatabaseEnv, {});
    expect([c.KAFKA_REPLICATION_FACTOR, c.KAFKA_MIN_ISR]).toEqual([undefined, undefined]);
    expect(topicOptions(c)).toEqual({ prefix: '', replicationFactor: undefined, minInsyncReplicas: undefined, partitions: {} });
  });

  it('given a min ISR above the replication factor, then start-up stops naming it', () => {
    expect(problem({ KAFKA_REPLICATION_FACTOR: '2', KAFKA_MIN_ISR: '3' })).toMatch(/KAFKA_MIN_ISR \("3"\): must not exceed KAFKA_REPLICATION_FACTOR/);
    expect(problem({ KAFKA_REPLICATION_FACTOR: '3', KAFKA_MIN_ISR: '2' })).toBe('');
  });

  it('reads partition counts per catalogue topic and refuses unknown topics or bad counts', () => {
    const c = loadConfig(DatabaseEnv, { KAFKA_TOPIC_PARTITIONS: 'falcoria.tasks=48, falcoria.ledger=24' });
    expect(topicOptions(c).partitions).toEqual({ 'falcoria.tasks': 48, 'falcoria.ledger': 24 });
    expect(problem({ KAFKA_TOPIC_PARTITIONS: 'falcoria.nope=4' })).toMatch(/KAFKA_TOPIC_PARTITIONS \("falcoria.nope=4"\): must be topic=count/);
    expect(problem({ KAFKA_TOPIC_PARTITIONS: 'falcoria.tasks=0' })).toMatch(/KAFKA_TOPIC_PARTITIONS/);
    expect(problem({ KAFKA_TOPIC_PARTITIONS: 'falcoria.tasks' })).toMatch(/KAFKA_TOPIC_PARTITIONS/);
  });
});

describe('JSON logs', () => {
  it('writes one JSON object per line with level, service and message', () => {
    const lines: string[] = [];
    new JsonLogger('ledger', 'info', (l) => lines.push(l)).log('hello', 'Ctx');
    const rec = JSON.parse(lines[0]);
    expect(rec).toMatchObject({ level: 'info', service: 'ledger', context: 'Ctx', msg: 'hello' });
  });

  it('drops lines below the level', () => {
    const lines: string[] = [];
    const l = new JsonLogger('x', 'warn', (s) => lines.push(s));
    l.log('info');
    l.warn('warn');
    expect(lines).toHaveLength(1);
  });

  it('redacts tokens and secrets wherever they appear', () => {
    const out = redact('Authorization: Bearer abc.def fal_abcd1234_secretsecret password=hunter2 {"token":"xyz"}');
    expect(out).not.toMatch(/abc\.def|secretsecret|hunter2|xyz/);
  });
});
