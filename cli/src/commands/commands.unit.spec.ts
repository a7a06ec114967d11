import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import type { Command } from 'commander';
import { CliError } from '../errors.js';
import { checkNmapReport, readTargetsFile } from '../local-files.js';
import { main } from '../main.js';
import { buildProgram } from '../program.js';
import { parsePortRef } from './audit.js';
import { bashCompletion, completionTable } from './completion.js';
import type { Io } from './context.js';
import { chooseTargets, combine, readScanConfig } from './scan.js';
import { parseClause } from './search.js';
import { lifetime } from './shared.js';

function fakeIo(env: NodeJS.ProcessEnv = {}): Io & { out: () => string; err: () => string } {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  return { stdout: stdout as never, stderr: stderr as never, stdin: new PassThrough(), env, out: () => out, err: () => err };
}

function leaves(cmd: Command, path: string[] = []): Array<{ path: string; cmd: Command }> {
  const here = [...path, cmd.name()];
  return cmd.commands.length ? cmd.commands.flatMap((c) => leaves(c, here)) : [{ path: here.join(' '), cmd }];
}

const dir = () => mkdtempSync(join(tmpdir(), 'falcli-cmd-'));

describe('the command tree', () => {
  const program = buildProgram(fakeIo());
  const all = leaves(program);

  it('gives every command an example in its --help', () => {
    const withoutExample = all.filter(({ cmd }) => {
      let text = '';
      cmd.configureOutput({ writeOut: (s) => (text += s), writeErr: (s) => (text += s) });
      cmd.outputHelp();
      return !/Examples:\n {2}\$ falcli /.test(text) && !/Examples:\n {2}\$ (source|echo) /.test(text);
    });
    expect(withoutExample.map((l) => l.path)).toEqual([]);
    expect(all.length).toBeGreaterThan(50);
  });

  it('offers --json on every read command', () => {
    const reads = /\b(list|get|show|status|validate|history|search|facets|audit|diff|explain|coverage|checksum|imports|import-status|workers)$/;
    const lacking = all.filter(({ path, cmd }) => reads.test(path) && !cmd.options.some((o) => o.long === '--json')).map((l) => l.path);
    expect(lacking).toEqual([]);
  });

  it('documents the exit codes in the top-level help', async () => {
    const io = fakeIo();
    expect(await main(['node', 'falcli', '--help'], io)).toBe(0);
    expect(io.out()).toMatch(/Exit codes:\n {4}0 {2}success\n {4}1 .*\n {4}2 {2}bad flags/);
    expect(io.out()).toContain('  9  the server does not serve this feature yet');
  });

  it('answers usage mistakes with exit code 2 and help on stderr', async () => {
    const io = fakeIo();
    expect(await main(['node', 'falcli', 'project', 'nosuch'], io)).toBe(2);
    expect(io.err()).toContain("unknown command 'nosuch'");
    const io2 = fakeIo();
    expect(await main(['node', 'falcli', 'project', 'ips', 'import', '--mode', 'merge'], io2)).toBe(2);
    expect(io2.err()).toMatch(/Allowed choices are insert, append, update, replace/);
  });

  it('reports a missing configuration with exit code 8, as JSON on stderr with --json', async () => {
    const io = fakeIo({ FALCLI_CONFIG_DIR: dir() });
    expect(await main(['node', 'falcli', 'project', 'list', '--json'], io)).toBe(8);
    expect(io.out()).toBe('');
    expect(JSON.parse(io.err())).toMatchObject({ error: { kind: 'config', exitCode: 8, message: 'no server configured: there is no profile yet' } });
  });
});

describe('completion', () => {
  const program = buildProgram(fakeIo());

  it('knows every command path and its options', () => {
    const t = completionTable(program);
    expect(t.get('')).toEqual(expect.arrayContaining(['profile', 'project', 'scan', 'ui', '--profile']));
    expect(t.get('project ips')).toEqual(expect.arrayContaining(['list', 'import', 'history', 'download', 'delete']));
    expect(t.get('project ips import')).toEqual(expect.arrayContaining(['--mode', '--file', '--project', '--json']));
  });

  it('completes in a real bash', () => {
    const script = bashCompletion(program);
    const complete = (words: string[]) =>
      execFileSync('bash', ['-c', `${script}\nCOMP_WORDS=(${words.map((w) => `'${w}'`).join(' ')}); COMP_CWORD=${words.length - 1}; _falcli; echo "\${COMPREPLY[*]}"`], { encoding: 'utf8' }).trim().split(' ');
    expect(complete(['falcli', 'pro'])).toEqual(['profile', 'project']);
    expect(complete(['falcli', 'project', 'ips', 'imp'])).toEqual(['import', 'import-status', 'imports']);
    expect(complete(['falcli', '--profile', 'x', 'project', 'members', ''])).toEqual(expect.arrayContaining(['list', 'add', 'set-role', 'remove']));
    expect(complete(['falcli', 'scan', 'start', '--scan'])).toEqual(['--scan-profile']);
  });
});

