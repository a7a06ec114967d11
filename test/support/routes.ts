import 'reflect-metadata';
import { METHOD_METADATA, PATH_METADATA } from '@nestjs/common/constants.js';
import { RequestMethod, type Type } from '@nestjs/common';
import { ACCESS_KEY, type AccessRequirement } from '#platform';

export interface RouteInfo {
  readonly method: string;
  readonly path: string;
  readonly access: AccessRequirement | undefined;
  readonly handler: string;
}

const join = (...parts: string[]) => '/' + parts.flatMap((p) => p.split('/')).filter(Boolean).join('/');

/** The routing table as Nest sees it, read from the controllers' metadata: no route can be left out. */
export function routeTable(controllers: readonly Type[]): RouteInfo[] {
  const out: RouteInfo[] = [];
  for (const c of controllers) {
    const base = (Reflect.getMetadata(PATH_METADATA, c) as string | undefined) ?? '';
    const classAccess = Reflect.getMetadata(ACCESS_KEY, c) as AccessRequirement | undefined;
    for (const name of Object.getOwnPropertyNames(c.prototype)) {
      if (name === 'constructor') continue;
      const fn = c.prototype[name];
      if (typeof fn !== 'function') continue;
      const path = Reflect.getMetadata(PATH_METADATA, fn) as string | string[] | undefined;
      const method = Reflect.getMetadata(METHOD_METADATA, fn) as RequestMethod | undefined;
      if (path === undefined || method === undefined) continue;
      for (const p of Array.isArray(path) ? path : [path]) {
        out.push({ method: RequestMethod[method], path: join(base, p), access: (Reflect.getMetadata(ACCESS_KEY, fn) as AccessRequirement | undefined) ?? classAccess, handler: `${c.name}.${name}` });
      }
    }
  }
  return out;
}
