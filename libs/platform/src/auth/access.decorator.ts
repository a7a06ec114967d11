import { createParamDecorator, SetMetadata, type ExecutionContext } from '@nestjs/common';
import type { Action, Principal } from '#domain';

export const ACCESS_KEY = 'falcoria:access';

export type AccessRequirement =
  | { readonly kind: 'public' }
  | { readonly kind: 'authenticated' }
  | { readonly kind: 'action'; readonly action: Action; readonly projectParam?: string; readonly selfParam?: string; readonly selfAction?: Action };

/** What a route requires. Every route must say: the guard refuses routes without it. */
export const Access = (action: Action, opts: { projectParam?: string; selfParam?: string; selfAction?: Action } = {}) =>
  SetMetadata(ACCESS_KEY, { kind: 'action', action, ...opts } satisfies AccessRequirement);
export const Public = () => SetMetadata(ACCESS_KEY, { kind: 'public' } satisfies AccessRequirement);
export const Authenticated = () => SetMetadata(ACCESS_KEY, { kind: 'authenticated' } satisfies AccessRequirement);

export const CurrentPrincipal = createParamDecorator((_: unknown, ctx: ExecutionContext): Principal => {
  return ctx.switchToHttp().getRequest<{ principal: Principal }>().principal;
});
