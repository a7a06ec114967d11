import { createServer, type Server } from 'node:http';
import { JsonLogger } from '#platform';
import { WorkerEnv } from '../worker.config.js';
import { appVersion, discoverEgressIp } from './worker-identity.js';

const quiet = new JsonLogger('test', 'error', () => undefined);
const env = (over: Partial<WorkerEnv>): WorkerEnv => Object.assign(new WorkerEnv(), over);

describe('worker identity', () => {
  let server: Server;
  let base: string;
  let answer = '192.0.2.44\n';
  let calls = 0;
  beforeAll(async () => {
    server = createServer((_, res) => {
      calls++;
      res.end(answer);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}/ip`;
  });
  afterAll(() => server.close());

  it('asks nothing when neither an address nor a discovery URL is configured', async () => {
    expect(await discoverEgressIp(env({}), quiet)).toBeNull();
    expect(calls).toBe(0);
  });
  it('prefers the configured address, normalised', async () => {
    expect(await discoverEgressIp(env({ WORKER_EGRESS_IP: '2001:DB8::0:1', WORKER_EGRESS_DISCOVERY_URL: base }), quiet)).toBe('2001:db8::1');
    expect(calls).toBe(0);
  });
  it('takes an IP from the discovery URL and refuses anything else', async () => {
    expect(await discoverEgressIp(env({ WORKER_EGRESS_DISCOVERY_URL: base }), quiet)).toBe('192.0.2.44');
    answer = '<html>not an ip</html>';
    expect(await discoverEgressIp(env({ WORKER_EGRESS_DISCOVERY_URL: base }), quiet)).toBeNull();
  });
  it('knows the version it runs', () => expect(appVersion()).toMatch(/^\d+\.\d+\.\d+/));
});
