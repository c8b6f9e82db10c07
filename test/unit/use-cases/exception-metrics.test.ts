import { describe, expect, it } from 'vitest';
import type { OwnerTeam } from '../../../contracts/vocabulary.ts';
import { withExceptionMetrics } from '../../../lambdas/adapters/aws/metered-exception-repository.ts';
import type {
  AuditEntry,
  ExceptionMetrics,
  ExceptionRepository,
  ExceptionResolution,
  OpenExceptionQueues,
  OwnedException,
} from '../../../lambdas/ports/index.ts';
import { measureOldestOpenExceptions } from '../../../lambdas/use-cases/sla-clocks.ts';

const NOW = new Date('2026-12-05T12:00:00.000Z');

class RecordingMetrics implements ExceptionMetrics {
  readonly events: string[] = [];
  raised(exception: OwnedException) {
    this.events.push(`raised ${exception.exceptionId} ${exception.ownerTeam} ${exception.stage}`);
  }
  resolved(exception: OwnedException, openSeconds: number) {
    this.events.push(`resolved ${exception.exceptionId} after ${openSeconds}s`);
  }
  oldestOpen(team: OwnerTeam, ageSeconds: number) {
    this.events.push(`oldest ${team} ${ageSeconds}`);
  }
}

/** Team queues in memory: each team's open exceptions by raisedAt, as the by-owner index keeps them. */
class Queues implements OpenExceptionQueues {
  readonly reads: OwnerTeam[] = [];
  constructor(private readonly open: Partial<Record<OwnerTeam, string[]>>) {}
  async oldestOpenRaisedAt(team: OwnerTeam) {
    this.reads.push(team);
    return [...(this.open[team] ?? [])].sort()[0];
  }
}

describe('oldest open exception per team', () => {
  it('reports each team’s oldest open exception age in seconds, and 0 for an empty queue', async () => {
    const queues = new Queues({
      finance: ['2026-12-05T09:00:00.000Z', '2026-12-05T07:30:00.000Z'],
      integration: ['2026-12-05T11:59:30.000Z'],
    });
    const metrics = new RecordingMetrics();
    const ages = await measureOldestOpenExceptions({ queues, metrics, clock: { now: () => NOW } });
    expect(ages).toEqual({
      finance: 4.5 * 3600,
      'customer-service': 0,
      warehouse: 0,
      logistics: 0,
      integration: 30,
    });
    expect(metrics.events).toEqual([
      'oldest finance 16200',
      'oldest customer-service 0',
      'oldest warehouse 0',
      'oldest logistics 0',
      'oldest integration 30',
    ]);
    // One read per team, whatever the number of open exceptions.
    expect(queues.reads.sort()).toEqual([
      'customer-service',
      'finance',
      'integration',
      'logistics',
      'warehouse',
    ]);
  });
});

const exception = (id: string, raisedAt: string): OwnedException => ({
  exceptionId: id,
  type: 'credit-hold',
  ownerTeam: 'finance',
  priority: 'normal',
  state: 'open',
  stage: 'credit-hold',
  orderId: 'ERP-1',
  correlationId: 'ERP-1',
  raisedAt,
  slaDueAt: raisedAt,
  recommendedAction: 'decide',
  reasonCodes: [],
  context: {},
  audit: [],
});

/** A repository that creates once and resolves once, as the DynamoDB one does with its conditions. */
class Repository implements ExceptionRepository {
  readonly #items = new Map<string, OwnedException>();
  async raiseIfAbsent(e: OwnedException) {
    if (this.#items.has(e.exceptionId)) return { created: false };
    this.#items.set(e.exceptionId, e);
    return { created: true };
  }
  async get(id: string) {
    return this.#items.get(id);
  }
  async awaitDecision() {
    return undefined;
  }
  async resolve(current: OwnedException, resolution: ExceptionResolution, _audit: AuditEntry) {
    const stored = this.#items.get(current.exceptionId);
    if (stored?.state !== 'open') return { resolved: false as const, existing: stored };
    const resolved = { ...stored, state: 'resolved' as const, resolution };
    this.#items.set(current.exceptionId, resolved);
    return { resolved: true as const, exception: resolved };
  }
  /** A method the port does not know, on private state: still the repository's own behind the wrapper. */
  count() {
    return this.#items.size;
  }
}

describe('exceptions raised and decided are counted where they happen', () => {
  const decision: ExceptionResolution = {
    outcome: 'release',
    decidedBy: 'pat',
    decidedAt: '2026-12-05T10:30:00.000Z',
    reason: 'ok',
    tier: 1,
  };
  const audit: AuditEntry = { at: decision.decidedAt, actor: 'pat', action: 'released', why: 'ok' };

  it('counts a creation once (not its redelivery) and a decision once, with how long it was open', async () => {
    const metrics = new RecordingMetrics();
    const repository = withExceptionMetrics(new Repository(), metrics);
    const held = exception('EXC-1', '2026-12-05T09:00:00.000Z');
    expect(await repository.raiseIfAbsent(held)).toEqual({ created: true });
    expect(await repository.raiseIfAbsent(held)).toEqual({ created: false });
    expect((await repository.resolve(held, decision, audit)).resolved).toBe(true);
    expect((await repository.resolve(held, decision, audit)).resolved).toBe(false);
    expect(metrics.events).toEqual(['raised EXC-1 finance credit-hold', 'resolved EXC-1 after 5400s']);
    expect(repository.count()).toBe(1);
    expect(await repository.get('EXC-1')).toMatchObject({ state: 'resolved' });
  });

  it('a metric that cannot be written never changes the repository’s answer', async () => {
    const failing: ExceptionMetrics = {
      raised: () => {
        throw new Error('stdout closed');
      },
      resolved: () => {
        throw new Error('stdout closed');
      },
      oldestOpen: () => undefined,
    };
    const repository = withExceptionMetrics(new Repository(), failing);
    const held = exception('EXC-2', '2026-12-05T09:00:00.000Z');
    expect(await repository.raiseIfAbsent(held)).toEqual({ created: true });
    expect((await repository.resolve(held, decision, audit)).resolved).toBe(true);
  });
});
