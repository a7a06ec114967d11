import { randomUUID } from 'node:crypto';
import type { INestApplication } from '@nestjs/common';
import { ACTION_POLICY, authorize, type Action } from '#domain';
import type { ProjectRole } from '#events';
import { createHttpApp, HealthController } from '#platform';
import { call, startLedgerApp, type RunningApp } from '../support/ledger-app.js';
import { routeTable, type RouteInfo } from '../support/routes.js';
import { eventually } from '../support/stack.js';
import { httpControllers } from '../../apps/tasker/src/tasker.module.js';

// Topic creation under load can answer "does not host this topic-partition" before the new topics'
// leaders are known, and libs/platform's ensureTopics does not retry that yet: start again on that only.
async function retryTopicRace<T>(start: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await start();
    } catch (e) {
      if (attempt >= 3 || !/does not host this topic-partition|leader/i.test(String(e))) throw e;
      await new Promise((r) => setTimeout(r, 500));
    }
  }
}
const startLedger = () => retryTopicRace(startLedgerApp);

type Subject = { name: string; token: string | null; kind: 'user' | 'worker' | 'service'; admin: boolean; role: ProjectRole | null; valid: boolean };

// Every tasker route × every kind of caller, from the routing table, against the access policy.
// Writes carry an unknown field, so a request that passes the guard ends in a 400 and changes nothing.
describe('every tasker route × every kind of caller', () => {
  let ledger: RunningApp;
  let tasker: INestApplication;
  let url: string;
  let projectId: string;
  const subjects: Subject[] = [];
  const routes: RouteInfo[] = routeTable([...httpControllers, HealthController]);

  beforeAll(async () => {
    process.env.AUTH_FAILURES_PER_MINUTE = '100000';
    ledger = await startLedger();
    const admin = ledger.adminToken;
    const user = async (username: string, kind: 'user' | 'worker' | 'service' = 'user') => (await call(ledger.url, 'POST', '/users', admin, { username, kind })).body as { id: string; token: string };
    const owner = await user('owner');
    const member = await user('member');
    const viewer = await user('viewer');
    const outsider = await user('outsider');
    const worker = await user('worker-1', 'worker');
    const service = await user('svc', 'service');
    projectId = (await call(ledger.url, 'POST', '/projects', owner.token, { name: 'access' })).body.id;
    for (const [u, role] of [[member, 'member'], [viewer, 'viewer'], [service, 'member']] as const) await call(ledger.url, 'PUT', `/projects/${projectId}/members/${u.id}`, owner.token, { role });
    const { TaskerModule } = await import('../../apps/tasker/src/tasker.module.js');
    tasker = await retryTopicRace(() => createHttpApp(() => TaskerModule.register({ resolver: { resolve: async () => [] } }), { service: 'tasker', port: 0, title: 'test' }));
    await tasker.listen(0, '127.0.0.1');
    url = `http://127.0.0.1:${(tasker.getHttpServer().address() as { port: number }).port}`;
    subjects.push(
      { name: 'admin', token: admin, kind: 'user', admin: true, role: null, valid: true },
      { name: 'owner', token: owner.token, kind: 'user', admin: false, role: 'owner', valid: true },
      { name: 'member', token: member.token, kind: 'user', admin: false, role: 'member', valid: true },
      { name: 'viewer', token: viewer.token, kind: 'user', admin: false, role: 'viewer', valid: true },
      { name: 'non-member', token: outsider.token, kind: 'user', admin: false, role: null, valid: true },
      { name: 'worker', token: worker.token, kind: 'worker', admin: false, role: null, valid: true },
      { name: 'service', token: service.token, kind: 'service', admin: false, role: 'member', valid: true },
      { name: 'no token', token: null, kind: 'user', admin: false, role: null, valid: false },
      { name: 'garbage token', token: 'fal_not_a_token', kind: 'user', admin: false, role: null, valid: false },
    );
    // The tasker learns users and memberships from the log.
    await eventually(() => call(url, 'GET', `/projects/${projectId}/scans`, service.token), (r) => r.status === 200);
  });
  afterAll(async () => {
    await tasker?.close();
    await ledger?.close();
  });

  it('reads every route from the routing table, and every route declares its access rule', () => {
    expect(routes.map((r) => `${r.method} ${r.path}`).sort()).toEqual([
      'GET /emergency-stop',
      'GET /health',
      'GET /profiles',
      'GET /projects/:projectId/scan-policy',
      'GET /projects/:projectId/scans',
      'GET /projects/:projectId/scans/:scanId',
      'GET /ready',
      'GET /workers',
      'POST /emergency-stop',
      'POST /emergency-stop/release',
      'POST /projects/:projectId/scans',
      'POST /projects/:projectId/scans/:scanId/cancel',
      'POST /projects/:projectId/scans/cancel',
      'POST /projects/:projectId/scans/cancel-ips',
      'PUT /projects/:projectId/scan-policy',
    ]);
    expect(routes.filter((r) => !r.access).map((r) => r.handler)).toEqual([]);
    for (const r of routes) if (r.access?.kind === 'action') expect(Object.keys(ACTION_POLICY)).toContain(r.access.action);
  });

  it.each(['admin', 'owner', 'member', 'viewer', 'non-member', 'worker', 'service', 'no token', 'garbage token'])('as %s, every route answers what the access policy says', async (name) => {
    const s = subjects.find((x) => x.name === name)!;
    const mismatches: string[] = [];
    for (const route of routes) {
      const path = route.path.replace(':projectId', projectId).replace(':scanId', randomUUID());
      const body = route.method === 'POST' ? { __probe: 1 } : undefined;
      const r = await call(url, route.method, path, s.token, body);
      const a = route.access!;
      let expected: string;
      if (a.kind === 'public') expected = 'pass';
      else if (!s.valid) expected = '401';
      else if (a.kind === 'authenticated') expected = 'pass';
      else {
        const d = authorize({ kind: s.kind, admin: s.admin }, a.action as Action, a.projectParam ? s.role : null);
        expected = d === 'allow' ? 'pass' : d === 'forbidden' ? '403' : '404';
      }
      const got = r.status === 401 ? '401' : r.status === 403 ? '403' : r.status === 404 && /project .* not found/.test(r.text) ? '404' : 'pass';
      if (got !== expected || r.status >= 500) mismatches.push(`${route.method} ${route.path}: expected ${expected}, got ${r.status} ${r.text.slice(0, 120)}`);
    }
    expect(mismatches).toEqual([]);
  });
});
