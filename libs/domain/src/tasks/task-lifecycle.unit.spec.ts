import { cancelTask, decideTaskReport, scanStateOf, type TaskDecision, type TaskRecord, type TaskReport } from './task-lifecycle.js';

const policy = { maxAttempts: 2 };
const at = '2026-11-21T10:00:00.000Z';
const queued: TaskRecord = { taskId: 't1', state: 'queued', attempt: 1, workerId: null, startedAt: null, finishedAt: null, lastError: null };
const running = (workerId = 'w1', attempt = 1): TaskRecord => ({ ...queued, state: 'running', attempt, workerId, startedAt: at });
const ref = (attempt = 1, workerId = 'w1') => ({ projectId: 'p', scanId: 's', taskId: 't1', attempt, workerId });

const started = (attempt = 1, workerId = 'w1'): TaskReport => ({ type: 'TaskStarted', at, payload: ref(attempt, workerId) });
const completed = (attempt = 1, workerId = 'w1'): TaskReport => ({ type: 'TaskCompleted', at, payload: { ...ref(attempt, workerId), hostsUp: 1, hostsDown: 0, durationMs: 5 } });
const failed = (retryable: boolean, attempt = 1, workerId = 'w1'): TaskReport => ({
  type: 'TaskFailed',
  at,
  payload: { ...ref(attempt, workerId), reason: 'timeout', message: 'open-ports phase exceeded 1 s', retryable, hostsUp: 0 },
});
const expired = (attempt = 1, workerId = 'w1'): TaskReport => ({ type: 'TaskLeaseExpired', at, payload: { ...ref(attempt, workerId), lastSeenAt: at } });

const given = (task: TaskRecord | null) => ({
  when: (r: TaskReport) => ({ then: (check: (d: TaskDecision) => void) => check(decideTaskReport(task, r, policy)) }),
});

describe('task lifecycle', () => {
  it('given a queued task, when a worker starts it, then it runs there', () =>
    given(queued).when(started()).then((d) => expect(d).toMatchObject({ next: { state: 'running', workerId: 'w1', startedAt: at }, requeue: false, revoke: null })));

  it('given a running task, when the same start is redelivered, then nothing changes', () =>
    given(running()).when(started()).then((d) => expect(d.next).toEqual(running())));

  it('given a running task, when another worker starts the same attempt, then the later start wins and the first worker is told to stop', () =>
    given(running('w1'))
      .when(started(1, 'w2'))
      .then((d) => {
        expect(d.next).toMatchObject({ state: 'running', workerId: 'w2' });
        expect(d.revoke).toEqual({ reason: 'superseded', task: { taskId: 't1', attempt: 1, workerId: 'w1' } });
      }));

  it('given a finished or re-queued task, when a stale start arrives, then that run is revoked', () => {
    given({ ...running(), state: 'done' }).when(started()).then((d) => expect(d.revoke).toEqual({ reason: 'not_current', task: { taskId: 't1', attempt: 1, workerId: 'w1' } }));
    given({ ...queued, attempt: 2 }).when(started(1, 'w3')).then((d) => expect(d.revoke?.task).toEqual({ taskId: 't1', attempt: 1, workerId: 'w3' }));
  });

  it('given an unknown task, when a worker starts it, then it is revoked (an offer from a plan that never committed)', () =>
    given(null).when(started()).then((d) => expect(d.revoke?.reason).toBe('not_current')));

  it('given the holder, when it completes, then the task is done', () =>
    given(running()).when(completed()).then((d) => expect(d.next).toMatchObject({ state: 'done', finishedAt: at })));

  it('given a task that moved on, when a stale completion arrives, then it is ignored (one result per attempt)', () => {
    given(running('w2')).when(completed(1, 'w1')).then((d) => expect(d).toMatchObject({ next: running('w2'), ignored: expect.stringMatching(/does not hold/) }));
    given({ ...queued, attempt: 2 }).when(completed(1, 'w1')).then((d) => expect(d.next?.state).toBe('queued'));
  });

  it('given a retryable failure with attempts left, then the task is queued again under the next attempt', () =>
    given(running())
      .when(failed(true))
      .then((d) => {
        expect(d.requeue).toBe(true);
        expect(d.next).toMatchObject({ state: 'queued', attempt: 2, workerId: null, lastError: 'timeout: open-ports phase exceeded 1 s' });
      }));

  it('given the last attempt or a permanent failure, then the task fails with the reason', () => {
    given(running('w1', 2)).when(failed(true, 2)).then((d) => expect(d).toMatchObject({ requeue: false, next: { state: 'failed', lastError: expect.stringMatching(/^timeout/) } }));
    given(running()).when(failed(false)).then((d) => expect(d.next?.state).toBe('failed'));
  });

  it('given a silent worker, when its lease expires, then the task is re-queued and the worker told to stop', () =>
    given(running())
      .when(expired())
      .then((d) => {
        expect(d).toMatchObject({ requeue: true, next: { state: 'queued', attempt: 2 } });
        expect(d.revoke).toEqual({ reason: 'lease_expired', task: { taskId: 't1', attempt: 1, workerId: 'w1' } });
      }));

  it('given a lease that already moved on, when a late expiry arrives, then nothing happens', () =>
    given(running('w2', 2)).when(expired(1, 'w1')).then((d) => expect(d).toMatchObject({ requeue: false, revoke: null })));

  it('cancels queued and running tasks, never finished ones', () => {
    expect(cancelTask(queued, at)).toMatchObject({ next: { state: 'cancelled' }, wasRunning: false });
    expect(cancelTask(running(), at)).toMatchObject({ wasRunning: true });
    expect(cancelTask({ ...queued, state: 'done' }, at)).toBeNull();
  });

  it('derives the scan state from its task counts', () => {
    const c = { queued: 0, running: 0, done: 0, failed: 0, cancelled: 0 };
    expect(scanStateOf(false, c)).toBe('planning');
    expect(scanStateOf(true, { ...c, queued: 1, done: 3 })).toBe('queued');
    expect(scanStateOf(true, { ...c, running: 1, queued: 1 })).toBe('running');
    expect(scanStateOf(true, { ...c, done: 1, failed: 1 })).toBe('failed');
    expect(scanStateOf(true, { ...c, done: 1, failed: 1, cancelled: 1 })).toBe('cancelled');
    expect(scanStateOf(true, c)).toBe('done');
  });
});
