import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DynamoExceptionRepository } from '../../lambdas/adapters/aws/dynamo-exception-repository.ts';
import { DynamoOrderRepository } from '../../lambdas/adapters/aws/dynamo-order-repository.ts';
import type {
  AuditEntry,
  AwaitPatch,
  DecisionCallbacks,
  ExceptionRepository,
  ExceptionResolution,
  OrderRecord,
  OwnedException,
} from '../../lambdas/ports/index.ts';
import {
  type DecisionDeps,
  type DecisionInput,
  decideException,
} from '../../lambdas/use-cases/human-decision.ts';
import { buildApp } from '../../lib/app.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb/dynamodb-local.ts';
import { createTableInput } from '../../local/dynamodb/tables.ts';
import { RecordingPublisher } from '../support/recording-publisher.ts';

/**
 * Two contrary decisions at the same moment, against DynamoDB Local and the synthesized tables: both read
 * the open exception, then both write at once (a barrier holds each `resolve` until the other arrives), so
 * only the exception repository's conditional write can pick the winner. Exactly one decision stands.
 */
const NOW = new Date('2026-12-03T15:00:00.000Z');
let ddb: DynamoDbLocal;
let exceptionsTable = '';
let ordersTable = '';
let run = 0;

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  const { stateful } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
  const tables = Template.fromStack(stateful).findResources('AWS::DynamoDB::GlobalTable');
  for (const [logicalId, table] of Object.entries(tables)) {
    if (!logicalId.startsWith('ExceptionsTable') && !logicalId.startsWith('OrdersTable')) continue;
    const name = `test-${logicalId}`;
    await ddb.client.send(
      new CreateTableCommand(
        createTableInput(
          name,
          { stack: 'test', logicalId, type: table.Type, properties: table.Properties, metadata: {} },
          table.Properties,
        ),
      ),
    );
    if (logicalId.startsWith('ExceptionsTable')) exceptionsTable = name;
    else ordersTable = name;
  }
}, 60_000);

afterAll(async () => {
  await ddb?.stop();
});

/** The real repository, with every `resolve` held until `parties` of them have arrived. */
class RacingExceptions implements ExceptionRepository {
  private waiting: (() => void)[] = [];
  resolves = 0;
  constructor(
    private readonly inner: DynamoExceptionRepository,
    private readonly parties: number,
  ) {}
  raiseIfAbsent(exception: OwnedException) {
    return this.inner.raiseIfAbsent(exception);
  }
  get(id: string) {
    return this.inner.get(id);
  }
  awaitDecision(id: string, patch: AwaitPatch) {
    return this.inner.awaitDecision(id, patch);
  }
  async resolve(current: OwnedException, resolution: ExceptionResolution, audit: AuditEntry) {
    this.resolves += 1;
    await new Promise<void>((release) => {
      this.waiting.push(release);
      if (this.waiting.length === this.parties) for (const go of this.waiting) go();
    });
    return this.inner.resolve(current, resolution, audit);
  }
}

class Callbacks implements DecisionCallbacks {
  readonly answers: { taskToken: string; kind: string; detail: unknown }[] = [];
  async succeed(taskToken: string, output: object) {
    this.answers.push({ taskToken, kind: 'succeed', detail: output });
    return 'delivered' as const;
  }
  async fail(taskToken: string, error: string) {
    this.answers.push({ taskToken, kind: 'fail', detail: error });
    return 'delivered' as const;
  }
}

let exceptions: RacingExceptions;
let orders: DynamoOrderRepository;
let events: RecordingPublisher;
let callbacks: Callbacks;
let deps: DecisionDeps;

beforeEach(() => {
  run += 1;
  exceptions = new RacingExceptions(new DynamoExceptionRepository(ddb.client, exceptionsTable), 2);
  orders = new DynamoOrderRepository(ddb.client, ordersTable, { now: () => new Date(NOW) });
  events = new RecordingPublisher();
  callbacks = new Callbacks();
  deps = { orders, exceptions, events, callbacks, clock: { now: () => new Date(NOW) } };
});

async function raise(over: Partial<OwnedException>): Promise<OwnedException> {
  const orderId = `ERP-RACE${run}`;
  const exception: OwnedException = {
    exceptionId: `EXC-RACE-${run}`,
    type: 'sla-breach',
    ownerTeam: 'logistics',
    priority: 'high',
    state: 'open',
    stage: 'released',
    orderId,
    correlationId: orderId,
    raisedAt: '2026-12-03T14:00:00.000Z',
    slaDueAt: '2026-12-03T16:00:00.000Z',
    recommendedAction: 'Chase the carrier pick-up.',
    reasonCodes: ['SLA_BREACHED'],
    context: {},
    audit: [{ at: '2026-12-03T14:00:00.000Z', actor: 'handoff:sla-detector', action: 'raised', why: 'late' }],
    ...over,
  };
  await exceptions.raiseIfAbsent(exception);
  return exception;
}

async function putOrder(orderId: string, stage: OrderRecord['stage']): Promise<void> {
  const record = {
    orderId,
    stage,
    version: 1,
    payloadHash: 'hash',
    receivedAt: '2026-12-03T13:00:00.000Z',
    updatedAt: '2026-12-03T13:00:00.000Z',
    stageHistory: [],
    order: { customer: { id: 'C-1', priority: 'standard' } },
  } as unknown as OrderRecord;
  await orders.createIfAbsent(record);
}

