import { randomUUID } from 'node:crypto';
import { BadRequestException, Inject, Injectable } from '@nestjs/common';
import type { MikroORM } from '@mikro-orm/postgresql';
import { eventCatalogue, type Envelope, type ScanPolicySetV1 } from '#events';
import { isInsideWindow, nextWindowChange, validateScanPolicy, type Principal, type ScanPolicy } from '#domain';
import { CONFIG, ORM, PUBLISHER, type EventPublisher } from '#platform';
import { EmergencyStopView } from '../../emergency-stop/emergency-stop.view.js';
import { PLANNER_SCHEMA } from '../../planner/planner.schema.js';
import type { TaskerEnv } from '../../tasker.config.js';
import type { SetScanPolicyRequestDto } from './set-scan-policy.request.dto.js';

interface PolicyRow {
  policy_id: string;
  budgets: ScanPolicy['budgets'];
  win: ScanPolicy['window'];
  set_at: Date;
  set_by: { kind: string; id: string; name?: string };
}

interface DispatchRow {
  held: number;
  gate: { kind: string; since?: string | null; opensAt?: string | null };
  budgets: { cidr: string; maxHosts: number; maxPps: number | null; inFlight: number; waiting: number }[];
  waiting: string | null;
  next_check_at: Date | null;
  evaluated_at: Date;
}

const iso = (d: Date | string | null) => (d === null ? null : new Date(d).toISOString());

/**
 * A project's scan policy goes through the planner like everything that changes what runs: the HTTP
 * side validates it, appends ScanPolicySet (with the caller as actor: the audit trail), and answers
 * once the planner applied it.
 */
@Injectable()
export class ScanPolicyService {
  constructor(
    @Inject(CONFIG) private readonly config: TaskerEnv,
    @Inject(ORM) private readonly orm: MikroORM,
    @Inject(PUBLISHER) private readonly publisher: EventPublisher,
    private readonly emergencyStop: EmergencyStopView,
  ) {}

  async set(projectId: string, dto: SetScanPolicyRequestDto, principal: Principal) {
    const v = validateScanPolicy({ budgets: dto.budgets ?? [], window: dto.window ?? null });
    if (!v.ok) throw new BadRequestException({ message: 'invalid scan policy', errors: v.errors });
    const policyId = randomUUID();
    const env: Envelope<'ScanPolicySet', ScanPolicySetV1> = {
      eventId: randomUUID(),
      type: 'ScanPolicySet',
      schemaVersion: eventCatalogue.get('ScanPolicySet')!.schemaVersion,
      key: projectId,
      occurredAt: new Date().toISOString(),
      correlationId: policyId,
      causationId: null,
      actor: { kind: principal.kind, id: principal.id, name: principal.username },
      payload: { projectId, policyId, budgets: v.policy.budgets, window: v.policy.window },
    };
    await this.publisher.publish([env]);
    const until = Date.now() + this.config.TASKER_PLAN_WAIT_MS;
    for (let delay = 10; Date.now() < until; delay = Math.min(200, delay * 2)) {
      const row = await this.policyRow(projectId);
      if (row?.policy_id === policyId) return { applied: true, ...(await this.get(projectId)) };
      await new Promise((r) => setTimeout(r, delay));
    }
    // Not applied yet: the answer still shows the policy in force.
    return { ...(await this.get(projectId)), applied: false, pendingPolicyId: policyId };
  }

  private async policyRow(projectId: string): Promise<PolicyRow | null> {
    const rows = await this.orm.em.fork().execute<PolicyRow[]>(`select * from ${PLANNER_SCHEMA}.scan_policies where project_id = ?`, [projectId]);
    return rows[0] ?? null;
  }

  async get(projectId: string, now = Date.now()) {
    const p = await this.policyRow(projectId);
    const [d] = await this.orm.em.fork().execute<DispatchRow[]>(`select * from ${PLANNER_SCHEMA}.project_dispatch where project_id = ?`, [projectId]);
    const stop = this.emergencyStop.state;
    return {
      projectId,
      policy: p ? { budgets: p.budgets, window: p.win } : { budgets: [], window: null },
      policyId: p?.policy_id ?? null,
      setAt: p ? iso(p.set_at) : null,
      setBy: p ? { id: p.set_by.id, name: p.set_by.name ?? null } : null,
      window: p?.win ? { insideNow: isInsideWindow(p.win, now), nextChangeAt: iso(new Date(nextWindowChange(p.win, now) ?? now)) } : null,
      dispatch: d
        ? { held: d.held, waiting: stop.active && d.held > 0 ? 'waiting: emergency stop' : d.waiting, gate: d.gate, budgets: d.budgets, nextCheckAt: iso(d.next_check_at), evaluatedAt: iso(d.evaluated_at) }
        : { held: 0, waiting: null, gate: { kind: stop.active ? 'emergency_stop' : 'open' }, budgets: [], nextCheckAt: null, evaluatedAt: null },
      emergencyStop: { active: stop.active, since: stop.since, by: stop.by ? { id: stop.by.id, name: stop.by.name ?? null } : null, reason: stop.reason },
    };
  }
}
