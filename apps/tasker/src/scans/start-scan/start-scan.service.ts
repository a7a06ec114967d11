import { randomUUID } from 'node:crypto';
import { BadRequestException, ConflictException, Inject, Injectable } from '@nestjs/common';
import { eventCatalogue, type Envelope, type ScanRequestedV1 } from '#events';
import type { MikroORM } from '@mikro-orm/postgresql';
import {
  canonicalHash,
  collapseTargets,
  defaultDedup,
  mergeConfig,
  parseTargets,
  resolveHostnames,
  scanIdForIdempotencyKey,
  setToRanges,
  TargetScopeError,
  validateScanConfig,
  validateScanConfigOverride,
  type CollapsedTargets,
  type Principal,
  type Resolver,
  type ScanConfig,
  type TargetInputOutcome,
  type TargetRefusalCode,
  type DedupMode,
} from '#domain';
import { ACCESS_VIEW, CONFIG, ORM, PUBLISHER, type AccessView, type EventPublisher } from '#platform';
import { KNOWN_HOSTS_SCHEMA } from '../../known-hosts/known-hosts.projection.js';
import { ProfileCatalogue } from '../../profiles/profile.catalogue.js';
import type { TaskerEnv } from '../../tasker.config.js';
import { ScansReadModel } from '../scan-status/scans.read-model.js';
import { RESOLVER } from './system.resolver.js';
import { staleAfterSeconds, type StartScanRequestDto } from './start-scan.request.dto.js';

/** Refusals that mean the request itself is wrong: the whole request is refused and nothing is scanned. */
const SYNTAX: ReadonlySet<TargetRefusalCode> = new Set(['empty', 'option_like', 'shell_metacharacter', 'invalid_ip', 'invalid_cidr', 'invalid_range', 'invalid_hostname', 'cidr_too_large', 'range_too_large', 'reversed_range']);
const MAX_INPUTS_SHOWN = 10_000;

export interface StartScanResult {
  readonly status: 200 | 201 | 202;
  readonly body: Record<string, unknown>;
}

function describeInput(o: TargetInputOutcome, hostnamesByIp: ReadonlyMap<string, readonly string[]>) {
  const named = (ip: string) => ({ ip, hostnames: hostnamesByIp.get(ip) ?? [] });
  if (o.status === 'refused') return { input: o.input, status: 'refused', reason: o.reason, message: o.message, ...(o.kind ? { kind: o.kind } : {}), ...(o.normalized ? { normalized: o.normalized } : {}) };
  if (o.kind === 'hostname') return { input: o.input, status: 'accepted', kind: o.kind, normalized: o.normalized, duplicate: o.duplicate, ips: o.ips.map(named), excludedIps: o.excludedIps };
  return {
    input: o.input,
    status: 'accepted',
    kind: o.kind,
    normalized: o.normalized,
    duplicate: o.duplicate,
    span: o.span,
    inScope: o.inScope,
    excludedByScope: o.excludedByScope,
    ...(o.span.count === 1 ? { ips: [named(o.span.first)] } : {}),
  };
}

/**
 * POST /projects/:id/scans: typed config, targets against the project scope, host names resolved and
 * collapsed, then one ScanRequested carrying the compact target set. The planner does the rest (in
 * flight, done and known hosts) and this waits for its answer so the response can say what was
 * queued and what was skipped.
 */
@Injectable()
export class StartScanService {
  constructor(
    @Inject(CONFIG) private readonly config: TaskerEnv,
    @Inject(ACCESS_VIEW) private readonly view: AccessView,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    @Inject(RESOLVER) private readonly resolver: Resolver,
    @Inject(ORM) private readonly orm: MikroORM,
    private readonly profiles: ProfileCatalogue,
    private readonly scans: ScansReadModel,
  ) {}

  effectiveConfig(dto: StartScanRequestDto): ScanConfig {
    const name = dto.profile ?? 'default';
    const profile = this.profiles.get(name);
    if (!profile) throw new BadRequestException({ message: `unknown profile "${name}"`, profiles: this.profiles.all().map((p) => p.name) });
    if (dto.mode && dto.importMode && dto.mode !== dto.importMode) throw new BadRequestException('mode and importMode disagree; give one');
    const o = validateScanConfigOverride(dto.config ?? {});
    if (!o.ok) throw new BadRequestException({ message: 'invalid scan config', errors: o.errors });
    const mode = dto.mode ?? dto.importMode;
    const merged = validateScanConfig(mergeConfig(profile.config, mode ? { ...o.override, importMode: mode } : o.override));
    if (!merged.ok) throw new BadRequestException({ message: `invalid scan config (profile "${name}" with your changes)`, errors: merged.errors });
    return merged.config;
  }

