import { collapseTargets, iterateTargetsWithHostnames, resolveHostnames, type HostnameResolution, type Resolver } from './resolution.js';
import { iterateTargets, parseTargets } from './targets.js';

/** An in-memory DNS: names map to answers; a function answer lets a test count calls or fail. */
class FakeResolver implements Resolver {
  readonly calls: string[] = [];
  constructor(private readonly table: Record<string, readonly string[] | (() => Promise<readonly string[]>)>) {}
  resolve(name: string): Promise<readonly string[]> {
    this.calls.push(name);
    const a = this.table[name];
    if (a === undefined) return Promise.resolve([]);
    return typeof a === 'function' ? a() : Promise.resolve(a);
  }
}

const fast = { timeoutMs: 1000, retries: 0, singleResolve: false };

describe('resolveHostnames', () => {
  it('returns every address per name, canonical and de-duplicated', async () => {
    const r = await resolveHostnames(['a.example', 'b.example'], new FakeResolver({ 'a.example': ['10.0.0.1', '2001:DB8::1', '10.0.0.1'], 'b.example': ['10.0.0.2'] }), fast);
    expect(r.get('a.example')).toEqual({ ok: true, ips: ['10.0.0.1', '2001:db8::1'] });
    expect(r.get('b.example')).toEqual({ ok: true, ips: ['10.0.0.2'] });
  });

  it('keeps only the first address with singleResolve', async () => {
    const r = await resolveHostnames(['cdn.example'], new FakeResolver({ 'cdn.example': ['10.0.0.9', '10.0.0.8'] }), { ...fast, singleResolve: true });
    expect(r.get('cdn.example')).toEqual({ ok: true, ips: ['10.0.0.9'] });
  });

  it('reports a name with no addresses as unresolvable without retrying it', async () => {
    const dns = new FakeResolver({});
    const r = await resolveHostnames(['nx.example'], dns, { ...fast, retries: 3 });
    expect(r.get('nx.example')).toMatchObject({ ok: false, reason: 'unresolvable' });
    expect(dns.calls).toEqual(['nx.example']);
  });

  it('drops answers that are not IP literals', async () => {
    const r = await resolveHostnames(['x.example'], new FakeResolver({ 'x.example': ['-iL /etc/passwd', '::ffff:10.0.0.1', '10.0.0.1;id'] }), fast);
    expect(r.get('x.example')).toMatchObject({ ok: false, reason: 'unresolvable' });
  });

  it('times out a resolver that never answers, after every retry', async () => {
    const dns = new FakeResolver({ 'slow.example': () => new Promise<never>(() => {}) });
    const r = await resolveHostnames(['slow.example'], dns, { timeoutMs: 15, retries: 2, singleResolve: false });
    expect(r.get('slow.example')).toMatchObject({ ok: false, reason: 'timeout' });
    expect(dns.calls).toHaveLength(3);
  });

  it('aborts the lookup it stops waiting for', async () => {
    let signal: AbortSignal | undefined;
    const resolver: Resolver = { resolve: (_n, s) => ((signal = s), new Promise<never>(() => {})) };
    await resolveHostnames(['slow.example'], resolver, { timeoutMs: 5, retries: 0, singleResolve: false });
    expect(signal?.aborted).toBe(true);
  });

  it('retries a failed lookup and takes a later answer', async () => {
    let n = 0;
    const dns = new FakeResolver({ 'flaky.example': () => (++n < 3 ? Promise.reject(new Error('SERVFAIL')) : Promise.resolve(['10.0.0.3'])) });
    const r = await resolveHostnames(['flaky.example'], dns, { ...fast, retries: 2 });
    expect(r.get('flaky.example')).toEqual({ ok: true, ips: ['10.0.0.3'] });
    const none = await resolveHostnames(['flaky.example'], new FakeResolver({ 'flaky.example': () => Promise.reject(new Error('SERVFAIL')) }), { ...fast, retries: 1 });
    expect(none.get('flaky.example')).toMatchObject({ ok: false, reason: 'unresolvable', message: expect.stringMatching(/SERVFAIL/) });
  });

  it('keeps no more lookups in flight than the concurrency allows', async () => {
    let inFlight = 0;
    let peak = 0;
    const resolver: Resolver = {
      resolve: async () => {
        peak = Math.max(peak, ++inFlight);
        await new Promise((r) => setTimeout(r, 1));
        inFlight--;
        return ['10.0.0.1'];
      },
    };
    const names = Array.from({ length: 20 }, (_, i) => `h${i}.example`);
    const r = await resolveHostnames(names, resolver, { ...fast, concurrency: 3 });
    expect(r.size).toBe(20);
    expect(peak).toBe(3);
  });
});

