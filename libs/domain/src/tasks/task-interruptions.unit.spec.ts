import type { Actor, FleetControlEvent } from '#events';
import { foldEmergencyStop, NO_EMERGENCY_STOP } from './emergency-stop.js';
import { decideTaskReport, recallTask, type TaskRecord, type TaskReport } from './task-lifecycle.js';

const policy = { maxAttempts: 1 };
const at = '2026-11-21T10:00:00.000Z';
const queued: TaskRecord = { taskId: 't1', state: 'queued', attempt: 1, workerId: null, startedAt: null, finishedAt: null, lastError: null };
const running: TaskRecord = { ...queued, state: 'running', workerId: 'w1', startedAt: at };
const ref = (attempt = 1, workerId = 'w1') => ({ projectId: 'p', scanId: 's', taskId: 't1', attempt, workerId });
const interrupted = (attempt = 1): TaskReport => ({ type: 'TaskFailed', at, payload: { ...ref(attempt), reason: 'interrupted', message: 'emergency stop', retryable: true, hostsUp: 0 } });
const timeout = (attempt = 1): TaskReport => ({ type: 'TaskFailed', at, payload: { ...ref(attempt), reason: 'timeout', message: 'slow', retryable: true, hostsUp: 0 } });

describe('interrupted and recalled tasks (never lost, never counted as attempts)', () => {
  it('given a running task on its last attempt, when the emergency stop interrupts it, then it is queued again anyway', () => {
    const d = decideTaskReport(running, interrupted(), policy);
    expect(d.requeue).toBe(true);
    expect(d.next).toMatchObject({ state: 'queued', attempt: 2, interruptions: 1, workerId: null, lastError: 'interrupted: emergency stop' });
  });

  it('given a task interrupted once, when its next run fails retryably with one attempt allowed, then the interruption did not use that attempt up', () => {
    const after = decideTaskReport(running, interrupted(), { maxAttempts: 2 }).next!;
    const d = decideTaskReport({ ...after, state: 'running', workerId: 'w1' }, timeout(2), { maxAttempts: 2 });
    expect(d).toMatchObject({ requeue: true, next: { attempt: 3 } });
    const last = decideTaskReport({ ...d.next!, state: 'running', workerId: 'w1' }, timeout(3), { maxAttempts: 2 });
    expect(last.next?.state).toBe('failed');
  });

  it('given a running task, when it is recalled, then it is held under a new attempt and the old run is revoked', () => {
    const r = recallTask(running, 'window closed')!;
    expect(r.next).toMatchObject({ state: 'queued', attempt: 2, held: true, interruptions: 1, workerId: null, startedAt: null });
    expect(r.revoke).toEqual({ taskId: 't1', attempt: 1, workerId: null });
    expect(recallTask(r.next, 'again')).toBeNull();
    expect(recallTask({ ...running, state: 'done' }, 'x')).toBeNull();
  });

  it('given a held task, when a worker starts its attempt (an offer whose decision was rolled back), then that run is revoked and the attempt burnt', () => {
    const held: TaskRecord = { ...queued, held: true };
    const d = decideTaskReport(held, { type: 'TaskStarted', at, payload: ref(1) }, policy);
    expect(d.revoke).toEqual({ reason: 'not_current', task: { taskId: 't1', attempt: 1, workerId: 'w1' } });
    expect(d.next).toMatchObject({ state: 'queued', held: true, attempt: 2, interruptions: 1 });
  });
});

describe('emergency stop state', () => {
  const admin: Actor = { kind: 'user', id: 'u1', name: 'alice' };
  const ev = (type: FleetControlEvent['type'], stopId: string | null, occurredAt: string): FleetControlEvent =>
    ({ eventId: stopId ?? 'x', type, schemaVersion: 1, key: 'fleet', occurredAt, correlationId: 'c', causationId: null, actor: admin, payload: { stopId, reason: null } }) as FleetControlEvent;

  it('given no stop, when activated, then it is active since then, by that actor; a second activation keeps the first', () => {
    const s = foldEmergencyStop(NO_EMERGENCY_STOP, ev('EmergencyStopActivated', 's1', '2026-01-01T00:00:00Z'));
    expect(s).toMatchObject({ active: true, stopId: 's1', since: '2026-01-01T00:00:00Z', by: admin });
    const again = foldEmergencyStop(s, ev('EmergencyStopActivated', 's2', '2026-01-01T00:01:00Z'));
    expect(again).toMatchObject({ active: true, stopId: 's1' });
    expect(again.history).toHaveLength(2);
  });

  it('given an active stop, when released, then it is over and the trail keeps both', () => {
    const s = [ev('EmergencyStopActivated', 's1', 't1'), ev('EmergencyStopReleased', 's1', 't2')].reduce(foldEmergencyStop, NO_EMERGENCY_STOP);
    expect(s).toMatchObject({ active: false, stopId: null });
    expect(s.history.map((h) => h.type)).toEqual(['activated', 'released']);
  });
});
