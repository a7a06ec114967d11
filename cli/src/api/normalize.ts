// The ledger's host documents (HostState: facts wrapped as {value, eventId, observedAt}, ports keyed
// "tcp/22") and flatter list rows are both read into one view, so the CLI and the UI do not care
// which one a route returns. Unknown extra fields are ignored; missing ones become null.

export interface ScriptView {
  readonly id: string;
  readonly output: string;
}

export interface PortView {
  readonly port: number;
  readonly proto: string;
  readonly state: string;
  readonly service: string | null;
  readonly product: string | null;
  readonly version: string | null;
  readonly extrainfo: string | null;
  readonly scripts: ScriptView[];
}

export interface HostView {
  readonly ip: string;
  readonly status: string | null;
  readonly hostnames: string[];
  readonly os: string | null;
  readonly firstSeen: string | null;
  readonly lastSeen: string | null;
  readonly ports: PortView[];
  readonly hostScripts: ScriptView[];
  /** Open ports as the list route counts them, when it sends a count instead of the ports. */
  readonly openPortCount: number;
}

type Obj = Record<string, unknown>;
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

/** A Fact<T> is `{ value, eventId, observedAt }`; anything else is already the value. */
export function unwrap(v: unknown): unknown {
  return isObj(v) && 'value' in v && ('eventId' in v || 'observedAt' in v) ? v.value : v;
}

const str = (v: unknown): string | null => {
  const u = unwrap(v);
  return typeof u === 'string' && u !== '' ? u : typeof u === 'number' ? String(u) : null;
};

function scripts(v: unknown): ScriptView[] {
  const entries = Array.isArray(v) ? v : isObj(v) ? Object.values(v) : [];
  return entries
    .map(unwrap)
    .filter(isObj)
    .map((s) => ({ id: String(s.id ?? '?'), output: String(s.output ?? '') }));
}

function portOf(raw: unknown, key?: string): PortView | null {
  if (!isObj(raw)) return null;
  const [kProto, kPort] = key?.split('/') ?? [];
  const svc = unwrap(raw.service);
  const service = isObj(svc) ? svc : {};
  const state = str(raw.state) ?? (isObj(raw.state) ? str(raw.state.state) : null) ?? 'unknown';
  const port = Number(raw.port ?? raw.portid ?? kPort);
  if (!Number.isFinite(port)) return null;
  return {
    port,
    proto: str(raw.proto) ?? str(raw.protocol) ?? kProto ?? 'tcp',
    state,
    service: typeof svc === 'string' ? svc : (str(service.name) ?? str(raw.serviceName)),
    product: str(service.product) ?? str(raw.product),
    version: str(service.version) ?? str(raw.version),
    extrainfo: str(service.extrainfo) ?? str(raw.extrainfo),
    scripts: scripts(raw.scripts),
  };
}

function hostnames(v: unknown): string[] {
  if (Array.isArray(v)) return v.map((h) => (typeof h === 'string' ? h : isObj(h) ? str(h.name) : null)).filter((h): h is string => !!h);
  if (isObj(v)) return Object.keys(v);
  return [];
}

function os(v: unknown): string | null {
  const u = unwrap(v);
  if (typeof u === 'string') return u || null;
  if (isObj(u) && Array.isArray(u.matches) && isObj(u.matches[0])) return str(u.matches[0].name);
  return null;
}

export function normalizeHost(raw: unknown): HostView {
  const h = isObj(raw) ? raw : {};
  const rawPorts = h.ports;
  const ports = (Array.isArray(rawPorts) ? rawPorts.map((p) => portOf(p)) : isObj(rawPorts) ? Object.entries(rawPorts).map(([k, p]) => portOf(p, k)) : [])
    .filter((p): p is PortView => p !== null)
    .sort((a, b) => a.proto.localeCompare(b.proto) || a.port - b.port);
  const status = unwrap(h.status);
  const counted = Number(h.openPortCount ?? h.openPorts ?? h.portCount);
  return {
    ip: String(h.ip ?? h.address ?? '?'),
    status: typeof status === 'string' ? status : isObj(status) ? str(status.state) : null,
    hostnames: hostnames(h.hostnames),
    os: os(h.os),
    firstSeen: str(h.firstSeen),
    lastSeen: str(h.lastSeen),
    ports,
    hostScripts: scripts(h.hostScripts),
    openPortCount: Number.isFinite(counted) ? counted : ports.filter((p) => p.state === 'open').length,
  };
}

/** `product version extrainfo`, as the original's BANNER column; `-` when all are empty. */
export function banner(p: PortView): string {
  return [p.product, p.version, p.extrainfo].filter(Boolean).join(' ') || '-';
}

export interface ChangeView {
  readonly ip: string;
  readonly port: number | null;
  readonly proto: string | null;
  readonly field: string;
  readonly old: string | null;
  readonly new: string | null;
  readonly at: string | null;
  readonly source: string | null;
}

const valueText = (v: unknown): string | null => {
  const u = unwrap(v);
  if (u === null || u === undefined || u === '') return null;
  if (Array.isArray(u)) return u.join(', ') || null;
  return typeof u === 'object' ? JSON.stringify(u) : String(u);
};

/** One history row, whatever the spelling (old/new, oldValue/newValue, from/to). */
export function normalizeChange(raw: unknown): ChangeView {
  const r = isObj(raw) ? raw : {};
  const port = Number(r.port);
  return {
    ip: String(r.ip ?? '?'),
    port: r.port === null || r.port === undefined || !Number.isFinite(port) ? null : port,
    proto: str(r.proto) ?? str(r.protocol),
    field: str(r.field) ?? str(r.change) ?? str(r.changeType) ?? str(r.kind) ?? '?',
    old: valueText(r.old ?? r.oldValue ?? r.from),
    new: valueText(r.new ?? r.newValue ?? r.to),
    at: str(r.observedAt) ?? str(r.at) ?? str(r.createdAt),
    source: sourceText(r.source) ?? str(r.sourceId),
  };
}

/** Provenance in a few characters: `import:7f3c2a10` or `task:0b5e91aa`. */
export function sourceText(v: unknown): string | null {
  if (typeof v === 'string') return v || null;
  if (!isObj(v)) return null;
  const id = str(v.importId) ?? str(v.taskId);
  return id ? `${String(v.kind ?? 'source')}:${id.slice(0, 8)}` : null;
}
