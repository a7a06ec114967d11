import { explainStartupFailure } from './startup-failure.js';

const err = (name: string, message: string, extra: object = {}) => Object.assign(new Error(message), { name }, extra);

describe('start-up failures that are settings to fix', () => {
  const env = { KAFKA_SASL_USERNAME: 'worker-eu-1', KAFKA_SASL_MECHANISM: 'scram-sha-512', KAFKA_SASL_PASSWORD: 'hunter2hunter2', DATABASE_URL: 'postgres://falcoria_app:s3cret-pw@db:5432/falcoria' };

  it('given Kafka refusing SASL credentials, then it names the user and the variables, not the password', () => {
    const e = err('KafkaJSSASLAuthenticationError', 'SASL SCRAM SHA512 authentication failed: Authentication failed during authentication due to invalid credentials');
    const text = explainStartupFailure(e, env)!;
    expect(text).toMatch(/^Kafka refused the credentials of user "worker-eu-1" \(scram-sha-512\): SASL SCRAM SHA512 authentication failed.*Check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD\.$/);
    expect(text).not.toContain('hunter2');
  });

  it('given an untrusted broker certificate somewhere in the cause chain, then it points at the CA setting', () => {
    const e = err('KafkaJSNonRetriableError', 'wrapped', { cause: err('KafkaJSConnectionError', 'Connection error: self-signed certificate in certificate chain') });
    expect(explainStartupFailure(e, env)).toMatch(/^TLS to Kafka failed: Connection error: self-signed certificate in certificate chain\. Check KAFKA_SSL and KAFKA_SSL_CA_FILE/);
  });

  it('given PostgreSQL refusing the password, then it names the user of DATABASE_URL, not the password', () => {
    const text = explainStartupFailure(err('error', 'password authentication failed for user "falcoria_app"', { code: '28P01' }), env)!;
    expect(text).toBe('PostgreSQL refused the credentials of DATABASE_URL (user "falcoria_app"): password authentication failed for user "falcoria_app".');
    expect(text).not.toContain('s3cret');
  });

  it('given anything else, then nothing: the error keeps its stack', () => {
    expect(explainStartupFailure(new Error('boom'), env)).toBeUndefined();
    expect(explainStartupFailure(err('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092'), env)).toBeUndefined();
    expect(explainStartupFailure(undefined, env)).toBeUndefined();
  });
});