const decide = (exceptionId: string, outcome: string, decidedBy: string, reason: string) =>
  decideException({ exceptionId, outcome, decidedBy, reason } as DecisionInput, deps);

function split(results: PromiseSettledResult<unknown>[]) {
  const won = results.flatMap((r, i) => (r.status === 'fulfilled' ? [i] : []));
  const lost = results.flatMap((r) => (r.status === 'rejected' ? [r.reason as Error] : []));
  return { won, lost };
}

describe('concurrent decisions on one exception, against DynamoDB Local', () => {
  it('approve and reject at once: one wins, the other is refused clearly; one audit entry, one event', async () => {
    const { exceptionId, orderId } = await raise({});
    const contenders = [
      ['approve', 'alice@ops', 'Carrier collected at 16:10.'],
      ['reject', 'bob@ops', 'Still not collected.'],
    ] as const;
    const { won, lost } = split(
      await Promise.allSettled(contenders.map(([o, by, why]) => decide(exceptionId, o, by, why))),
    );

    expect(exceptions.resolves).toBe(2);
    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    const [outcome, winner, why] = contenders[won[0] ?? 0] ?? [];
    const loser = contenders.find(([, by]) => by !== winner)?.[1];
    expect(lost[0]).toMatchObject({ name: 'ExceptionAlreadyResolved', retryable: false });
    expect(lost[0]?.message).toBe(
      `${exceptionId} was already ${outcome === 'approve' ? 'resolved' : 'cancelled'} by ${winner} at ${NOW.toISOString()} (reason: ${why}); ${loser}'s ${outcome === 'approve' ? 'reject' : 'approve'} was refused and nothing changed`,
    );

    const stored = await exceptions.get(exceptionId);
    expect(stored).toMatchObject({ state: 'resolved', resolution: { decidedBy: winner, reason: why } });
    expect(stored?.audit.filter((a) => a.action !== 'raised')).toEqual([
      {
        at: NOW.toISOString(),
        actor: winner,
        action: outcome === 'approve' ? 'resolved' : 'cancelled',
        why,
      },
    ]);
    const resolved = events.all.filter((e) => e.name === 'exception.resolved');
    expect(resolved).toHaveLength(1);
    expect(resolved[0]?.detail).toMatchObject({ exceptionId, orderId, resolvedBy: winner });
  });

  it('release and reject of a waiting credit hold at once: one decision moves the order and answers the task', async () => {
    const orderId = `ERP-RACE${run}`;
    await putOrder(orderId, 'credit-hold');
    const { exceptionId } = await raise({
      type: 'credit-hold',
      ownerTeam: 'finance',
      stage: 'credit-hold',
      awaiting: { tier: 1, role: 'credit-controller', taskToken: 'tok-race', since: NOW.toISOString() },
    });
    const contenders = [
      ['approve', 'jo.finance', 'Paid this morning.'],
      ['reject', 'sam.credit', '47 days overdue.'],
    ] as const;
    const { won, lost } = split(
      await Promise.allSettled(contenders.map(([o, by, why]) => decide(exceptionId, o, by, why))),
    );

    expect(won).toHaveLength(1);
    expect(lost).toHaveLength(1);
    expect(lost[0]).toMatchObject({ name: 'ExceptionAlreadyResolved' });
    const [outcome, winner] = contenders[won[0] ?? 0] ?? [];
    const order = await orders.get(orderId);
    expect(order?.stage).toBe(outcome === 'approve' ? 'credit-approved' : 'rejected');
    expect(order?.credit?.review?.decidedBy).toBe(winner);
    expect(callbacks.answers).toEqual([
      {
        taskToken: 'tok-race',
        kind: 'succeed',
        detail: { outcome: outcome === 'approve' ? 'release' : 'reject', decidedBy: winner, tier: 1 },
      },
    ]);
    expect(events.all.filter((e) => e.name === 'exception.resolved')).toHaveLength(1);
    expect((await exceptions.get(exceptionId))?.audit.filter((a) => a.actor === winner)).toHaveLength(1);
  });

  it('the same decision sent twice at once (a retried invoke) is one decision, answered twice alike', async () => {
    const { exceptionId } = await raise({ type: 'integration-failure', ownerTeam: 'integration' });
    const results = await Promise.all([
      decide(exceptionId, 'override', 'alice@ops', 'Known partner gap.'),
      decide(exceptionId, 'override', 'alice@ops', 'Known partner gap.'),
    ]);

    expect(results.map((r) => r.replayed).sort()).toEqual([false, true]);
    expect(results[0]?.decidedAt).toBe(results[1]?.decidedAt);
    const stored = await exceptions.get(exceptionId);
    expect(stored?.resolution).toMatchObject({ closedAs: 'overridden', decidedBy: 'alice@ops' });
    expect(stored?.audit.filter((a) => a.action === 'overridden')).toHaveLength(1);
    expect(new Set(events.all.map((e) => e.detail.idempotencyKey))).toEqual(
      new Set([`${exceptionId}:resolved`]),
    );
  });
});
