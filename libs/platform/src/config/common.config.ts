import { IsIn, IsInt, IsOptional, IsString, Matches, Max, Min } from 'class-validator';

const BROKERS = /^[^\s,:]+:\d{1,5}(,[^\s,:]+:\d{1,5})*$/;

/** Settings every app shares: where Kafka and PostgreSQL are, and how to talk to Kafka. */
export class KafkaEnv {
  @Matches(BROKERS, { message: 'must be host:port[,host:port…]' })
  KAFKA_BROKERS: string = '127.0.0.1:19092';

  @IsOptional() @IsString()
  KAFKA_TOPIC_PREFIX: string = '';

  @IsInt() @Min(1) @Max(5)
  KAFKA_REPLICATION_FACTOR: number = 1;

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
}

export class DatabaseEnv extends KafkaEnv {
  @Matches(/^postgres(ql)?:\/\/.+/, { message: 'must be a postgres:// URL' })
  DATABASE_URL: string = 'postgres://postgres@127.0.0.1:15432/falcoria';

  @IsInt() @Min(1) @Max(100)
  DATABASE_POOL_MAX: number = 10;
}