describe('collapseTargets', () => {
  const resolve = async (inputs: string[], table: Record<string, string[]>, opts: Parameters<typeof parseTargets>[1] = {}, single = false) => {
    const parsed = parseTargets(inputs, opts);
    const resolutions = await resolveHostnames(parsed.hostnames, new FakeResolver(table), { ...fast, singleResolve: single });
    return collapseTargets(parsed, resolutions);
  };

  it('collapses names onto IPs, keeping all names as metadata', async () => {
    // the doc example, with private addresses actually kept
    const c = await resolve(['192.168.0.1', '192.168.0.2', '192.168.0.2', '192.168.0.0/30', 'example.com', 'app.example.com', 'www.example.com'], {
      'example.com': ['192.168.0.1'],
      'app.example.com': ['192.168.0.3', '192.168.0.9'],
      'www.example.com': ['192.168.0.9'],
    });
    expect([...iterateTargetsWithHostnames(c)]).toEqual([
      { ip: '192.168.0.0', hostnames: [] },
      { ip: '192.168.0.1', hostnames: ['example.com'] },
      { ip: '192.168.0.2', hostnames: [] },
      { ip: '192.168.0.3', hostnames: ['app.example.com'] },
      { ip: '192.168.0.9', hostnames: ['app.example.com', 'www.example.com'] },
    ]);
    expect(c.summary).toEqual({
      provided: 7,
      duplicatesRemoved: 3,
      hostnamesCollapsed: 3,
      refused: {},
      accepted: 5,
      excludedByScope: 0,
      hostnamesPending: 0,
    });
  });

  it('maps each input to its IPs', async () => {
    const c = await resolve(['a.example', 'A.example.', '10.0.0.1'], { 'a.example': ['10.0.0.1', '10.0.0.2'] });
    expect(c.inputs).toEqual([
      { input: 'a.example', status: 'accepted', kind: 'hostname', normalized: 'a.example', duplicate: false, ips: ['10.0.0.1', '10.0.0.2'], excludedIps: [] },
      { input: 'A.example.', status: 'accepted', kind: 'hostname', normalized: 'a.example', duplicate: true, ips: ['10.0.0.1', '10.0.0.2'], excludedIps: [] },
      expect.objectContaining({ input: '10.0.0.1', status: 'accepted', kind: 'ip' }),
    ]);
    expect(c.hostnamesByIp.get('10.0.0.1')).toEqual(['a.example']);
    expect(c.summary).toMatchObject({ accepted: 2, hostnamesCollapsed: 1, duplicatesRemoved: 1 });
  });

  it('with singleResolve attaches the name to its first address only', async () => {
    const c = await resolve(['cdn.example'], { 'cdn.example': ['10.0.0.9', '10.0.0.8'] }, {}, true);
    expect([...iterateTargets(c.targets)]).toEqual(['10.0.0.9']);
  });

  it('refuses unresolvable names with their reason', async () => {
    const c = await resolve(['nx.example', 'nx.example', '10.0.0.1'], {});
    expect(c.inputs.map((o) => o.status === 'refused' && o.reason)).toEqual(['unresolvable', 'unresolvable', false]);
    expect(c.summary).toMatchObject({ refused: { unresolvable: 2 }, duplicatesRemoved: 0, accepted: 1 });
  });

  it('treats a name missing from the resolutions as unresolvable', () => {
    const c = collapseTargets(parseTargets(['a.example']), new Map<string, HostnameResolution>());
    expect(c.inputs[0]).toMatchObject({ status: 'refused', reason: 'unresolvable' });
  });

  it('scope-checks resolved addresses', async () => {
    const scope = { allow: ['10.0.0.0/24', 'trusted.example'], deny: ['10.0.0.66'] };
    const table = {
      'in.example': ['10.0.0.5', '198.51.100.8'],
      'out.example': ['8.8.4.4'],
      'trusted.example': ['203.0.113.7'],
      'denied.example': ['10.0.0.66'],
    };
    const c = await resolve(['in.example', 'out.example', 'trusted.example', 'denied.example'], table, { scope });
    expect(c.inputs.map((o) => (o.status === 'refused' ? o.reason : o.status === 'accepted' && o.kind === 'hostname' ? o.ips : null))).toEqual([
      ['10.0.0.5'],
      'out_of_scope',
      ['203.0.113.7'],
      'out_of_scope',
    ]);
    expect(c.inputs[0]).toMatchObject({ excludedIps: ['198.51.100.8'] });
    expect([...iterateTargets(c.targets)]).toEqual(['10.0.0.5', '203.0.113.7']);
    expect(c.summary.refused).toEqual({ out_of_scope: 2 });
  });
});
