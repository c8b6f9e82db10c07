import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { run } from '../../cli/main.ts';
import { VirtualClock } from '../../local/clock/clock.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import { sampleOrders } from '../../local/demo/sample-orders.ts';
import type { LocalExecution } from '../../local/stepfunctions/sfn-service.ts';
import { forOrder, quiet } from '../support/faults.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * Every exception type can be decided, through the operator CLI, against a running local cloud: an
 * integration failure taken in from a DLQ, an SLA breach the detector raised, an order parked by a failed
 * step, and a credit hold a path waits on. Each decision says what happens next; a second decision is
 * refused with the one that stands; an exact repeat is harmless; and of two contrary decisions sent at
 * once, exactly one wins.
 */
const START = new Date('2026-12-03T15:00:00.000Z');
const MINUTE = 60_000;
const clock = new VirtualClock(START);
let world: TestCloud;
let cloud: LocalCloud;

beforeAll(async () => {
  world = await startTestCloud({
    clock,
    // A 20-minute release → ship confirmation target, so a released order breaches within the hour.
    context: {
      'handoff:slaPolicy': {
        jeopardyFraction: 0.5,
        stages: { 'release-to-ship-confirmation': { targetMinutes: 20, overrides: [] } },
      },
    },
  });
  cloud = world.cloud;
});

afterAll(async () => {
  await world?.stop();
});

async function handoff(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await run(argv, {
    out: { write: (text) => out.push(text), colour: false, now: () => clock.now() },
    err: (text) => err.push(text),
  });
  return { code, out: out.join('\n'), err: err.join('\n') };
}

interface ShownException {
  exceptionId: string;
  type: string;
  orderId: string;
  state: string;
  reasonCodes: string[];
  resolution?: { outcome: string; closedAs?: string; decidedBy: string; decidedAt: string; reason: string };
  audit: { at: string; actor: string; action: string; why: string }[];
}

async function shown(exceptionId: string): Promise<ShownException> {
  const result = await handoff('--json', 'exceptions', 'show', exceptionId);
  expect(result.code).toBe(0);
  return JSON.parse(result.out) as ShownException;
}

async function openOf(team: string): Promise<ShownException[]> {
  return JSON.parse((await handoff('--json', 'exceptions', 'list', '--team', team)).out) as ShownException[];
}

const resolvedEvents = (exceptionId: string) =>
  (cloud.events.archives[0]?.events ?? [])
    .map((e) => e.event)
    .filter(
      (e) =>
        e['detail-type'] === 'exception.resolved.v1' &&
        (e.detail as { exceptionId?: string }).exceptionId === exceptionId,
    )
    .map((e) => e.detail as Record<string, unknown>);

async function orderStage(orderId: string): Promise<unknown> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({
      TableName: cloud.tables.find((t) => t.resource.logicalId.startsWith('OrdersTable'))?.name,
      Key: { pk: orderId, sk: 'ORDER' },
    }),
  );
  return Item?.stage;
}

async function send(runId: string, label: string): Promise<string> {
  const sample = sampleOrders(clock.now(), runId).find((o) => o.label.startsWith(label));
  await world.sqs.send(
    new SendMessageCommand({
      QueueUrl: queueNamed(cloud, 'ErpIngressQueue').url,
      MessageBody: JSON.stringify(sample?.body),
    }),
  );
  return `ERP-${String(sample?.body.SalesOrder)}`;
}

const executionOf = (orderId: string, done: (e: LocalExecution) => boolean) =>
  until(`the execution of ${orderId}`, () =>
    [...cloud.sfn.executions.values()].find((e) => e.name === orderId && done(e)),
  );

