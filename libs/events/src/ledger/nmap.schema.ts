import { array, int, lazy, literal, num, object, optional, str, type Check } from '../core/schema.js';
import type { Coverage, NmapHost, NmapRunMeta, NmapScript, ScriptNode } from './nmap.types.js';

const protocol = literal('tcp', 'udp', 'sctp', 'ip');

const scriptNode: Check<ScriptNode> = (v, p) => {
  const o = object({ kind: literal('elem', 'table'), key: optional(str) })(v, p);
  if (o.kind === 'elem') object({ value: str })(v, p);
  else object({ children: array(lazy(() => scriptNode)) })(v, p);
  return v as ScriptNode;
};

export const scriptCheck = object({ id: str, output: str, nodes: array(scriptNode) }) as Check<NmapScript>;

const service = object({
  name: optional(str),
  product: optional(str),
  version: optional(str),
  extrainfo: optional(str),
  conf: optional(num),
  cpes: array(str),
});

export const hostCheck = object({
  ip: str,
  addresses: array(object({ addr: str, addrtype: literal('ipv4', 'ipv6', 'mac'), vendor: optional(str) })),
  hostnames: array(object({ name: str, type: optional(str) })),
  ports: array(
    object({
      protocol,
      port: int,
      state: object({ state: str, reason: optional(str), reasonTtl: optional(num) }),
      service: optional(service),
      scripts: array(scriptCheck),
    }),
  ),
  extraPorts: array(object({ state: str, count: int })),
  hostScripts: array(scriptCheck),
}) as unknown as Check<NmapHost>;

export const runMetaCheck = object({
  scanner: str,
  args: optional(str),
  version: optional(str),
  start: optional(num),
  scanInfo: array(object({ protocol: str, services: optional(str) })),
  preScripts: array(scriptCheck),
  postScripts: array(scriptCheck),
}) as unknown as Check<NmapRunMeta>;

const range = (v: unknown, p: string) => {
  if (!Array.isArray(v) || v.length !== 2) throw new Error(`${p}: expected [lo, hi]`);
  int(v[0], `${p}[0]`);
  int(v[1], `${p}[1]`);
  return v as unknown as readonly [number, number];
};

export const coverageCheck: Check<Coverage> = object({
  tcp: optional(array(range)),
  udp: optional(array(range)),
  sctp: optional(array(range)),
  ip: optional(array(range)),
}) as Check<Coverage>;
