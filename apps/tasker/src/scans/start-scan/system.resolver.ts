import { promises as dns } from 'node:dns';
import type { Resolver } from '#domain';

const NO_ANSWER = new Set(['ENOTFOUND', 'ENODATA', 'ENONAME', 'ENXDOMAIN', 'NXDOMAIN', 'NODATA']);

/**
 * DNS through the system's resolvers (c-ares: asynchronous and cancellable), A and AAAA at once,
 * then getaddrinfo for names only the hosts file knows. Timeouts and retries are the domain's
 * (resolveHostnames); an empty answer is final, any other error is retried there.
 */
export class SystemResolver implements Resolver {
  async resolve(name: string, signal?: AbortSignal): Promise<readonly string[]> {
    const r = new dns.Resolver({ timeout: 1000, tries: 1 });
    const cancel = () => r.cancel();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      const answer = async (f: Promise<string[]>) => {
        try {
          return await f;
        } catch (e) {
          if (NO_ANSWER.has((e as { code?: string }).code ?? '')) return [];
          throw e;
        }
      };
      const [a, aaaa] = await Promise.all([answer(r.resolve4(name)), answer(r.resolve6(name))]);
      if (a.length || aaaa.length) return [...a, ...aaaa];
      try {
        return (await dns.lookup(name, { all: true, verbatim: true })).map((x) => x.address);
      } catch (e) {
        if (NO_ANSWER.has((e as { code?: string }).code ?? '')) return [];
        throw e;
      }
    } finally {
      signal?.removeEventListener('abort', cancel);
    }
  }
}

export const RESOLVER = Symbol('RESOLVER');
