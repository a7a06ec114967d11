import { ACTION_POLICY, authorize, type Action } from '#domain';
import type { ProjectRole } from '#events';
import { call, startLedgerApp, type RunningApp } from '../support/ledger-app.js';
import { routeTable, type RouteInfo } from '../support/routes.js';
import { httpControllers } from '../../apps/ledger-projector/src/ledger.module.js';
import { createHttpApp, HealthController } from '#platform';
import type { INestApplication } from '@nestjs/common';
import { httpControllers as taskerControllers, TaskerModule } from '../../apps/tasker/src/tasker.module.js';

/** Streaming routes never end: only the status line matters here. */
async function openStream(url: string, token: string | null) {
  const ac = new AbortController();
  const res = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: ac.signal });
  const text = res.status === 200 ? '' : await res.text();
  ac.abort();
  return { status: res.status, body: null, text };
}

type Subject = { name: string; token: string | null; kind: 'user' | 'worker' | 'service'; admin: boolean; id: string; role: ProjectRole | null; valid: boolean };

describe('every ledger and tasker route × every kind of caller', () => {
  let s: RunningApp;
  let tasker: INestApplication;
  let taskerUrl: string;
  const subjects: Subject[] = [];
  let projectId: string;
  let victim: { id: string; tokenId: string };
  const routes: (RouteInfo & { app: 'ledger' | 'tasker' })[] = [
    ...routeTable([...httpControllers, HealthController]).map((r) => ({ ...r, app: 'ledger' as const })),
    ...routeTable([...taskerControllers, HealthController]).map((r) => ({ ...r, app: 'tasker' as const })),
  ];

  const createUser = async (username: string, kind: 'user' | 'worker' | 'service' = 'user', extra: object = {}) => {
    const r = await call(s.url, 'POST', '/users', s.adminToken, { username, kind, ...extra });
    expect(r.status).toBe(201);
    return r.body as { id: string; token: string; tokenId: string };
  };

  beforeAll(async () => {
    // The matrix sends hundreds of bad tokens on purpose; the limiter has its own test.
    process.env.AUTH_FAILURES_PER_MINUTE = '100000';
    s = await startLedgerApp();
    // The tasker shares the ledger's topics (same prefix) and database, as in a deployment.
    tasker = await createHttpApp(() => TaskerModule.register(), { service: 'tasker', port: 0, title: 'test' });
    await tasker.listen(0, '127.0.0.1');
    taskerUrl = `http://127.0.0.1:${(tasker.getHttpServer().address() as { port: number }).port}`;
    const who = await call(s.url, 'GET', '/auth/whoami', s.adminToken);
    const owner = await createUser('owner');
    const member = await createUser('member');
    const viewer = await createUser('viewer');
    const outsider = await createUser('outsider');
    const worker = await createUser('worker-1', 'worker');
    const service = await createUser('svc', 'service');
    const expired = await createUser('expired', 'user', { expiresAt: new Date(Date.now() + 1500).toISOString() });
    const revoked = await createUser('revoked');
    expect((await call(s.url, 'DELETE', `/users/${revoked.id}/tokens/${revoked.tokenId}`, s.adminToken)).status).toBe(204);
    const v = await createUser('victim');
    victim = { id: v.id, tokenId: v.tokenId };
    const p = await call(s.url, 'POST', '/projects', owner.token, { name: 'matrix' });
    expect(p.status).toBe(201);
    projectId = p.body.id;
    for (const [u, role] of [[member, 'member'], [viewer, 'viewer'], [service, 'member']] as const) {
      expect((await call(s.url, 'PUT', `/projects/${projectId}/members/${u.id}`, owner.token, { role })).status).toBe(200);
    }
    subjects.push(
      { name: 'admin', token: s.adminToken, kind: 'user', admin: true, id: who.body.id, role: null, valid: true },
      { name: 'owner', token: owner.token, kind: 'user', admin: false, id: owner.id, role: 'owner', valid: true },
      { name: 'member', token: member.token, kind: 'user', admin: false, id: member.id, role: 'member', valid: true },
      { name: 'viewer', token: viewer.token, kind: 'user', admin: false, id: viewer.id, role: 'viewer', valid: true },
      { name: 'non-member', token: outsider.token, kind: 'user', admin: false, id: outsider.id, role: null, valid: true },
      { name: 'worker', token: worker.token, kind: 'worker', admin: false, id: worker.id, role: null, valid: true },
      { name: 'service', token: service.token, kind: 'service', admin: false, id: service.id, role: 'member', valid: true },
      { name: 'no token', token: null, kind: 'user', admin: false, id: '', role: null, valid: false },
      { name: 'garbage token', token: 'fal_not_a_token', kind: 'user', admin: false, id: '', role: null, valid: false },
      { name: 'revoked token', token: revoked.token, kind: 'user', admin: false, id: revoked.id, role: null, valid: false },
      { name: 'expired token', token: expired.token, kind: 'user', admin: false, id: expired.id, role: null, valid: false },
    );
    await new Promise((r) => setTimeout(r, 1600)); // let the short-lived token expire
  });
  afterAll(async () => {
    await tasker?.close();
    await s?.close();
  });

  it('reads every route from the routing table, and every route declares its access rule', () => {
    expect(routes.filter((r) => r.app === 'ledger').length).toBeGreaterThanOrEqual(35);
    expect(routes.filter((r) => r.app === 'tasker').length).toBeGreaterThanOrEqual(9);
    expect(routes.filter((r) => !r.access).map((r) => r.handler)).toEqual([]);
    for (const r of routes) if (r.access?.kind === 'action') expect(Object.keys(ACTION_POLICY)).toContain(r.access.action);
  });

  // Writes get an unknown field so that passing the guard shows as 400 and changes nothing;
  // deletes act on a fresh project or user of their own.
  const freshTarget = async (route: RouteInfo) => {
    let pid = projectId;
    let uid = victim.id;
    let tid = victim.tokenId;
    if (route.method === 'DELETE') {
      if (route.path.includes(':projectId')) {
        const owner = subjects.find((x) => x.name === 'owner')!;
        const p = await call(s.url, 'POST', '/projects', owner.token, { name: `del-${Math.random().toString(36).slice(2, 10)}` });
        pid = p.body.id;
        for (const x of subjects.filter((y) => y.role && y.name !== 'owner')) await call(s.url, 'PUT', `/projects/${pid}/members/${x.id}`, owner.token, { role: x.role });
        uid = subjects.find((x) => x.name === 'member')!.id;
      } else {
        const u = (await call(s.url, 'POST', '/users', s.adminToken, { username: `v-${Math.random().toString(36).slice(2, 10)}` })).body;
        uid = u.id;
        tid = u.tokenId;
      }
    }
    return route.path
      .replace(':projectId', pid).replace(':userId', uid).replace(':tokenId', tid)
      .replace(':scanId', '00000000-0000-4000-8000-000000000001').replace(':ip', '10.9.9.9').replace(':importId', '00000000-0000-4000-8000-000000000000').replace(':proto', 'tcp').replace(':port', '80')
      // No such webhook: a caller who passes the guard gets "webhook … not found", which counts as passing.
      .replace(':webhookId', '00000000-0000-4000-8000-000000000002');
  };

  it.each(['admin', 'owner', 'member', 'viewer', 'non-member', 'worker', 'service', 'no token', 'garbage token', 'revoked token', 'expired token'])(
    'as %s, every route answers what the access policy says',
    async (name) => {
      const subj = subjects.find((x) => x.name === name)!;
      const mismatches: string[] = [];
      for (const route of routes) {
        const path = await freshTarget(route);
        const body = ['POST', 'PUT', 'PATCH'].includes(route.method) ? { __probe: 1 } : undefined;
        const base = route.app === 'ledger' ? s.url : taskerUrl;
        const r = path.endsWith('/stream') ? await openStream(base + path, subj.token) : await call(base, route.method, path, subj.token, body);
        const a = route.access!;
        let expected: string;
        if (a.kind === 'public') expected = 'pass';
        else if (!subj.valid) expected = '401';
        else if (a.kind === 'authenticated') expected = 'pass';
        else {
          const d = authorize({ kind: subj.kind, admin: subj.admin }, a.action as Action, a.projectParam ? subj.role : null);
          expected = d === 'allow' ? 'pass' : d === 'forbidden' ? '403' : '404';
        }
        const got = r.status === 401 ? '401' : r.status === 403 ? '403' : r.status === 404 && /project .* not found/.test(r.text) ? '404' : 'pass';
        if (got !== expected || r.status >= 500) mismatches.push(`${route.app} ${route.method} ${route.path}: expected ${expected}, got ${r.status} ${r.text.slice(0, 120)}`);
      }
      expect(mismatches).toEqual([]);
    },
  );
});