  /**
   * The targets of a gap fill given none: the project's scope (addresses, CIDRs, ranges and names;
   * "*." wildcards cannot be listed) and every host the ledger knows, as the tasker's copy has them.
   */
  async gapTargets(projectId: string): Promise<{ inputs: string[]; knownHosts: number; scopeEntries: number; leftOut: string[] }> {
    await this.view.catchUp();
    const allow = this.view.project(projectId)?.allow ?? [];
    const leftOut = allow.filter((e) => e.startsWith('*.'));
    const scope = allow.filter((e) => !e.startsWith('*.'));
    // Runs of consecutive known IPv4 addresses collapse into one range each, cut to the CIDR cap.
    const rows = await this.orm.em.fork().execute<{ lo: string; hi: string; n: string; family: number }[]>(
      `select host(min(ip)) as lo, host(max(ip)) as hi, count(*) as n, family(min(ip)) as family from (
         select ip, case when family(ip) = 4 then (ip - inet '0.0.0.0') - row_number() over (partition by family(ip) order by ip) else row_number() over (order by ip) end as grp, family(ip) as f
         from ${KNOWN_HOSTS_SCHEMA}.known_hosts where project_id = ?
       ) runs group by f, grp order by min(ip)`,
      [projectId],
    );
    const cap = 2 ** (32 - this.config.TASKER_CIDR_CAP_V4);
    const known: string[] = [];
    let knownHosts = 0;
    for (const r of rows) {
      knownHosts += Number(r.n);
      if (r.family !== 4 || r.lo === r.hi) {
        known.push(r.lo === r.hi ? r.lo : `${r.lo}-${r.hi}`);
        continue;
      }
      const toNum = (ip: string) => ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
      const toIp = (n: number) => [24, 16, 8, 0].map((b) => Math.floor(n / 2 ** b) % 256).join('.');
      for (let lo = toNum(r.lo), hi = toNum(r.hi); lo <= hi; lo += cap) known.push(`${toIp(lo)}-${toIp(Math.min(hi, lo + cap - 1))}`);
    }
    return { inputs: [...scope, ...known], knownHosts, scopeEntries: scope.length, leftOut };
  }

  async targets(projectId: string, inputs: readonly string[], config: ScanConfig, derived = false): Promise<CollapsedTargets> {
    if (!derived && inputs.length > this.config.TASKER_MAX_INPUTS) throw new BadRequestException(`${inputs.length} targets; at most ${this.config.TASKER_MAX_INPUTS} per request`);
    // A scope narrowed a moment ago must already apply.
    await this.view.catchUp();
    const project = this.view.project(projectId)!;
    let parsed;
    try {
      parsed = parseTargets(inputs, { scope: { allow: project.allow, deny: project.deny }, cidrCap: { ipv4: this.config.TASKER_CIDR_CAP_V4, ipv6: this.config.TASKER_CIDR_CAP_V6 } });
    } catch (e) {
      if (e instanceof TargetScopeError) throw new ConflictException(`the project scope is invalid, fix it first: ${e.message}`);
      throw e;
    }
    // A gap fill's own targets come from the scope: an entry too large to scan is counted as refused, not fatal.
    const bad = derived ? [] : parsed.inputs.filter((o) => o.status === 'refused' && SYNTAX.has(o.reason));
    if (bad.length) {
      throw new BadRequestException({
        message: `${bad.length} target${bad.length > 1 ? 's are' : ' is'} not valid; nothing was scanned`,
        errors: bad.slice(0, 1000).map((o) => ({ input: o.input.slice(0, 300), reason: (o as { reason: string }).reason, message: (o as { message: string }).message })),
      });
    }
    const resolutions = await resolveHostnames(parsed.hostnames, this.resolver, {
      timeoutMs: this.config.TASKER_DNS_TIMEOUT_MS,
      retries: this.config.TASKER_DNS_RETRIES,
      singleResolve: config.singleResolve,
      concurrency: this.config.TASKER_DNS_CONCURRENCY,
      retryDelayMs: 200,
    });
    return collapseTargets(parsed, resolutions);
  }

