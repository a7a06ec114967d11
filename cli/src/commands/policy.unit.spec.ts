import { PassThrough } from 'node:stream';
import { CliError } from '../errors.js';
import { main } from '../main.js';
import { parseBudget, parseWindow } from './project.js';

describe('scan policy flags', () => {
  it('reads budgets as CIDR:maxHosts[:maxPps]', () => {
    expect(parseBudget('10.0.0.0/16:2:300')).toEqual({ cidr: '10.0.0.0/16', maxHosts: 2, maxPps: 300 });
    expect(parseBudget('2001:db8::/64:1')).toEqual({ cidr: '2001:db8::/64', maxHosts: 1 });
    expect(() => parseBudget('10.0.0.0/16')).toThrow(CliError);
    expect(() => parseBudget('10.0.0.0:2')).toThrow(/CIDR:maxHosts/);
  });

  it('reads a window as HH:MM-HH:MM in the given zone', () => {
    expect(parseWindow('22:00-06:00', 'Europe/Berlin')).toEqual({ start: '22:00', end: '06:00', timeZone: 'Europe/Berlin' });
    expect(() => parseWindow('22-06', 'UTC')).toThrow(/HH:MM-HH:MM/);
  });
});

describe('the emergency stop commands', () => {
  const io = () => {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let err = '';
    stderr.on('data', (c) => (err += c));
    return { stdout: stdout as never, stderr: stderr as never, stdin: new PassThrough(), env: {}, err: () => err };
  };

  it('refuses --all without --now, and resume without --all, as usage errors (exit 2)', async () => {
    const a = io();
    expect(await main(['node', 'falcli', 'scan', 'stop', '--all'], a)).toBe(2);
    expect(a.err()).toContain('needs --now');
    const b = io();
    expect(await main(['node', 'falcli', 'scan', 'resume'], b)).toBe(2);
    expect(b.err()).toContain('--all');
  });
});
