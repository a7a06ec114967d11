import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min, Validate, ValidatorConstraint, type ValidationArguments, type ValidatorConstraintInterface } from 'class-validator';
import { allTopics } from '#events';

const BROKERS = /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/;

/** "falcoria.tasks=48,falcoria.ledger=24" → { 'falcoria.tasks': 48, … } (names without the prefix). */
export function parseTopicPartitions(text: string | undefined): Record<string, number> {
  const out: Record<string, number> = {};
  for (const item of (text ?? '').split(',').map((s) => s.trim()).filter(Boolean)) {
    const [name, count] = item.split('=');
    out[name] = Number(count);
  }
  return out;
}

@ValidatorConstraint({ name: 'topicPartitions' })
class TopicPartitionsConstraint implements ValidatorConstraintInterface {
  validate(value: unknown): boolean {
    if (typeof value !== 'string' || !/^\s*[a-z.-]+=\d{1,5}\s*(,\s*[a-z.-]+=\d{1,5}\s*)*$/.test(value)) return false;
    const known = new Set(allTopics().map((t) => t.name));
    return Object.entries(parseTopicPartitions(value)).every(([name, n]) => known.has(name) && n >= 1 && n <= 10000);
  }
  defaultMessage(): string {
    return `must be topic=count[,topic=count…] with counts 1-10000, topics among ${allTopics().map((t) => t.name).join(', ')}`;
  }
}

@ValidatorConstraint({ name: 'minIsrWithinReplication' })
class MinIsrConstraint implements ValidatorConstraintInterface {
  validate(value: unknown, args: ValidationArguments): boolean {
    const rf = (args.object as KafkaEnv).KAFKA_REPLICATION_FACTOR;
    return rf === undefined || typeof value !== 'number' || value <= rf;
  }
  defaultMessage(): string {
    return 'must not exceed KAFKA_REPLICATION_FACTOR (a write would then never be acknowledged)';
  }
}

/** Settings every app shares: where Kafka and PostgreSQL are, and how to talk to Kafka. */
export class KafkaEnv {
  @Matches(BROKERS, { message: 'must be host:port[,host:port…]' })
  KAFKA_BROKERS: string = '127.0.0.1:19092';

  @IsOptional() @IsString()
  KAFKA_TOPIC_PREFIX: string = '';

  /** Unset: 3 on a cluster of three or more brokers, else 1 (or what the existing topics have). */
  @IsOptional() @IsInt() @Min(1) @Max(7)
  KAFKA_REPLICATION_FACTOR?: number;

  /** Unset: 2 for topics created with three or more replicas, else 1. Set: enforced on every topic at start. */
  @IsOptional() @IsInt() @Min(1) @Max(7) @Validate(MinIsrConstraint)
  KAFKA_MIN_ISR?: number;

  /** Partition counts above the catalogue's, e.g. falcoria.tasks=48: topics are created with them or grown to them. */
  @IsOptional() @Validate(TopicPartitionsConstraint)
  KAFKA_TOPIC_PARTITIONS?: string;

  @IsIn(['true', 'false'])
  KAFKA_SSL: string = 'false';

  @IsOptional() @IsString()
  KAFKA_SSL_CA_FILE?: string;

  @IsIn(['none', 'scram-sha-256', 'scram-sha-512', 'plain'])
  KAFKA_SASL_MECHANISM: string = 'none';

  @IsOptional() @IsString()
  KAFKA_SASL_USERNAME?: string;

  @IsOptional() @IsString()
  KAFKA_SASL_PASSWORD?: string;

  @IsInt() @Min(1) @Max(1000)
  CONSUMER_MAX_ATTEMPTS: number = 5;

  @IsIn(['debug', 'info', 'warn', 'error'])
  LOG_LEVEL: string = 'info';

  /** Address the HTTP listener binds to; loopback unless the operator opens it up. */
  @Matches(/^\S+$/, { message: 'must be an address or host name, e.g. 127.0.0.1 or 0.0.0.0' })
  HTTP_HOST: string = '127.0.0.1';

  /** Failed authentications per client address and minute before 429 (a non-number would switch the limit off). */
  @IsInt() @Min(1) @Max(1000000)
  AUTH_FAILURES_PER_MINUTE: number = 20;
}

export class DatabaseEnv extends KafkaEnv {
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL: string = 'postgres://postgres@127.0.0.1:15432/falcoria';

  @IsInt() @Min(1) @Max(100)
  DATABASE_POOL_MAX: number = 10;
}
