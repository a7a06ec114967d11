// Integration and e2e tests talk to the real local stack started by scripts/test.sh.
process.env.KAFKA_BROKERS ??= `127.0.0.1:${process.env.KAFKA_PORT ?? '29092'}`;
process.env.DATABASE_URL ??= `postgres://postgres@127.0.0.1:${process.env.PG_PORT ?? '25432'}/falcoria_test`;