  async start(projectId: string, dto: StartScanRequestDto, principal: Principal, headerKey?: string): Promise<StartScanResult> {
    const key = dto.idempotencyKey ?? headerKey ?? null;
    const config = this.effectiveConfig(dto);
    const dedup = this.dedupOf(dto, config);
    const staleAfter = dto.staleAfter ? staleAfterSeconds(dto.staleAfter) : this.config.TASKER_COVERAGE_STALE_AFTER_HOURS ? this.config.TASKER_COVERAGE_STALE_AFTER_HOURS * 3600 : null;
    // The issue-8 options join the hash only when given, so earlier requests keep their hashes.
    const requestHash = canonicalHash({
      targets: dto.targets ?? null,
      profile: dto.profile ?? null,
      config: dto.config ?? null,
      mode: dto.mode ?? dto.importMode ?? null,
      rescan: dto.rescan ?? false,
      ...(dto.dedup ? { dedup: dto.dedup } : {}),
      ...(dto.gaps ? { gaps: true } : {}),
      ...(dto.staleAfter ? { staleAfter: dto.staleAfter } : {}),
    });
    const scanId = key ? scanIdForIdempotencyKey(projectId, key) : randomUUID();
    if (key) {
      const existing = await this.scans.scanRow(scanId);
      if (existing) {
        if (existing.request_hash !== requestHash) throw new ConflictException(`idempotency key "${key}" was used for a different request`);
        return { status: 200, body: { ...(await this.scans.status(projectId, scanId)), idempotentReplay: true } };
      }
    }
    const derived = dto.targets === undefined ? await this.gapTargets(projectId) : null;
    const collapsed = await this.targets(projectId, derived?.inputs ?? dto.targets!, config, derived !== null);
    const inputs = collapsed.inputs.slice(0, MAX_INPUTS_SHOWN).map((o) => describeInput(o, collapsed.hostnamesByIp));
    const s = collapsed.summary;
    const summary = { provided: s.provided, duplicatesRemoved: s.duplicatesRemoved, hostnamesCollapsed: s.hostnamesCollapsed, refused: s.refused, excludedByScope: s.excludedByScope, accepted: s.accepted };
    const targetsFrom = derived ? { targetsFrom: { knownHosts: derived.knownHosts, scopeEntries: derived.scopeEntries, leftOut: derived.leftOut } } : {};
    if (s.accepted === 0) {
      throw new BadRequestException({ message: derived ? 'no target left to scan: the project has no scope entries to list and no known hosts' : 'no target left to scan', summary, inputs, ...targetsFrom });
    }

    const env: Envelope<'ScanRequested', ScanRequestedV1> = {
      eventId: randomUUID(),
      type: 'ScanRequested',
      schemaVersion: eventCatalogue.get('ScanRequested')!.schemaVersion,
      key: projectId,
      occurredAt: new Date().toISOString(),
      correlationId: scanId,
      causationId: null,
      actor: { kind: principal.kind, id: principal.id, name: principal.username },
      payload: {
        projectId,
        scanId,
        idempotencyKey: key,
        requestHash,
        profile: dto.profile ?? 'default',
        config: config as unknown as Record<string, unknown>,
        rescan: dto.rescan ?? false,
        targets: { ranges: setToRanges(collapsed.targets) },
        hostnames: Object.fromEntries(collapsed.hostnamesByIp),
        summary,
        dedup,
        staleAfterSeconds: staleAfter,
        ...(dto.gaps ? { gaps: true } : {}),
      },
    };
    await this.publisher.publish([env]);
    const planned = await this.waitForPlan(scanId);
    const status = await this.scans.status(projectId, scanId);
    const extra = { inputs, ...(collapsed.inputs.length > MAX_INPUTS_SHOWN ? { inputsTruncated: true } : {}), ...targetsFrom };
    if (!planned || !status) return { status: 202, body: { scanId, projectId, status: 'planning', summary, ...extra } };
    return { status: 201, body: { ...status, ...extra } };
  }

  /**
   * How the plan dedups against the ledger. A gap fill is coverage by definition; rescan means "again",
   * so it dedups by nothing unless told; otherwise the import mode decides (defaultDedup).
   */
  dedupOf(dto: StartScanRequestDto, config: ScanConfig): DedupMode {
    if (dto.gaps && (dto.rescan || dto.dedup === 'none')) throw new BadRequestException('gaps scans only what coverage lacks; it cannot go with rescan or dedup "none"');
    return dto.dedup ?? (dto.gaps ? 'coverage' : dto.rescan ? 'none' : defaultDedup(config));
  }

  private async waitForPlan(scanId: string): Promise<boolean> {
    const until = Date.now() + this.config.TASKER_PLAN_WAIT_MS;
    for (let delay = 10; Date.now() < until; delay = Math.min(200, delay * 2)) {
      const row = await this.scans.scanRow(scanId);
      if (row?.planned_at) return true;
      await new Promise((r) => setTimeout(r, delay));
    }
    return false;
  }
}
