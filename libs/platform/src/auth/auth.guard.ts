import { Optional, ForbiddenException, HttpException, HttpStatus, Inject, Injectable, InternalServerErrorException, NotFoundException, UnauthorizedException, type CanActivate, type ExecutionContext } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { authenticate, authorize, isAuthFailure, type Principal } from '#domain';
import type { KafkaEnv } from '../config/common.config.js';
import type { JsonLogger } from '../logging/json-logger.js';
import { ACCESS_KEY, type AccessRequirement } from './access.decorator.js';
import type { AccessView } from './access-view.js';

export const ACCESS_VIEW = Symbol('ACCESS_VIEW');
export const AUTH_LOGGER = Symbol('AUTH_LOGGER');
export const AUTH_CONFIG = Symbol('AUTH_CONFIG');

interface Req {
  headers: Record<string, string | string[] | undefined>;
  params: Record<string, string>;
  ip?: string;
  principal?: Principal;
}

/** Token failures per client address, to slow down guessing. */
class FailureLimiter {
  private readonly hits = new Map<string, number[]>();
  constructor(private readonly max = 20, private readonly windowMs = 60000) {}
  blocked(key: string, now: number): boolean {
    return (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs).length >= this.max;
  }
  record(key: string, now: number): void {
    const list = (this.hits.get(key) ?? []).filter((t) => now - t < this.windowMs);
    list.push(now);
    this.hits.set(key, list);
    if (this.hits.size > 10000) this.hits.delete(this.hits.keys().next().value as string);
  }
}

/**
 * Every request: a valid bearer token (401 otherwise, whatever the reason), then the route's
 * action checked against the caller's role in the named project — an invisible project answers
 * 404, a visible one with too little role 403. Routes that declare nothing are refused.
 */
@Injectable()
export class AuthGuard implements CanActivate {
  private readonly limiter: FailureLimiter;

  constructor(
    private readonly reflector: Reflector,
    @Inject(AUTH_CONFIG) config: Pick<KafkaEnv, 'AUTH_FAILURES_PER_MINUTE'>,
    @Optional() @Inject(ACCESS_VIEW) private readonly view: AccessView | null,
    @Inject(AUTH_LOGGER) private readonly logger: JsonLogger,
  ) {
    this.limiter = new FailureLimiter(config.AUTH_FAILURES_PER_MINUTE);
  }

  canActivate(ctx: ExecutionContext): boolean {
    const req = ctx.switchToHttp().getRequest<Req>();
    const need = this.reflector.getAllAndOverride<AccessRequirement | undefined>(ACCESS_KEY, [ctx.getHandler(), ctx.getClass()]);
    if (!need) throw new InternalServerErrorException('route has no access rule');
    if (need.kind === 'public') return true;

    const now = Date.now();
    const client = req.ip ?? 'unknown';
    if (this.limiter.blocked(client, now)) throw new HttpException({ statusCode: 429, error: 'Too Many Requests', message: 'too many failed authentications; retry in a minute' }, HttpStatus.TOO_MANY_REQUESTS);
    const header = req.headers.authorization;
    const token = typeof header === 'string' && /^Bearer\s+\S+$/i.test(header) ? header.replace(/^Bearer\s+/i, '') : null;
    const result = token && this.view ? authenticate(this.view.identity, token, new Date(now)) : ({ error: 'invalid' } as const);
    if (isAuthFailure(result)) {
      this.limiter.record(client, now);
      this.logger.warn({ msg: 'authentication failed', reason: token ? result.error : 'missing', client });
      throw new UnauthorizedException('missing, invalid, expired or revoked token');
    }
    req.principal = result;
    if (need.kind === 'authenticated') return true;

    const projectId = need.projectParam ? req.params[need.projectParam] : undefined;
    const selfId = need.selfParam ? req.params[need.selfParam] : undefined;
    if (selfId !== undefined && need.selfAction && (selfId === result.id || selfId === 'me')) {
      if (selfId === 'me') req.params[need.selfParam!] = result.id;
      if (authorize(result, need.selfAction, null) === 'allow') return true;
    }
    const view = this.view!;
    const role = projectId !== undefined && view.project(projectId) ? view.roleOf(projectId, result.id) : null;
    const decision = authorize(result, need.action, role);
    if (decision === 'allow') {
      // Admins see every project, but one that does not exist is still a 404.
      if (projectId !== undefined && !view.project(projectId)) throw new NotFoundException(`project ${projectId} not found`);
      return true;
    }
    if (decision === 'not-found') throw new NotFoundException(`project ${projectId} not found`);
    throw new ForbiddenException(`your role does not allow ${need.action}`);
  }
}
