import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/**
 * A single KRaft broker whose only client listener is SASL_SSL with SCRAM-SHA-512, as a managed
 * Kafka service would offer: a CA and a broker certificate made with openssl for this test, users
 * created at format time. Runs from the jars scripts/stack.sh fetched, on free ports, in a temp dir.
 */
export interface SecureBroker {
  readonly brokers: string;
  readonly caFile: string;
  readonly username: string;
  readonly password: string;
  readonly dir: string;
  /** KAFKA_* settings an app needs to reach it. */
  env(prefix: string): Record<string, string>;
  stop(): Promise<void>;
}

const freePort = (): Promise<number> =>
  new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });

const portOpen = (port: number): Promise<boolean> =>
  new Promise((done) => {
    const c = connect(port, '127.0.0.1');
    c.once('connect', () => (c.destroy(), done(true)));
    c.once('error', () => done(false));
  });

const openssl = (cwd: string, ...args: string[]) => execFileSync('openssl', args, { cwd, stdio: 'pipe' });

export async function startSecureBroker(): Promise<SecureBroker> {
  const root = process.cwd();
  const libs = join(process.env.FALCORIA_CACHE_DIR ?? join(root, '.cache'), `kafka-${process.env.KAFKA_VERSION ?? '4.1.1'}`, 'libs');
  const dir = mkdtempSync(join(tmpdir(), 'falcoria-sasl-ssl-'));
  const secret = () => randomBytes(12).toString('hex');
  const storePassword = secret();
  const brokerPassword = secret();
  const username = 'falcoria-app';
  const password = secret();

  openssl(dir, 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '2', '-subj', '/CN=falcoria test CA');
  openssl(dir, 'req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'broker.key', '-out', 'broker.csr', '-subj', '/CN=127.0.0.1');
  writeFileSync(join(dir, 'san.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\n');
  openssl(dir, 'x509', '-req', '-in', 'broker.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'broker.pem', '-days', '2', '-extfile', 'san.cnf');
  openssl(dir, 'pkcs12', '-export', '-in', 'broker.pem', '-inkey', 'broker.key', '-certfile', 'ca.pem', '-name', 'broker', '-out', 'broker.p12', '-passout', `pass:${storePassword}`);

  const port = await freePort();
  const controller = await freePort();
  mkdirSync(join(dir, 'logs'));
  const props = join(dir, 'server.properties');
  writeFileSync(
    props,
    [
      'process.roles=broker,controller',
      'node.id=1',
      `controller.quorum.voters=1@127.0.0.1:${controller}`,
      `listeners=SASL_SSL://127.0.0.1:${port},CONTROLLER://127.0.0.1:${controller}`,
      `advertised.listeners=SASL_SSL://127.0.0.1:${port}`,
      'controller.listener.names=CONTROLLER',
      'listener.security.protocol.map=SASL_SSL:SASL_SSL,CONTROLLER:PLAINTEXT',
      'inter.broker.listener.name=SASL_SSL',
      'sasl.enabled.mechanisms=SCRAM-SHA-512',
      'sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512',
      `listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="broker" password="${brokerPassword}";`,
      'ssl.keystore.type=PKCS12',
      `ssl.keystore.location=${join(dir, 'broker.p12')}`,
      `ssl.keystore.password=${storePassword}`,
      `ssl.key.password=${storePassword}`,
      'ssl.truststore.type=PEM',
      `ssl.truststore.location=${join(dir, 'ca.pem')}`,
      `log.dirs=${join(dir, 'data')}`,
      'num.partitions=3',
      'offsets.topic.replication.factor=1',
      'offsets.topic.num.partitions=3',
      'transaction.state.log.replication.factor=1',
      'transaction.state.log.min.isr=1',
      'share.coordinator.state.topic.replication.factor=1',
      'share.coordinator.state.topic.min.isr=1',
      'group.initial.rebalance.delay.ms=0',
      'auto.create.topics.enable=false',
      '',
    ].join('\n'),
  );
  let clusterId = '-';
  while (clusterId.startsWith('-')) clusterId = randomBytes(16).toString('base64url'); // "-…" would read as an option
  const java = process.env.JAVA ?? 'java';
  try {
    execFileSync(
      java,
      ['-cp', `${libs}/*`, 'kafka.tools.StorageTool', 'format', '-t', clusterId, '-c', props, '--add-scram', `SCRAM-SHA-512=[name=broker,password=${brokerPassword}]`, '--add-scram', `SCRAM-SHA-512=[name=${username},password=${password}]`],
      { stdio: 'pipe' },
    );
  } catch (e) {
    rmSync(dir, { recursive: true, force: true });
    // Not the command line: it holds the passwords.
    throw new Error(`formatting the SASL_SSL test broker failed: ${String((e as { stderr?: Buffer }).stderr ?? '')}`);
  }
  const child: ChildProcess = spawn(
    java,
    ['-Xms128m', '-Xmx384m', '-XX:+UseG1GC', `-Dkafka.logs.dir=${join(dir, 'logs')}`, `-Dlog4j2.configurationFile=${resolve('scripts/kafka/log4j2.yaml')}`, '-cp', `${libs}/*`, 'kafka.Kafka', props],
    { stdio: 'ignore' },
  );
  const until = Date.now() + 150_000;
  while (!(await portOpen(port))) {
    if (child.exitCode !== null || Date.now() > until) throw new Error(`the SASL_SSL test broker did not start (see ${dir}/logs/kafka.log)`);
    await new Promise((r) => setTimeout(r, 200));
  }
  const brokers = `127.0.0.1:${port}`;
  const caFile = join(dir, 'ca.pem');
  return {
    brokers,
    caFile,
    username,
    password,
    dir,
    env: (prefix: string) => ({
      KAFKA_BROKERS: brokers,
      KAFKA_TOPIC_PREFIX: prefix,
      KAFKA_SSL: 'true',
      KAFKA_SSL_CA_FILE: caFile,
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: username,
      KAFKA_SASL_PASSWORD: password,
    }),
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        const gone = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
