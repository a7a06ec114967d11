import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { call, startLedgerApp, type RunningApp } from '../support/ledger-app.js';
import { closedPort, falcli, profileFor, tempDir, type CliRun } from '../support/cli.js';

// falcli against a real ledger (Kafka + PostgreSQL): profiles, projects, members, scope, users and
// tokens, with the errors a user meets: no server, a bad token, an unknown project, a bad input.
describe('falcli: profiles, projects, members, users and tokens', () => {
  let s: RunningApp;
  let cfg: string;
  const run = (args: string[], extra: { input?: string; env?: Record<string, string>; configDir?: string } = {}) => falcli(args, { configDir: extra.configDir ?? cfg, input: extra.input, env: extra.env });
  const json = (r: CliRun) => {
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return JSON.parse(r.stdout);
  };

  beforeAll(async () => {
    s = await startLedgerApp();
    cfg = await profileFor(s.url, s.adminToken);
  });
  afterAll(() => s?.close());

  describe('profile', () => {
    it('create stores the token in a 0600 file, makes the first profile active, and validate signs in', async () => {
      const dir = tempDir();
      const c = await run(['profile', 'create', 'lab', '--ledger-url', s.url, '--tasker-url', 'http://127.0.0.1:9', '--token-stdin'], { configDir: dir, input: `${s.adminToken}\n` });
      expect(c.code).toBe(0);
      expect(c.stdout).toBe("[+] Profile 'lab' created.\n[+] Active profile set to 'lab'.\n");
      const tokenFile = join(dir, 'profiles', 'lab.token');
      expect(statSync(tokenFile).mode & 0o777).toBe(0o600);
      expect(readFileSync(tokenFile, 'utf8').trim()).toBe(s.adminToken);
      expect(readFileSync(join(dir, 'profiles', 'lab.yaml'), 'utf8')).not.toContain(s.adminToken);

      const v = await run(['profile', 'validate'], { configDir: dir });
      expect(v.code).toBe(0);
      expect(v.stdout).toContain(`[+] Profile 'lab' is valid: ${s.url} accepts the token.`);
      expect(v.stdout).toMatch(/user +: admin\n.*admin +: yes/s);
      expect(json(await run(['profile', 'validate', '--json'], { configDir: dir }))).toMatchObject({ profile: 'lab', username: 'admin', admin: true });
    });

    it('list, show (token masked), set, use and delete', async () => {
      const dir = tempDir();
      await run(['profile', 'create', 'one', '--ledger-url', s.url, '--token-stdin'], { configDir: dir, input: s.adminToken });
      await run(['profile', 'create', 'two', '--ledger-url', 'http://127.0.0.1:1234', '--token-stdin'], { configDir: dir, input: 'fal_other' });
      const list = await run(['profile', 'list'], { configDir: dir });
      expect(list.stdout.split('\n')[0]).toMatch(/^ {3}NAME +LEDGER_URL +TASKER_URL +PROJECT$/);
      expect(list.stdout).toMatch(/\* +one +http:\/\/127\.0\.0\.1:\d+/);
      expect(list.stdout).toMatch(/\n {3}two +http:\/\/127\.0\.0\.1:1234 +http:\/\/127\.0\.0\.1:8080 +-/);

      const show = await run(['profile', 'show', 'one'], { configDir: dir });
      expect(show.stdout).not.toContain(s.adminToken);
      expect(show.stdout).toMatch(/token +: fal_\w{4}…\w{4}/);
      expect(json(await run(['profile', 'show', 'one', '--json', '--show-token'], { configDir: dir })).token).toBe(s.adminToken);

      expect((await run(['profile', 'set', 'two', 'ledgerUrl', s.url], { configDir: dir })).stdout).toBe("[+] Field 'ledgerUrl' updated in profile 'two'.\n");
      const bad = await run(['profile', 'set', 'two', 'colour', 'red'], { configDir: dir });
      expect([bad.code, bad.stderr]).toEqual([2, "[-] invalid field 'colour'; allowed fields: ledgerUrl, taskerUrl, token\n"]);
      expect((await run(['profile', 'use', 'two'], { configDir: dir })).stdout).toBe("[+] Active profile set to 'two'.\n");
      // two now points at the ledger but holds a token the ledger never issued.
      expect((await run(['profile', 'validate'], { configDir: dir })).code).toBe(3);
      const del = await run(['profile', 'delete', 'two'], { configDir: dir });
      expect(del.stdout).toBe("[+] Profile 'two' deleted.\n[+] Active profile reset to 'default'.\n");
      expect(existsSync(join(dir, 'profiles', 'two.token'))).toBe(false);
      expect((await run(['profile', 'delete', 'two'], { configDir: dir })).code).toBe(4);
    });

    it('refuses a token file others can read, and says how to fix it', async () => {
      const dir = await profileFor(s.url, s.adminToken);
      chmodSync(join(dir, 'profiles', 'e2e.token'), 0o644);
      const r = await run(['project', 'list'], { configDir: dir });
      expect(r.code).toBe(8);
      expect(r.stdout).toBe('');
      expect(r.stderr).toContain(`token file ${join(dir, 'profiles', 'e2e.token')} is accessible by group and others (mode 0644); refusing to use it`);
      expect(r.stderr).toContain(`chmod 600 ${join(dir, 'profiles', 'e2e.token')}`);
    });

    it('without any profile says how to create one', async () => {
      const r = await run(['project', 'list'], { configDir: tempDir() });
      expect(r.code).toBe(8);
      expect(r.stderr).toContain('[-] no server configured: there is no profile yet');
      expect(r.stderr).toContain('falcli profile create default --ledger-url http://127.0.0.1:8081');
    });
  });

  describe('errors every server command shares', () => {
    it('no server: names the URL and how to start one (exit 5)', async () => {
      const port = await closedPort();
      const r = await run(['project', 'list'], { env: { FALCLI_LEDGER_URL: `http://127.0.0.1:${port}` } });
      expect(r.code).toBe(5);
      expect(r.stderr).toContain(`[-] cannot reach the ledger at http://127.0.0.1:${port}: connection refused (nothing is listening)`);
      expect(r.stderr).toContain("start the local stack with 'npm start'");
    });

    it('bad token: exit 3, as text or as JSON on stderr', async () => {
      const r = await run(['project', 'list'], { env: { FALCLI_TOKEN: 'fal_not_a_real_token' } });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain(`[-] the ledger at ${s.url} refused the token (401`);
      const j = await run(['project', 'list', '--json'], { env: { FALCLI_TOKEN: 'fal_not_a_real_token' } });
      expect(j.code).toBe(3);
      expect(j.stdout).toBe('');
      expect(JSON.parse(j.stderr)).toMatchObject({ error: { kind: 'auth', exitCode: 3 } });
    });

    it('unknown project, by id or by name: exit 4', async () => {
      const byId = await run(['project', 'get', '00000000-0000-4000-8000-000000000000']);
      expect([byId.code, byId.stderr]).toEqual([4, '[-] not found: project 00000000-0000-4000-8000-000000000000 not found\n']);
      const byName = await run(['project', 'members', 'list', '-p', 'no-such-project']);
      expect(byName.code).toBe(4);
      expect(byName.stderr).toContain("no project named 'no-such-project' is visible to you");
    });

    it('ui outside a terminal explains itself instead of drawing garbage (exit 2)', async () => {
      const r = await run(['ui']);
      expect([r.code, r.stdout]).toEqual([2, '']);
      expect(r.stderr).toBe('[-] falcli ui needs an interactive terminal (stdin and stdout must be a TTY)\n    in scripts use the commands instead, e.g. falcli project ips list --json\n');
    });

    it('completion prints a script bash accepts', async () => {
      const r = await run(['completion', 'bash']);
      expect(r.code).toBe(0);
      expect(r.stdout).toContain('complete -o filenames -F _falcli falcli');
    });

    it('a request the server rejects: exit 6 with the server’s reason', async () => {
      const r = await run(['project', 'create', 'has spaces']);
      expect(r.code).toBe(6);
      expect(r.stderr).toContain('name must be 1-64 characters of letters, digits, _ and - (400)');
    });
  });

  describe('project', () => {
    it('create makes the first project current; list marks it; get, update, use and delete', async () => {
      const dir = await profileFor(s.url, s.adminToken);
      const c = await run(['project', 'create', 'acme-ext', '--comment', 'Q4 perimeter'], { configDir: dir });
      expect(c.code).toBe(0);
      const id = /created \(([0-9a-f-]{36})\)/.exec(c.stdout)![1];
      expect(c.stdout).toMatch(/name +: acme-ext\n +id +: [0-9a-f-]{36}\n +comment +: Q4 perimeter\n +members +: admin\(owner\)/);
      expect(c.stdout).toContain("Current project of profile 'e2e' is now 'acme-ext'.");
      const second = json(await run(['project', 'create', 'lab', '--json'], { configDir: dir }));

      const list = await run(['project', 'list'], { configDir: dir });
      expect(list.stdout.split('\n')[0]).toMatch(/^ {3}PROJECT_NAME +ID +USERS +CREATED$/);
      expect(list.stdout).toMatch(new RegExp(`\\* +acme-ext +${id} +admin\\(owner\\)`));
      expect(list.stdout).toMatch(new RegExp(` {3}lab +${second.id}`));
      expect(json(await run(['project', 'list', '--json'], { configDir: dir })).map((p: { name: string }) => p.name)).toEqual(['acme-ext', 'lab']);

      expect(json(await run(['project', 'get', '--json'], { configDir: dir }))).toMatchObject({ id, name: 'acme-ext', comment: 'Q4 perimeter' });
      const u = await run(['project', 'update', 'lab', '--name', 'lab2', '--comment', 'renamed'], { configDir: dir });
      expect(u.stdout).toBe(`[+] Project 'lab2' (${second.id}) updated.\n`);
      expect((await run(['project', 'update', 'lab2'], { configDir: dir })).code).toBe(2);

      expect((await run(['project', 'use', 'lab2'], { configDir: dir })).stdout).toBe(`[+] Current project set to 'lab2' (${second.id}) in profile 'e2e'.\n`);
      expect(json(await run(['project', 'get', '--json'], { configDir: dir })).id).toBe(second.id);

      // Deleting needs a confirmation; in a script that means --yes, never a hanging prompt.
      const noYes = await run(['project', 'delete', 'lab2'], { configDir: dir });
      expect(noYes.code).toBe(2);
      expect(noYes.stderr).toContain('refusing without --yes when stdin is not a terminal');
      expect((await run(['project', 'delete', 'lab2', '--yes'], { configDir: dir })).stdout).toBe(`[+] Project 'lab2' (${second.id}) deleted.\n`);
      expect((await call(s.url, 'GET', `/projects/${second.id}`, s.adminToken)).status).toBe(404);
      // The deleted project no longer is the current one.
      const after = await run(['project', 'get'], { configDir: dir });
      expect([after.code, after.stderr]).toEqual([2, '[-] no project given\n    pass --project <id|name>, or choose one: falcli project use <id|name>\n']);
    });

    it('members: add, set-role, list and remove, by username', async () => {
      await run(['users', 'create', 'carol']);
      json(await run(['project', 'create', 'team', '--json']));
      expect((await run(['project', 'members', 'add', 'carol', '--role', 'viewer', '-p', 'team'])).stdout).toBe("[+] Added 'carol' as viewer in project 'team'.\n");
      expect((await run(['project', 'members', 'set-role', 'carol', 'owner', '-p', 'team'])).code).toBe(0);
      const list = await run(['project', 'members', 'list', '-p', 'team']);
      expect(list.stdout).toMatch(/USERNAME +USER_ID +ROLE\nadmin +\S+ +owner\ncarol +\S+ +owner/);
      const bad = await run(['project', 'members', 'set-role', 'carol', 'god', '-p', 'team']);
      expect(bad.code).toBe(2);
      expect((await run(['project', 'members', 'remove', 'carol', '-p', 'team'])).stdout).toBe("[+] Removed 'carol' from project 'team'.\n");
      expect(json(await run(['project', 'members', 'list', '-p', 'team', '--json'])).map((m: { username: string }) => m.username)).toEqual(['admin']);
    });

    it('scope: set and show; an invalid entry is rejected with the server’s reason', async () => {
      json(await run(['project', 'create', 'scoped', '--json']));
      expect((await run(['project', 'scope', 'set', '--allow', '10.0.0.0/16,example.com', '--deny', '10.0.0.1', '-p', 'scoped'])).code).toBe(0);
      expect(json(await run(['project', 'scope', 'show', '-p', 'scoped', '--json']))).toEqual({ allow: ['10.0.0.0/16', 'example.com'], deny: ['10.0.0.1'] });
      const bad = await run(['project', 'scope', 'set', '--allow', '10.0.0.0/40', '-p', 'scoped']);
      expect(bad.code).toBe(6);
      expect(bad.stderr).toContain('invalid scope');
    });
  });

  describe('users and tokens', () => {
    it('users create prints the token once on stdout; the user can sign in with it', async () => {
      const r = await run(['users', 'create', 'alice', '--lifetime', '30d']);
      expect(r.code).toBe(0);
      const [line, token] = r.stdout.trim().split('\n');
      expect(line).toMatch(/^\[\+\] User 'alice' created \([0-9a-f-]{36}, user\)\.$/);
      expect(token).toMatch(/^fal_\w+$/);
      expect(r.stderr).toContain('The token is shown once');
      expect((await call(s.url, 'GET', '/auth/whoami', token)).body.username).toBe('alice');

      const list = await run(['users', 'list']);
      expect(list.stdout).toMatch(/alice +[0-9a-f-]{36} +user +no +active/);
      expect((await run(['users', 'disable', 'alice'])).stdout).toBe("[+] User 'alice' disabled.\n");
      expect((await call(s.url, 'GET', '/auth/whoami', token)).status).toBe(401);
      expect(json(await run(['users', 'enable', 'alice', '--json']))).toMatchObject({ username: 'alice', status: 'active' });
      expect((await run(['users', 'delete', 'alice', '--yes'])).stdout).toBe("[+] User 'alice' deleted.\n");
      expect((await run(['users', 'disable', 'alice'])).code).toBe(4);
    });

    it('a non-admin cannot manage users: exit 3 with the reason', async () => {
      const token = (await call(s.url, 'POST', '/users', s.adminToken, { username: 'dave' })).body.token as string;
      const r = await run(['users', 'list'], { env: { FALCLI_TOKEN: token } });
      expect(r.code).toBe(3);
      expect(r.stderr).toContain('not allowed: your role does not allow users.manage (403)');
    });

    it('token issue/list/revoke, and rotate of the token in use saves its successor to the profile', async () => {
      const created = (await call(s.url, 'POST', '/users', s.adminToken, { username: 'erin' })).body as { token: string; tokenId: string };
      const dir = await profileFor(s.url, created.token);
      const issued = await run(['token', 'issue', '--label', 'laptop', '--lifetime', '1d'], { configDir: dir });
      expect(issued.code).toBe(0);
      const second = issued.stdout.trim().split('\n').at(-1)!;
      expect(second).toMatch(/^fal_/);
      const list = await run(['token', 'list'], { configDir: dir });
      expect(list.stdout).toMatch(new RegExp(`\\* +${created.tokenId} +- `));
      expect(list.stdout).toMatch(/ {3}\w+ +laptop +\S+ \S+ +\d{4}-/);

      const rot = await run(['token', 'rotate'], { configDir: dir });
      expect(rot.code).toBe(0);
      expect(rot.stdout).toContain(`[+] Token ${created.tokenId} rotated`);
      expect(rot.stdout).toContain("Saved to profile 'e2e'.");
      expect(rot.stdout).not.toMatch(/fal_/);
      expect((await call(s.url, 'GET', '/auth/whoami', created.token)).status).toBe(401);
      // The profile still works: it holds the new token.
      expect((await run(['profile', 'validate'], { configDir: dir })).code).toBe(0);
      expect(readFileSync(join(dir, 'profiles', 'e2e.token'), 'utf8').trim()).not.toBe(created.token);

      const laptop = json(await run(['token', 'list', '--json'], { configDir: dir })).find((t: { label: string }) => t.label === 'laptop');
      expect((await run(['token', 'revoke', laptop.tokenId], { configDir: dir })).stdout).toBe(`[+] Token ${laptop.tokenId} revoked.\n`);
      expect((await call(s.url, 'GET', '/auth/whoami', second)).status).toBe(401);
    });
  });
});
