import { call, startLedgerApp, type RunningApp } from '../support/ledger-app.js';

describe('tokens, cross-project access and hostile requests', () => {
  let s: RunningApp;
  beforeAll(async () => {
    s = await startLedgerApp();
  });
  afterAll(() => s?.close());

  const newUser = async (username: string, extra: object = {}) => (await call(s.url, 'POST', '/users', s.adminToken, { username, ...extra })).body as { id: string; token: string; tokenId: string };

  it('shows a token once and never again', async () => {
    const u = await newUser('once');
    expect(u.token).toMatch(/^fal_/);
    const list = await call(s.url, 'GET', `/users/${u.id}/tokens`, s.adminToken);
    expect(list.text).not.toContain(u.token);
    expect(list.body.items[0].tokenId).toBe(u.tokenId);
  });

  it('an expiring token works until its expiry, then answers 401', async () => {
    const u = await newUser('shortlived', { expiresAt: new Date(Date.now() + 1500).toISOString() });
    expect((await call(s.url, 'GET', '/auth/whoami', u.token)).status).toBe(200);
    await new Promise((r) => setTimeout(r, 1700));
    expect((await call(s.url, 'GET', '/auth/whoami', u.token)).status).toBe(401);
  });

  it('rotation revokes the old token and the new one works; users rotate their own via /users/me', async () => {
    const u = await newUser('rotator');
    const r = await call(s.url, 'POST', `/users/me/tokens/${u.tokenId}/rotate`, u.token, {});
    expect(r.status).toBe(201);
    expect((await call(s.url, 'GET', '/auth/whoami', u.token)).status).toBe(401);
    expect((await call(s.url, 'GET', '/auth/whoami', r.body.token)).body.username).toBe('rotator');
  });

  it('a user cannot touch another user’s tokens', async () => {
    const a = await newUser('alice2');
    const b = await newUser('bob2');
    expect((await call(s.url, 'DELETE', `/users/${b.id}/tokens/${b.tokenId}`, a.token)).status).toBe(403);
    expect((await call(s.url, 'GET', '/auth/whoami', b.token)).status).toBe(200);
  });

  it('a member of one project cannot see another: 404, as if it did not exist', async () => {
    const a = await newUser('pa');
    const b = await newUser('pb');
    const pa = (await call(s.url, 'POST', '/projects', a.token, { name: 'proj-a' })).body;
    const pb = (await call(s.url, 'POST', '/projects', b.token, { name: 'proj-b' })).body;
    expect((await call(s.url, 'GET', `/projects/${pb.id}`, a.token)).status).toBe(404);
    expect((await call(s.url, 'GET', `/projects/${pa.id}`, a.token)).status).toBe(200);
    expect((await call(s.url, 'GET', '/projects', a.token)).body.items.map((p: { name: string }) => p.name)).toEqual(['proj-a']);
    expect((await call(s.url, 'DELETE', `/projects/${pb.id}`, a.token)).status).toBe(404);
    expect((await call(s.url, 'GET', `/projects/${pb.id}`, b.token)).status).toBe(200);
  });

  it('membership changes take effect and are recorded with the acting user', async () => {
    const owner = await newUser('own3');
    const guest = await newUser('guest3');
    const p = (await call(s.url, 'POST', '/projects', owner.token, { name: 'proj-3' })).body;
    expect((await call(s.url, 'GET', `/projects/${p.id}`, guest.token)).status).toBe(404);
    await call(s.url, 'PUT', `/projects/${p.id}/members/guest3`, owner.token, { role: 'viewer' });
    expect((await call(s.url, 'GET', `/projects/${p.id}`, guest.token)).status).toBe(200);
    expect((await call(s.url, 'PATCH', `/projects/${p.id}`, guest.token, { comment: 'x' })).status).toBe(403);
    await call(s.url, 'PUT', `/projects/${p.id}/members/guest3`, owner.token, { role: 'member' });
    expect((await call(s.url, 'DELETE', `/projects/${p.id}/members/${owner.id}`, owner.token)).status).toBe(409);
    await call(s.url, 'DELETE', `/projects/${p.id}/members/guest3`, owner.token);
    expect((await call(s.url, 'GET', `/projects/${p.id}`, guest.token)).status).toBe(404);
  });

  it.each([
    ['malformed JSON', '{"name": ', 400, /JSON/],
    ['an unknown field', { name: 'x1', evil: true }, 400, /property evil should not exist/],
    ['a bad name', { name: 'has space' }, 400, /name must be/],
    ['a wrong type', { name: 5 }, 400, /name must be/],
  ])('refuses %s with a clear 400', async (_n, body, status, message) => {
    const r = await call(s.url, 'POST', '/projects', s.adminToken, body);
    expect(r.status).toBe(status);
    expect(r.text).toMatch(message);
    expect(r.text).not.toMatch(/at \S+ \(|\.ts:\d+|node_modules/);
  });

  it('refuses an oversized body with 413 and no stack trace', async () => {
    const r = await call(s.url, 'POST', '/projects', s.adminToken, { name: 'big', comment: 'x'.repeat(2 * 1024 * 1024) });
    expect(r.status).toBe(413);
    expect(r.text).not.toMatch(/at \S+ \(|node_modules/);
  });

  it('sets security headers', async () => {
    const res = await fetch(`${s.url}/health`);
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    expect(res.headers.get('x-powered-by')).toBeNull();
  });

  it('documents every route with the bearer scheme at /docs', async () => {
    const doc = (await (await fetch(`${s.url}/docs/openapi.json`)).json()) as any;
    expect(doc.components.securitySchemes.bearer).toMatchObject({ type: 'http', scheme: 'bearer' });
    expect(Object.keys(doc.paths)).toEqual(expect.arrayContaining(['/projects', '/projects/{projectId}/members/{userId}', '/users/{userId}/tokens/{tokenId}/rotate', '/auth/whoami']));
  });

  it('slows down token guessing: too many failures from one address answer 429', async () => {
    let last = 0;
    for (let i = 0; i < 25; i++) last = (await call(s.url, 'GET', '/auth/whoami', `fal_guess${i}_xxxxxxxx`)).status;
    expect(last).toBe(429);
  });
});
