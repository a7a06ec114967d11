import { createServer, type IncomingMessage } from 'node:http';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import busboy from 'busboy';
import { errorFromNetwork, errorFromResponse, isMissingRoute, serverMessage } from './errors.js';
import { buildQuery, HttpClient } from './http.js';
import { normalizeChange, normalizeHost, banner } from './normalize.js';
import { uploadMultipart } from './upload.js';
import { ledgerApi } from './ledger.js';
import { ApiError } from './index.js';

const at = { service: 'ledger' as const, baseUrl: 'http://127.0.0.1:8081', method: 'GET', path: '/projects/x' };
const body = (o: object) => JSON.stringify(o);

describe('errors from HTTP answers', () => {
  it.each([
    [401, { statusCode: 401, message: 'missing, invalid, expired or revoked token' }, 'auth', /refused the token \(401/],
    [403, { statusCode: 403, message: 'your role does not allow members.manage' }, 'auth', /not allowed: your role/],
    [404, { statusCode: 404, message: 'project x not found' }, 'notFound', /^not found: project x not found$/],
    [404, { statusCode: 404, message: 'Cannot GET /projects/x/coverage', error: 'Not Found' }, 'unavailable', /not available on this server yet/],
    [400, { statusCode: 400, message: ['name must be 1-64 characters', 'comment too long'] }, 'rejected', /name must be 1-64 characters; comment too long \(400\)/],
    [422, { statusCode: 422, code: 'REPORT.TRUNCATED', message: 'the report ends before </nmaprun>' }, 'rejected', /ends before/],
    [413, { statusCode: 413, message: 'too large' }, 'rejected', /too large \(413\)/],
    [503, { statusCode: 503, message: 'kafka down' }, 'server', /failed: kafka down \(503\)/],
  ])('%i → %s', (status, payload, kind, text) => {
    const e = errorFromResponse(status, body(payload), at);
    expect(e.kind).toBe(kind);
    expect(e.message).toMatch(text);
    expect(e.status).toBe(status);
  });

  it('tells an unserved route from a missing thing by Nest’s wording', () => {
    expect(isMissingRoute(404, 'Cannot POST /projects/1/hosts/search')).toBe(true);
    expect(isMissingRoute(404, 'host 10.0.0.1 not found in this project')).toBe(false);
    expect(isMissingRoute(400, 'Cannot GET /x')).toBe(false);
  });

  it('reads the server message from JSON, lists of errors, or plain text', () => {
    expect(serverMessage(body({ message: 'invalid scope', errors: [{ entry: '10.0.0.0/33', message: 'bad prefix' }] }))).toMatch(/^invalid scope: .*bad prefix/);
    expect(serverMessage('<html>Bad Gateway</html>')).toBe('<html>Bad Gateway</html>');
    expect(serverMessage('')).toBe('(empty body)');
  });

  it('names the URL and the way out when nothing listens, and refuses to skip TLS checks', () => {
    const refused = errorFromNetwork(Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNREFUSED' } }), at, 60000);
    expect(refused.kind).toBe('server');
    expect(refused.message).toBe('cannot reach the ledger at http://127.0.0.1:8081: connection refused (nothing is listening)');
    expect(refused.hint).toMatch(/npm start/);
    expect(errorFromNetwork({ cause: { name: 'TimeoutError' } }, at, 5000).message).toMatch(/within 5 s/);
    expect(errorFromNetwork({ cause: { code: 'DEPTH_ZERO_SELF_SIGNED_CERT' } }, at, 5000).hint).toMatch(/NODE_EXTRA_CA_CERTS/);
  });
});

describe('HttpClient', () => {
  const recording = (replies: Array<Response | Error>) => {
    const calls: Array<{ url: string; init: RequestInit }> = [];
    const f = (async (url: string, init: RequestInit) => {
      calls.push({ url, init });
      const r = replies.shift()!;
      if (r instanceof Error) throw r;
      return r;
    }) as unknown as typeof fetch;
    return { calls, f };
  };

  it('sends the bearer token and JSON, drops empty query values, and reads 204 as nothing', async () => {
    const { calls, f } = recording([new Response(body({ ok: 1 }), { status: 200 }), new Response(null, { status: 204 })]);
    const http = new HttpClient({ service: 'ledger', baseUrl: 'http://l/', token: 'fal_x', fetch: f });
    expect(await http.json('POST', '/p', { body: { a: 1 }, query: { limit: 5, cursor: undefined, q: '', on: true } })).toEqual({ ok: 1 });
    expect(calls[0].url).toBe('http://l/p?limit=5&on=true');
    expect((calls[0].init.headers as Record<string, string>).authorization).toBe('Bearer fal_x');
    expect(calls[0].init.body).toBe('{"a":1}');
    expect(await http.json('DELETE', '/p')).toBeUndefined();
  });

  it('retries a read whose connection broke, but never a write', async () => {
    const reset = () => Object.assign(new TypeError('fetch failed'), { cause: { code: 'ECONNRESET' } });
    const a = recording([reset(), new Response(body({ ok: 1 }))]);
    expect(await new HttpClient({ service: 'ledger', baseUrl: 'http://l', token: null, fetch: a.f }).json('GET', '/x')).toEqual({ ok: 1 });
    expect(a.calls).toHaveLength(2);
    const b = recording([reset(), new Response(body({ ok: 1 }))]);
    await expect(new HttpClient({ service: 'ledger', baseUrl: 'http://l', token: null, fetch: b.f }).json('POST', '/x')).rejects.toBeInstanceOf(ApiError);
    expect(b.calls).toHaveLength(1);
  });

  it('gives up after the timeout with a server error that says so', async () => {
    const hang = ((_u: string, init: RequestInit) => new Promise((_r, reject) => init.signal!.addEventListener('abort', () => reject(init.signal!.reason)))) as unknown as typeof fetch;
    const http = new HttpClient({ service: 'tasker', baseUrl: 'http://t', token: null, fetch: hang, timeoutMs: 50 });
    await expect(http.json('POST', '/x')).rejects.toMatchObject({ kind: 'server', message: 'no answer from the tasker at http://t within 0.05 s' });
  });

  it('polls an accepted import the projector does not know yet as still applying, but not other errors', async () => {
    const job = { importId: 'i1', status: 'applying' } as const;
    const notYet = new Response(body({ statusCode: 404, message: 'import i1 not found' }), { status: 404 });
    const { calls, f } = recording([notYet, new Response(body({ importId: 'i1', status: 'completed' })), new Response(body({ message: 'no' }), { status: 403 })]);
    const api = ledgerApi(new HttpClient({ service: 'ledger', baseUrl: 'http://l', token: null, fetch: f }));
    expect(await api.pollImport('p1', job)).toBe(job);
    expect(await api.pollImport('p1', job)).toEqual({ importId: 'i1', status: 'completed' });
    await expect(api.pollImport('p1', job)).rejects.toMatchObject({ kind: 'auth', status: 403 });
    expect(calls.map((c) => c.url)).toEqual(Array(3).fill('http://l/projects/p1/imports/i1'));
  });

  it('builds repeated parameters for lists', () => {
    expect(buildQuery({ ip: ['a', 'b'], n: 0 })).toBe('?ip=a&ip=b&n=0');
    expect(buildQuery({})).toBe('');
  });
});

describe('normalizeHost', () => {
  it('reads the ledger host detail (ports as a list, service as an object)', () => {
    const h = normalizeHost({
      ip: '10.0.0.1',
      status: { state: 'up', reason: 'syn-ack' },
      hostnames: [{ name: 'web.example', types: ['user'] }],
      os: { matches: [{ name: 'Linux 5.X', classes: [] }], portsUsed: [] },
      ports: [
        { proto: 'tcp', port: 80, state: 'open', service: { name: 'http', product: 'nginx', version: '1.18' }, scripts: [{ id: 'http-title', output: 'Hi', nodes: [] }] },
        { proto: 'tcp', port: 22, state: 'closed', service: {}, scripts: [] },
      ],
      hostScripts: [],
      firstSeen: '2026-01-01T00:00:00Z',
      lastSeen: '2026-01-02T00:00:00Z',
    });
    expect([h.ip, h.status, h.os, h.hostnames, h.openPortCount]).toEqual(['10.0.0.1', 'up', 'Linux 5.X', ['web.example'], 1]);
    expect(h.ports.map((p) => [p.port, p.state, p.service, banner(p)])).toEqual([
      [22, 'closed', null, '-'],
      [80, 'open', 'http', 'nginx 1.18'],
    ]);
    expect(h.ports[1].scripts).toEqual([{ id: 'http-title', output: 'Hi' }]);
  });

  it('reads list rows (service as a string, a port count) and raw HostState facts keyed tcp/22', () => {
    const row = normalizeHost({ ip: '10.0.0.2', hostnames: ['a.example'], openPortCount: 40, ports: [{ proto: 'tcp', port: 443, state: 'open', service: 'https', product: 'Apache httpd', version: null }] });
    expect([row.openPortCount, row.ports[0].service, row.ports[0].product]).toEqual([40, 'https', 'Apache httpd']);
    const fact = <T,>(value: T) => ({ value, eventId: 'e', observedAt: 't' });
    const state = normalizeHost({ ip: '10.0.0.3', status: fact({ state: 'up' }), hostnames: { 'x.example': {} }, ports: { 'udp/53': { state: 'open', service: { name: fact('domain'), product: fact('dnsmasq') }, scripts: { 'dns-nsid': fact({ id: 'dns-nsid', output: 'id' }) } } } });
    expect([state.status, state.hostnames, state.ports[0].proto, state.ports[0].port, state.ports[0].service, state.ports[0].product, state.ports[0].scripts[0].id]).toEqual(['up', ['x.example'], 'udp', 53, 'domain', 'dnsmasq', 'dns-nsid']);
  });

  it('reads a history row with its provenance', () => {
    const c = normalizeChange({ ip: '10.0.0.1', proto: 'tcp', port: 80, field: 'service.product', old: 'Apache', new: null, observedAt: '2026-01-01T00:00:00Z', source: { kind: 'import', importId: '7f3c2a10-aaaa' } });
    expect(c).toEqual({ ip: '10.0.0.1', port: 80, proto: 'tcp', field: 'service.product', old: 'Apache', new: null, at: '2026-01-01T00:00:00Z', source: 'import:7f3c2a10' });
    expect(normalizeChange({ ip: '203.0.113.1', port: null, field: 'hostname', old: null, new: ['a', 'b'] })).toMatchObject({ port: null, new: 'a, b' });
  });
});

describe('uploadMultipart', () => {
  it('streams fields before the file, with an exact content-length, and reports progress up to the total', async () => {
    const seen: { fields: Record<string, string>; file: string; length: string | undefined; auth: string | undefined } = { fields: {}, file: '', length: undefined, auth: undefined };
    const server = createServer((req: IncomingMessage, res) => {
      seen.length = req.headers['content-length'];
      seen.auth = req.headers.authorization;
      const bb = busboy({ headers: req.headers });
      bb.on('field', (k, v) => (seen.fields[k] = v));
      bb.on('file', (_n, s) => s.on('data', (c: Buffer) => (seen.file += c.toString())));
      bb.on('close', () => res.writeHead(202, { 'content-type': 'application/json' }).end(body({ importId: 'i1', status: 'applying' })));
      req.pipe(bb);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'falcli-up-'));
    const path = join(dir, 'r.xml');
    const content = '<nmaprun>' + 'x'.repeat(300_000) + '</nmaprun>';
    writeFileSync(path, content);
    const progress: Array<[number, number]> = [];
    try {
      const http = new HttpClient({ service: 'ledger', baseUrl: `http://127.0.0.1:${port}`, token: 'fal_t' });
      const res = await uploadMultipart<{ importId: string }>(http, '/projects/p/imports', { mode: 'replace', trackHistory: 'false' }, { path, size: content.length }, (s, t) => progress.push([s, t]));
      expect(res).toEqual({ importId: 'i1', status: 'applying' });
    } finally {
      server.close();
      server.closeAllConnections();
    }
    expect(seen.fields).toEqual({ mode: 'replace', trackHistory: 'false' });
    expect(seen.file).toBe(content);
    expect(seen.auth).toBe('Bearer fal_t');
    const [sent, total] = progress.at(-1)!;
    expect(sent).toBe(total);
    expect(String(total)).toBe(seen.length);
    expect(progress.length).toBeGreaterThan(2);
  });

  it('turns a refusal into the same errors as any other call', async () => {
    const server = createServer((req, res) => {
      req.resume();
      res.writeHead(401, { 'content-type': 'application/json' }).end(body({ statusCode: 401, message: 'missing, invalid, expired or revoked token' }));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const port = (server.address() as { port: number }).port;
    const dir = mkdtempSync(join(tmpdir(), 'falcli-up-'));
    writeFileSync(join(dir, 'r.xml'), '<nmaprun/>');
    try {
      const http = new HttpClient({ service: 'ledger', baseUrl: `http://127.0.0.1:${port}`, token: 'bad' });
      await expect(uploadMultipart(http, '/x', {}, { path: join(dir, 'r.xml'), size: 10 })).rejects.toMatchObject({ kind: 'auth' });
    } finally {
      server.close();
      server.closeAllConnections();
    }
  });
});

describe('uploadMultipart waiting for the answer', () => {
  /** Takes the whole upload, then answers after `delayMs` (never, if null). */
  async function slowServer(delayMs: number | null) {
    const server = createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        if (delayMs !== null) setTimeout(() => res.writeHead(202, { 'content-type': 'application/json' }).end(body({ importId: 'i1', status: 'applying' })), delayMs);
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const dir = mkdtempSync(join(tmpdir(), 'falcli-slow-'));
    writeFileSync(join(dir, 'r.xml'), '<nmaprun/>');
    // The client's limit for silence while the file goes out: 100 ms.
    const http = new HttpClient({ service: 'ledger', baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, token: 't', timeoutMs: 100 });
    const close = () => {
      server.close();
      server.closeAllConnections();
    };
    return { http, close, file: { path: join(dir, 'r.xml'), size: 10 } };
  }

  it('waits for a server that works on the whole upload longer than the client timeout, when told to', async () => {
    const s = await slowServer(400);
    try {
      await expect(uploadMultipart(s.http, '/x', {}, s.file, undefined, { timeoutMs: 5000, hint: 'h' })).resolves.toEqual({ importId: 'i1', status: 'applying' });
      // Without an answer wait, the client's own limit applies after the upload too.
      await expect(uploadMultipart(s.http, '/x', {}, s.file)).rejects.toMatchObject({ message: 'no answer from the ledger at ' + s.http.baseUrl + ' within 0.1 s' });
    } finally {
      s.close();
    }
  });

  it('gives up on a server that never answers, saying the upload arrived and what to check', async () => {
    const s = await slowServer(null);
    try {
      await expect(uploadMultipart(s.http, '/x', {}, s.file, undefined, { timeoutMs: 300, hint: 'see the imports' })).rejects.toMatchObject({
        kind: 'server',
        message: `the ledger at ${s.http.baseUrl} took the whole upload but has not answered within 0.3 s`,
        hint: 'see the imports',
      });
    } finally {
      s.close();
    }
  });
});

describe('import upload resends', () => {
  const nothingApplied = body({ statusCode: 503, error: 'Service Unavailable', importId: 'i0', status: 'failed', message: 'the event log did not take the whole import (broker unavailable); nothing of it was applied, and it is recorded as failed once the broker is back; send the file again' });
  /** A ledger that answers each upload with the next reply, and keeps what it received. */
  async function ledger(replies: Array<[number, string]>) {
    const files: string[] = [];
    const server = createServer((req, res) => {
      let file = '';
      const bb = busboy({ headers: req.headers });
      bb.on('file', (_n, s) => s.on('data', (c: Buffer) => (file += c.toString())));
      bb.on('close', () => {
        files.push(file);
        const [status, text] = replies.shift() ?? [500, body({ message: 'no more replies' })];
        res.writeHead(status, { 'content-type': 'application/json' }).end(text);
      });
      req.pipe(bb);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const api = ledgerApi(new HttpClient({ service: 'ledger', baseUrl: `http://127.0.0.1:${(server.address() as { port: number }).port}`, token: 't' }));
    const dir = mkdtempSync(join(tmpdir(), 'falcli-resend-'));
    const path = join(dir, 'r.xml');
    writeFileSync(path, '<nmaprun/>');
    const close = () => {
      server.close();
      server.closeAllConnections();
    };
    return { api, files, close, file: { path, size: 10 } };
  }
  const opts = { mode: 'update', trackHistory: true, force: false } as const;

  it('sends the file again when the ledger answers that nothing of it was applied, and returns the accepted attempt', async () => {
    const l = await ledger([[503, nothingApplied], [503, nothingApplied], [202, body({ importId: 'i2', status: 'applying' })]]);
    const told: number[][] = [];
    try {
      const job = await l.api.startImport('p', l.file, opts, undefined, { delayMs: (n) => n, onResend: (n, of, ms) => told.push([n, of, ms]) });
      expect(job).toEqual({ importId: 'i2', status: 'applying' });
    } finally {
      l.close();
    }
    expect(l.files).toEqual(['<nmaprun/>', '<nmaprun/>', '<nmaprun/>']);
    expect(told).toEqual([[1, 3, 1], [2, 3, 2]]);
  });

  it('reports the answer once the resends are used up, and never resends other failures', async () => {
    const l = await ledger([[503, nothingApplied], [503, nothingApplied], [503, body({ statusCode: 503, message: 'not ready' })], [500, body({ importId: 'i9', status: 'failed', message: 'boom' })]]);
    try {
      await expect(l.api.startImport('p', l.file, opts, undefined, { resends: 1, delayMs: () => 1 })).rejects.toMatchObject({ kind: 'server', status: 503, answer: { status: 'failed', importId: 'i0' } });
      expect(l.files).toHaveLength(2);
      // A 503 without the import's failed status (the ledger not ready) guarantees nothing: reported as is.
      await expect(l.api.startImport('p', l.file, opts, undefined, { delayMs: () => 1 })).rejects.toMatchObject({ status: 503, message: expect.stringContaining('not ready') });
      await expect(l.api.startImport('p', l.file, opts, undefined, { delayMs: () => 1 })).rejects.toMatchObject({ status: 500 });
      expect(l.files).toHaveLength(4);
    } finally {
      l.close();
    }
  });
});
