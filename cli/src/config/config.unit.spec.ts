import { chmodSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError } from '../errors.js';
import { configDir } from './paths.js';
import { tokenFileProblem } from './permissions.js';
import { checkProfileName, checkUrl, ProfileStore } from './profiles.js';
import { resolveSettings } from './settings.js';

const fresh = () => new ProfileStore(mkdtempSync(join(tmpdir(), 'falcli-cfg-')));
const profile = { ledgerUrl: 'http://127.0.0.1:8081', taskerUrl: 'http://127.0.0.1:8080', currentProject: null };
const mode = (p: string) => statSync(p).mode & 0o777;

const thrown = (fn: () => unknown): CliError => {
  try {
    fn();
  } catch (e) {
    if (e instanceof CliError) return e;
    throw e;
  }
  throw new Error('did not throw');
};

describe('tokenFileProblem', () => {
  it('accepts 0600 and 0400, refuses anything group- or world-accessible and says who can read it', () => {
    expect(tokenFileProblem('/t', 0o100600, 'linux')).toBeNull();
    expect(tokenFileProblem('/t', 0o100400, 'linux')).toBeNull();
    expect(tokenFileProblem('/t', 0o100640, 'linux')).toMatch(/accessible by group \(mode 0640\)/);
    expect(tokenFileProblem('/t', 0o100604, 'linux')).toMatch(/accessible by others \(mode 0604\)/);
    expect(tokenFileProblem('/t', 0o100666, 'linux')).toMatch(/group and others \(mode 0666\); refusing/);
  });
});

describe('ProfileStore', () => {
  it('writes the token in its own 0600 file, never in the profile YAML', () => {
    const s = fresh();
    s.write('dev', profile);
    s.writeToken('dev', 'fal_secret');
    expect(mode(s.tokenPath('dev'))).toBe(0o600);
    expect(mode(s.profilePath('dev'))).toBe(0o600);
    expect(mode(join(s.dir, 'profiles'))).toBe(0o700);
    expect(s.readToken('dev')).toBe('fal_secret');
    expect(JSON.stringify(s.read('dev'))).not.toContain('fal_secret');
  });

  it('refuses a token file others can read, naming the file and the fix', () => {
    const s = fresh();
    s.write('dev', profile);
    s.writeToken('dev', 'fal_secret');
    chmodSync(s.tokenPath('dev'), 0o644);
    const e = thrown(() => s.readToken('dev'));
    expect(e.kind).toBe('config');
    expect(e.message).toContain(s.tokenPath('dev'));
    expect(e.hint).toBe(`make it private: chmod 600 ${s.tokenPath('dev')}`);
  });

  it('keeps the mode 0600 when a token is rewritten over a looser file', () => {
    const s = fresh();
    s.write('dev', profile);
    writeFileSync(s.tokenPath('dev'), 'old', { mode: 0o666 });
    chmodSync(s.tokenPath('dev'), 0o666);
    s.writeToken('dev', 'new');
    expect(mode(s.tokenPath('dev'))).toBe(0o600);
  });

  it('lists profiles, tracks the active one and forgets it when deleted', () => {
    const s = fresh();
    expect(s.activeName()).toBe('default');
    s.write('b', profile);
    s.write('a', profile);
    s.setActive('b');
    expect(s.names()).toEqual(['a', 'b']);
    expect(s.activeName()).toBe('b');
    s.remove('b');
    expect(s.names()).toEqual(['a']);
    expect(s.activeName()).toBe('default');
  });

  it('says which fields a hand-edited profile lacks, and when its YAML is broken', () => {
    const s = fresh();
    s.write('x', profile);
    writeFileSync(s.profilePath('x'), 'ledgerUrl: http://a\n');
    expect(thrown(() => s.read('x')).message).toMatch(/missing taskerUrl/);
    writeFileSync(s.profilePath('x'), 'ledgerUrl: [unclosed\n');
    expect(thrown(() => s.read('x')).message).toMatch(/not valid YAML/);
  });

  it('refuses names that could escape the profiles directory, and URLs that are not http(s)', () => {
    expect(thrown(() => checkProfileName('../etc')).kind).toBe('usage');
    expect(thrown(() => checkProfileName('.hidden')).kind).toBe('usage');
    expect(checkProfileName('prod-eu.1')).toBe('prod-eu.1');
    expect(thrown(() => checkUrl('ftp://x', 'ledger URL')).message).toMatch(/http:\/\/ or https:\/\//);
    expect(checkUrl('http://127.0.0.1:8081/', 'ledger URL')).toBe('http://127.0.0.1:8081');
  });
});

describe('configDir', () => {
  it('prefers FALCLI_CONFIG_DIR, then XDG_CONFIG_HOME, then ~/.config', () => {
    expect(configDir({ FALCLI_CONFIG_DIR: '/c', XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/c');
    expect(configDir({ XDG_CONFIG_HOME: '/x', HOME: '/h' })).toBe('/x/falcli');
    expect(configDir({ XDG_CONFIG_HOME: 'relative', HOME: '/h' })).toBe('/h/.config/falcli');
    expect(configDir({ HOME: '/h' })).toBe('/h/.config/falcli');
  });
});

describe('resolveSettings', () => {
  it('layers environment over the active profile', () => {
    const s = fresh();
    s.write('dev', { ...profile, currentProject: { id: 'p1', name: 'acme' } });
    s.writeToken('dev', 'fal_file');
    s.setActive('dev');
    const a = resolveSettings({ store: s, env: {} });
    expect([a.profileName, a.ledgerUrl, a.token, a.currentProject?.name]).toEqual(['dev', 'http://127.0.0.1:8081', 'fal_file', 'acme']);
    const b = resolveSettings({ store: s, env: { FALCLI_LEDGER_URL: 'http://other:1', FALCLI_TOKEN: 'fal_env', FALCLI_TIMEOUT: '5' } });
    expect([b.ledgerUrl, b.token, b.timeoutMs]).toEqual(['http://other:1', 'fal_env', 5000]);
  });

  it('runs from the environment alone, with no profile at all', () => {
    const s = resolveSettings({ store: fresh(), env: { FALCLI_LEDGER_URL: 'http://l:1', FALCLI_TOKEN: 't' } });
    expect([s.profile, s.ledgerUrl, s.taskerUrl]).toEqual([null, 'http://l:1', 'http://127.0.0.1:8080']);
  });

  it('explains what to do when nothing is configured, the named profile is missing, or it has no token', () => {
    expect(thrown(() => resolveSettings({ store: fresh(), env: {} })).hint).toMatch(/falcli profile create default/);
    expect(thrown(() => resolveSettings({ store: fresh(), env: {}, profile: 'prod' })).message).toBe("profile 'prod' does not exist");
    const s = fresh();
    s.write('default', profile);
    const e = thrown(() => resolveSettings({ store: s, env: {} }));
    expect([e.kind, e.message]).toEqual(['config', "profile 'default' has no token"]);
  });
});