describe('the exception lifecycle, for every type, through the CLI', () => {
  let deadLetter = '';
  let breach = '';
  let breachedOrder = '';

  it('raises an integration exception from a DLQ message and an SLA breach from the detector', async () => {
    const dlqOrder = sampleOrders(clock.now(), 'EXL1').find((o) => o.label.startsWith('wholesale order'));
    await world.sqs.send(
      new SendMessageCommand({
        QueueUrl: queueNamed(cloud, 'ErpIngressDlq').url,
        MessageBody: JSON.stringify(dlqOrder?.body),
      }),
    );
    breachedOrder = await send('EXL2', 'wholesale order');
    await executionOf(breachedOrder, (e) => e.status === 'SUCCEEDED');
    await quiet(cloud);
    // The intake and the detector run hourly in test clouds: two hours take in the letter and breach the clock.
    for (let hour = 0; hour < 2; hour++) {
      await clock.advance(60 * MINUTE);
      await quiet(cloud);
    }

    const integration = await openOf('integration');
    deadLetter = integration.find((e) => e.reasonCodes.includes('DLQ:ErpIngressDlq'))?.exceptionId ?? '';
    expect(deadLetter).toMatch(/^EXC-DLQ-/);
    const logistics = await openOf('logistics');
    const raised = logistics.find((e) => e.type === 'sla-breach' && e.orderId === breachedOrder);
    breach = raised?.exceptionId ?? '';
    expect(breach).toMatch(/^EXC-SLA-/);
  }, 120_000);

  it('approves the dead letter: resolved and announced, and it says the DLQ redrive reprocesses it', async () => {
    const approved = await handoff(
      'exceptions',
      'approve',
      deadLetter,
      '--reason',
      'ERP fixed the customer master',
      '--by',
      'ivy.integration',
    );
    expect(approved).toMatchObject({ code: 0, err: '' });
    expect(approved.out).toBe(
      `${deadLetter}: resolved by ivy.integration; no workflow was waiting and nothing was reprocessed: the message is still on ErpIngressDlq, run \`handoff dlq redrive --queue ErpIngressDlq\` to reprocess it.`,
    );
    const exception = await shown(deadLetter);
    expect(exception.state).toBe('resolved');
    expect(exception.resolution).toMatchObject({
      outcome: 'approve',
      closedAs: 'resolved',
      decidedBy: 'ivy.integration',
      reason: 'ERP fixed the customer master',
    });
    expect(exception.audit.map((a) => [a.actor, a.action, a.why])).toEqual([
      ['handoff:dead-letter-intake', 'raised', expect.any(String)],
      ['ivy.integration', 'resolved', 'ERP fixed the customer master'],
    ]);
    await quiet(cloud);
    expect(resolvedEvents(deadLetter)).toEqual([
      expect.objectContaining({ resolution: 'resolved', resolvedBy: 'ivy.integration' }),
    ]);
    expect((await handoff('exceptions', 'show', deadLetter)).out).toMatch(
      /resolution\s+resolved by ivy\.integration .*: ERP fixed the customer master/,
    );
  }, 60_000);

  it('approves the SLA breach; a second decision is refused clearly, an exact repeat changes nothing', async () => {
    const reason = 'Carrier collected late; pick-up confirmed';
    const approved = await handoff(
      'exceptions',
      'approve',
      breach,
      '--reason',
      reason,
      '--by',
      'lee.logistics',
    );
    expect(approved).toMatchObject({ code: 0, err: '' });
    expect(approved.out).toBe(`${breach}: resolved by lee.logistics; acknowledged; no workflow was waiting.`);
    const decidedAt = (await shown(breach)).resolution?.decidedAt;

    const refused = await handoff(
      'exceptions',
      'reject',
      breach,
      '--reason',
      'Not acceptable',
      '--by',
      'sam.ops',
    );
    expect(refused.code).toBe(1);
    expect(refused.out).toBe('');
    expect(refused.err).toBe(
      `ExceptionAlreadyResolved: ${breach} was already resolved by lee.logistics at ${decidedAt} (reason: ${reason}); sam.ops's reject was refused and nothing changed\n\`handoff exceptions show\` shows its audit trail.`,
    );
    const overridden = await handoff(
      'exceptions',
      'override',
      breach,
      '--reason',
      reason,
      '--by',
      'lee.logistics',
    );
    expect(overridden.code).toBe(1);
    expect(overridden.err).toContain("lee.logistics's override was refused and nothing changed");

    const repeat = await handoff(
      '--json',
      'exceptions',
      'approve',
      breach,
      '--reason',
      reason,
      '--by',
      'lee.logistics',
    );
    expect(repeat.code).toBe(0);
    expect(JSON.parse(repeat.out)).toMatchObject({
      exceptionId: breach,
      type: 'sla-breach',
      orderId: breachedOrder,
      decision: 'approve',
      closedAs: 'resolved',
      decidedBy: 'lee.logistics',
      decidedAt,
      resumed: 'no-task',
      replayed: true,
      next: { kind: 'acknowledged' },
    });

    const exception = await shown(breach);
    expect(exception.audit.filter((a) => a.action !== 'raised')).toEqual([
      { at: decidedAt, actor: 'lee.logistics', action: 'resolved', why: reason },
    ]);
    await quiet(cloud);
    // The repeat re-announces under the same idempotency key (consumers de-duplicate): one resolution.
    const events = resolvedEvents(breach);
    expect(new Set(events.map((e) => e.idempotencyKey))).toEqual(new Set([`${breach}:resolved`]));
    expect(events.every((e) => e.resolution === 'resolved' && e.resolvedBy === 'lee.logistics')).toBe(true);
  }, 60_000);

  it('approves the integration exception of an order a failed step parked, and says the order stays parked', async () => {
    const parkedOrder = sampleOrders(clock.now(), 'EXL3').find((o) => o.label.startsWith('wholesale order'));
    const orderId = `ERP-${String(parkedOrder?.body.SalesOrder)}`;
    const fault = cloud.lambda.injectFault({
      logicalId: 'AllocateStockFunction',
      when: forOrder(orderId),
      errorType: 'PartnerRejected',
      errorMessage: 'wms: 422 site DC-CHI closed for stocktake',
      times: 1,
    });
    await send('EXL3', 'wholesale order');
    const execution = await executionOf(orderId, (e) => e.status !== 'RUNNING');
    fault.clear();
    expect(execution.statesEntered.slice(-2)).toEqual(['RaiseOwnedStepException', 'ParkedAsOwnedException']);
    const exceptionId = String(
      (JSON.parse(execution.output ?? '{}') as { exception?: { exceptionId?: string } }).exception
        ?.exceptionId,
    );
    expect(await orderStage(orderId)).toBe('exception');

    const approved = await handoff(
      '--json',
      'exceptions',
      'approve',
      exceptionId,
      '--reason',
      'Stocktake over',
      '--by',
      'ivy.integration',
    );
    expect(approved.code).toBe(0);
    const result = JSON.parse(approved.out) as { next: { kind: string; message: string }; closedAs: string };
    expect(result.closedAs).toBe('resolved');
    expect(result.next.kind).toBe('order-parked');
    expect(result.next.message).toContain(`order ${orderId} stays parked at stage 'exception'`);
    expect(result.next.message).toContain('from ReserveStockAtBestSingleSite');
    // Nothing pretended the order moved on.
    await quiet(cloud);
    expect(await orderStage(orderId)).toBe('exception');
    expect((await shown(exceptionId)).state).toBe('resolved');
  }, 120_000);

  it('of two contrary decisions sent at once, exactly one wins and the other is refused clearly', async () => {
    // A fresh breach exception to race on: the next order released breaches within the hour, too.
    const orderId = await send('EXL4', 'wholesale order');
    await executionOf(orderId, (e) => e.status === 'SUCCEEDED');
    await quiet(cloud);
    const exceptionId = await until('the breach is raised', async () => {
      await clock.advance(60 * MINUTE);
      await quiet(cloud);
      return (await openOf('logistics')).find((e) => e.type === 'sla-breach' && e.orderId === orderId)
        ?.exceptionId;
    });

    const contenders = [
      ['approve', 'alice.logistics', 'Collected, just late'],
      ['reject', 'bob.logistics', 'Lost in the yard: re-ship instead'],
    ] as const;
    const results = await Promise.all(
      contenders.map(([outcome, by, why]) =>
        handoff('exceptions', outcome, exceptionId, '--reason', why, '--by', by),
      ),
    );
    const winners = results.flatMap((r, i) => (r.code === 0 ? [i] : []));
    expect(winners).toHaveLength(1);
    const [outcome, winner, why] = contenders[winners[0] ?? 0] ?? [];
    const loser = results.find((r) => r.code !== 0);
    expect(loser?.code).toBe(1);
    expect(loser?.err).toContain(
      `ExceptionAlreadyResolved: ${exceptionId} was already ${outcome === 'approve' ? 'resolved' : 'cancelled'} by ${winner}`,
    );

    const exception = await shown(exceptionId);
    expect(exception.resolution).toMatchObject({ decidedBy: winner, reason: why });
    expect(exception.audit.filter((a) => a.action !== 'raised')).toEqual([
      expect.objectContaining({ actor: winner, why }),
    ]);
    await quiet(cloud);
    expect(resolvedEvents(exceptionId)).toEqual([expect.objectContaining({ resolvedBy: winner })]);
  }, 120_000);

  it('of an approve and a reject of a waiting credit hold at once, one resumes the path and the other is refused', async () => {
    const orderId = await send('EXL5', 'customer close to its credit limit');
    const exceptionId = `EXC-${orderId}-CREDIT`;
    const execution = await executionOf(orderId, (e) =>
      e.statesEntered.includes('AwaitCreditControllerDecision'),
    );
    await until('the hold waits on the credit controller', async () => {
      const { Item } = await cloud.dynamodb.documents.send(
        new GetCommand({
          TableName: cloud.tables.find((t) => t.resource.logicalId.startsWith('ExceptionsTable'))?.name,
          Key: { pk: exceptionId },
        }),
      );
      return Item?.awaiting ? true : undefined;
    });

    const contenders = [
      ['approve', 'jo.finance', 'Payment received'],
      ['reject', 'sam.credit', 'Over the limit'],
    ] as const;
    const results = await Promise.all(
      contenders.map(([outcome, by, why]) =>
        handoff('exceptions', outcome, exceptionId, '--reason', why, '--by', by),
      ),
    );
    const winners = results.flatMap((r, i) => (r.code === 0 ? [i] : []));
    expect(winners).toHaveLength(1);
    const [outcome, winner] = contenders[winners[0] ?? 0] ?? [];
    expect(results[winners[0] ?? 0]?.out).toBe(
      outcome === 'approve'
        ? `${exceptionId}: approved by ${winner}; order ${orderId} resumed: credit released, its path goes on to allocation.`
        : `${exceptionId}: rejected by ${winner}; order ${orderId} resumed: its path rejects the order.`,
    );
    expect(results.find((r) => r.code !== 0)?.err).toContain('ExceptionAlreadyResolved');

    await until('the path finishes', () => (execution.status === 'RUNNING' ? undefined : execution.status));
    expect(execution.status).toBe('SUCCEEDED');
    expect(await orderStage(orderId)).toBe(outcome === 'approve' ? 'released' : 'rejected');
    expect(
      (await shown(exceptionId)).audit.filter((a) => a.actor === 'jo.finance' || a.actor === 'sam.credit'),
    ).toHaveLength(1);
    await quiet(cloud);
    expect(resolvedEvents(exceptionId)).toEqual([
      expect.objectContaining({
        resolution: outcome === 'approve' ? 'approved' : 'rejected',
        resolvedBy: winner,
      }),
    ]);
  }, 120_000);

  it('refuses a decision without --reason, and names a bad decision field', async () => {
    const missing = await handoff('exceptions', 'override', 'EXC-X');
    expect(missing.code).toBe(2);
    expect(missing.err).toContain("required option '--reason <text>' not specified");
    const blank = await handoff('exceptions', 'override', breach, '--reason', '  ', '--by', 'lee.logistics');
    expect(blank.code).toBe(1);
    expect(blank.err).toBe('--reason is required: say why, it goes on the audit trail.');
  });
});