describe('argument parsers', () => {
  it('reads search clauses as key=value pairs held on one port', () => {
    expect(parseClause('port=443,service=http', [{ port: 80 }])).toEqual([{ port: 80 }, { port: 443, service: 'http' }]);
    expect(() => parseClause('port=https')).toThrow(/port must be a number/);
    expect(() => parseClause('colour=red')).toThrow(/expected key=value pairs/);
  });

  it('reads IP:PORT[/PROTO], IPv6 in brackets', () => {
    expect(parsePortRef('10.0.0.5:443')).toEqual({ ip: '10.0.0.5', port: 443, proto: 'tcp' });
    expect(parsePortRef('[2001:db8::1]:53/udp')).toEqual({ ip: '2001:db8::1', port: 53, proto: 'udp' });
    expect(() => parsePortRef('10.0.0.5')).toThrow(/IP:PORT/);
    expect(() => parsePortRef('10.0.0.5:70000')).toThrow(/IP:PORT/);
  });

  it('reads token lifetimes', () => {
    expect([lifetime('3600'), lifetime('90m'), lifetime('12h'), lifetime('30d'), lifetime('2w')]).toEqual([3600, 5400, 43200, 2592000, 1209600]);
    expect(() => lifetime('forever')).toThrow(/lifetime/);
  });
});

describe('scan targets and configs', () => {
  it('takes --hosts over --targets-file over the config hosts, which need --from-config', () => {
    const d = dir();
    writeFileSync(join(d, 't.txt'), '10.0.0.1\n\n  # lab\n10.0.0.0/30  # the lab\nexample.com\n');
    expect(chooseTargets({ hosts: ['203.0.113.1'], targetsFile: join(d, 't.txt') }, ['203.0.113.9'])).toEqual(['203.0.113.1']);
    expect(chooseTargets({ targetsFile: join(d, 't.txt') }, ['203.0.113.9'])).toEqual(['10.0.0.1', '10.0.0.0/30', 'example.com']);
    expect(chooseTargets({ fromConfig: true }, ['203.0.113.9'])).toEqual(['203.0.113.9']);
    expect(() => chooseTargets({}, ['203.0.113.9'])).toThrow(/no targets given/);
    expect(() => chooseTargets({ targetsFile: join(d, 'none.txt') }, [])).toThrow(/no such file/);
  });

  it('validates a config file with the tasker’s own rules before anything is sent', () => {
    const d = dir();
    writeFileSync(join(d, 'ok.yaml'), 'description: quick\nhosts: [127.0.0.1, 127.0.0.2]\nopenPorts:\n  ports: "1-1000"\n  maxRetries: 1\n');
    expect(readScanConfig(join(d, 'ok.yaml'))).toEqual({ config: { openPorts: { ports: '1-1000', maxRetries: 1 } }, hosts: ['127.0.0.1', '127.0.0.2'] });
    writeFileSync(join(d, 'bad.yaml'), 'openPorts:\n  maxRetries: many\n  args: "-iL /etc/passwd"\n');
    const e = (() => {
      try {
        readScanConfig(join(d, 'bad.yaml'));
      } catch (x) {
        return x as CliError;
      }
    })()!;
    expect(e.kind).toBe('file');
    expect(e.message).toMatch(/openPorts\.maxRetries/);
    writeFileSync(join(d, 'broken.yaml'), 'openPorts: [\n');
    expect(() => readScanConfig(join(d, 'broken.yaml'))).toThrow(/not valid YAML/);
  });

  it('adds up the counts and running targets of several scans', () => {
    const v = combine([
      { scanId: 'a', counts: { queued: 1, running: 2, done: 3 }, running: [{ ip: '127.0.0.1' }] },
      { scanId: 'b', counts: { failed: 1, total: 5 }, running: [{ ip: '127.0.0.2' }] },
    ]);
    expect(v.counts).toEqual({ queued: 1, running: 2, done: 3, failed: 1, cancelled: 0, total: 11 });
    expect(v.running.map((t) => t.ip)).toEqual(['127.0.0.1', '127.0.0.2']);
  });
});

describe('checkNmapReport', () => {
  it('accepts nmap and masscan XML, refuses other files with the reason', () => {
    const d = dir();
    writeFileSync(join(d, 'nmap.xml'), '<?xml version="1.0"?>\n<!DOCTYPE nmaprun>\n<?xml-stylesheet href="nmap.xsl"?>\n<nmaprun scanner="nmap" args="nmap -oX">');
    writeFileSync(join(d, 'masscan.xml'), '<?xml version="1.0"?><nmaprun scanner="masscan">');
    writeFileSync(join(d, 'empty.xml'), '');
    writeFileSync(join(d, 'other.xml'), '<?xml version="1.0"?><report/>');
    expect(checkNmapReport(join(d, 'nmap.xml')).size).toBeGreaterThan(0);
    expect(checkNmapReport(join(d, 'masscan.xml')).size).toBeGreaterThan(0);
    expect(() => checkNmapReport(join(d, 'empty.xml'))).toThrow(/is empty/);
    expect(() => checkNmapReport(join(d, 'other.xml'))).toThrow(/not an nmap XML report/);
    expect(() => checkNmapReport(join(d, 'missing.xml'))).toThrow(/no such file/);
    expect(() => checkNmapReport(d)).toThrow(/is a directory/);
  });

  it('reads target files without blank lines or comments', () => {
    expect(readTargetsFile('a\r\n\n b \n# c\nd # e\n')).toEqual(['a', 'b', 'd']);
  });
});
