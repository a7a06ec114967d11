import { readFileSync } from 'node:fs';
import kafkajs, { type Kafka as KafkaClient, type KafkaConfig, type SASLOptions } from 'kafkajs';
import type { KafkaEnv } from '../config/common.config.js';
import type { JsonLogger } from '../logging/json-logger.js';

/** Builds the one kafkajs client of a process from validated settings (TLS and SASL/SCRAM optional). */
// kafkajs is CommonJS: its runtime values come through the default export under ESM.
const { Kafka, logLevel } = kafkajs;

export function createKafka(env: KafkaEnv, clientId: string, logger?: JsonLogger): KafkaClient {
  // We key every message explicitly; the v1-partitioner notice is noise.
  process.env.KAFKAJS_NO_PARTITIONER_WARNING ??= '1';
  const cfg: KafkaConfig = {
    clientId,
    brokers: env.KAFKA_BROKERS.split(','),
    connectionTimeout: 5000,
    requestTimeout: 30000,
    retry: { initialRetryTime: 200, retries: 8, maxRetryTime: 5000 },
    logLevel: logLevel.WARN,
    logCreator: () => ({ namespace, level, log }) => {
      if (!logger) return;
      const { message, ...rest } = log;
      // kafkajs reports a rebalance or a broker restart as ERROR; those are routine here, and the
      // consumer and producer retry. Keep them visible but not alarming.
      const text = { msg: message, kafka: namespace, ...rest } as Record<string, unknown>;
      // Bounded retries are deliberate (a dead broker must surface as an error); the idempotent
      // producer says so at every start, every import's transactional producer included.
      if (/^Limiting retries for the idempotent producer/.test(String(message))) logger.debug(text);
      else if (level === logLevel.ERROR || level === logLevel.WARN) logger.warn(text);
      else logger.debug(text);
    },
  };
  if (env.KAFKA_SSL === 'true') cfg.ssl = env.KAFKA_SSL_CA_FILE ? { ca: [readFileSync(env.KAFKA_SSL_CA_FILE, 'utf8')] } : true;
  if (env.KAFKA_SASL_MECHANISM !== 'none') {
    cfg.sasl = {
      mechanism: env.KAFKA_SASL_MECHANISM,
      username: env.KAFKA_SASL_USERNAME ?? '',
      password: env.KAFKA_SASL_PASSWORD ?? '',
    } as SASLOptions;
  }
  return new Kafka(cfg);
}
