// Test helpers for the UI: the real api module over a scripted fetch, and a render that supplies
// every provider. Used by *.unit.spec.tsx only.
import type { ReactElement } from 'react';
import { render } from 'ink-testing-library';
import { createApi, type Api } from '../api/index.js';
import { NO_COLOR_THEME, DepsProvider, type UiDeps } from './context.js';

export type Reply = unknown | { readonly status: number; readonly body: unknown };
export type Handler = Reply | ((url: URL, body: unknown) => Reply);

const isReply = (r: unknown): r is { status: number; body: unknown } => typeof r === 'object' && r !== null && 'status' in r && 'body' in r && typeof (r as { status: unknown }).status === 'number';

/**
 * A fetch that answers `"GET /projects"`-style keys (path without query). Anything else gets
 * Nest's own 404 for an unknown route, which the api module reads as "not available yet".
 */
export function scriptedFetch(routes: Record<string, Handler>, calls: string[] = []): typeof fetch {
  return (async (input: string | URL | Request, init?: RequestInit) => {
    const url = new URL(String(input));
    const method = init?.method ?? 'GET';
    const key = `${method} ${url.pathname}`;
    calls.push(`${key}${url.search}`);
    const h = routes[key];
    const body = typeof init?.body === 'string' ? JSON.parse(init.body) : undefined;
    const reply = h === undefined ? { status: 404, body: { statusCode: 404, message: `Cannot ${method} ${url.pathname}`, error: 'Not Found' } } : typeof h === 'function' ? (h as (u: URL, b: unknown) => Reply)(url, body) : h;
    const { status, body: out } = isReply(reply) ? reply : { status: 200, body: reply };
    return new Response(status === 204 ? null : JSON.stringify(out), { status, headers: { 'content-type': 'application/json' } });
  }) as typeof fetch;
}

export function fakeApi(routes: Record<string, Handler>, calls: string[] = []): Api {
  const f = scriptedFetch(routes, calls);
  return createApi({ ledgerUrl: 'http://ledger.test', taskerUrl: 'http://tasker.test', token: 'fal_test', fetch: f, timeoutMs: 2000 });
}

export function renderWith(element: ReactElement, deps: Partial<UiDeps> & { api: Api }) {
  const full: UiDeps = { intervalMs: 60_000, theme: NO_COLOR_THEME, cwd: process.cwd(), ...deps };
  return render(<DepsProvider deps={full}>{element}</DepsProvider>);
}

/** Lets effects, fetches and ink's render settle. */
export const settle = (ms = 60) => new Promise((r) => setTimeout(r, ms));

export const KEY = { up: '\u001B[A', down: '\u001B[B', right: '\u001B[C', left: '\u001B[D', enter: '\r', escape: '\u001B', backspace: '\u007F', tab: '\t' } as const;

/** Writes keys one at a time, as a person types them, letting the UI react between keys. */
export async function press(stdin: { write(s: string): void }, ...keys: string[]): Promise<void> {
  for (const k of keys) {
    stdin.write(k);
    await settle(40);
  }
  await settle(80);
}

/** Polls the frame until `test` holds, so a test waits for a fetch without fixed sleeps. */
export async function waitForFrame(lastFrame: () => string | undefined, test: (f: string) => boolean, timeoutMs = 3000): Promise<string> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const f = lastFrame() ?? '';
    if (test(f)) return f;
    if (Date.now() > until) throw new Error(`frame never matched; last frame:\n${f}`);
    await settle(20);
  }
}
