import { randomUUID } from 'node:crypto';
import { BadRequestException, ConflictException, Inject, Injectable } from '@nestjs/common';
import { eventCatalogue, type Envelope, type ScanRequestedV1 } from '#events';
import {
  canonicalHash,
  collapseTargets,
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
} from '#domain';
import { ACCESS_VIEW, CONFIG, PUBLISHER, type AccessView, type EventPublisher } from '#platform';
import { ProfileCatalogue } from '../../profiles/profile.catalogue.js';
import type { TaskerEnv } from '../../tasker.config.js';
import { ScansReadModel } from '../scan-status/scans.read-model.js';
import { RESOLVER } from './system.resolver.js';
import type { StartScanRequestDto } from './start-scan.request.dto.js';

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

  async targets(projectId: string, inputs: readonly string[], config: ScanConfig): Promise<CollapsedTargets> {
    if (inputs.length > this.config.TASKER_MAX_INPUTS) throw new BadRequestException(`${inputs.length} targets; at most ${this.config.TASKER_MAX_INPUTS} per request`);
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
    const bad = parsed.inputs.filter((o) => o.status === 'refused' && SYNTAX.has(o.reason));
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
    const requestHash = canonicalHash({ targets: dto.targets, profile: dto.profile ?? null, config: dto.config ?? null, mode: dto.mode ?? dto.importMode ?? null, rescan: dto.rescan ?? false });
    const scanId = key ? scanIdForIdempotencyKey(projectId, key) : randomUUID();
    if (key) {
      const existing = await this.scans.scanRow(scanId);
      if (existing) {
        if (existing.request_hash !== requestHash) throw new ConflictException(`idempotency key "${key}" was used for a different request`);
        return { status: 200, body: { ...(await this.scans.status(projectId, scanId)), idempotentReplay: true } };
      }
    }
    const collapsed = await this.targets(projectId, dto.targets, config);
    const inputs = collapsed.inputs.slice(0, MAX_INPUTS_SHOWN).map((o) => describeInput(o, collapsed.hostnamesByIp));
    const s = collapsed.summary;
    const summary = { provided: s.provided, duplicatesRemoved: s.duplicatesRemoved, hostnamesCollapsed: s.hostnamesCollapsed, refused: s.refused, excludedByScope: s.excludedByScope, accepted: s.accepted };
    if (s.accepted === 0) throw new BadRequestException({ message: 'no target left to scan', summary, inputs });

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
      },
    };
    await this.publisher.publish([env]);
    const planned = await this.waitForPlan(scanId);
    const status = await this.scans.status(projectId, scanId);
    const extra = { inputs, ...(collapsed.inputs.length > MAX_INPUTS_SHOWN ? { inputsTruncated: true } : {}) };
    if (!planned || !status) return { status: 202, body: { scanId, projectId, status: 'planning', summary, ...extra } };
    return { status: 201, body: { ...status, ...extra } };
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
