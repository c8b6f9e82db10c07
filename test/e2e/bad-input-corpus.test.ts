import { createHmac } from 'node:crypto';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OWNER_TEAMS } from '../../contracts/vocabulary.ts';
import { DynamoExceptionRepository } from '../../lambdas/adapters/aws/dynamo-exception-repository.ts';
import type { OwnedException } from '../../lambdas/ports/index.ts';
import type { LocalCloud } from '../../local/cloud.ts';
import type { PartnerSandbox } from '../../local/partners/sandbox.ts';
import { carrierWebhookCases, type WebhookCase } from '../fixtures/hostile/carrier-webhook.ts';
import { decideExceptionCases } from '../fixtures/hostile/decide-exception.ts';
import { ediBaseOrders, ediCases, keptOfEdiMessage } from '../fixtures/hostile/edi.ts';
import { erpBaseOrders, erpCases } from '../fixtures/hostile/erp.ts';
import type { HostileCase } from '../fixtures/hostile/types.ts';
import { vendorAsnCases } from '../fixtures/hostile/vendor-asn.ts';
import { wmsCases } from '../fixtures/hostile/wms.ts';
import { queueNamed, startTestCloud, type TestCloud, until } from '../support/test-cloud.ts';

/**
 * Every hostile input of the corpus (test/fixtures/hostile), through the real ingress of the synthesized stack
 * in one local cloud: the ERP ingress queue, the EDI inbound queue, the WMS events queue, the vendor ASN queue,
 * the carrier webhook function URL and the DecideException function. (The fulfilment bus takes no partner
 * events: it has no resource policy, so only the stack's own functions may PutEvents to it.)
 *
 * The base orders the duplicates resend go first; then every case is sent at once, and the checks run on
 * what the cloud did with them:
 * - each refusal names its field and rule (the exception's violations; the webhook's 4xx body; the decision's
 *   error), and each refused message is one open exception of the owner team, keeping the payload whole;
 * - no function invocation failed (but DecideException's refusals, which are the operator's answer), no DLQ
 *   holds a message, no order record, execution, order.received, inventory.received or shipment.* exists for a
 *   refused input, and no partner saw a side effect of one (only EDI 997s, which are how X12 says "refused");
 * - accepted unicode reads back exactly (NFC) from the order record and the order.received on the bus, and a
 *   resent duplicate changes nothing.
 */
const NOW = new Date();
let world: TestCloud;
let cloud: LocalCloud;
let sandbox: PartnerSandbox;

type Source = 'erp' | 'edi' | 'wms' | 'vendor-asn' | 'carrier-webhook';
interface Sent {
  readonly source: Source;
  readonly hostile: HostileCase<unknown>;
  /** The payload an exception for it must keep, read back whole. */
  readonly kept: string;
}

const QUEUES: Record<Exclude<Source, 'carrier-webhook'>, string> = {
  erp: 'ErpIngressQueue',
  edi: 'EdiInboundQueue',
  wms: 'WmsEventsQueue',
  'vendor-asn': 'VendorAsnQueue',
};
const DLQS = [
  'ErpIngressDlq',
  'EdiInboundDlq',
  'WmsEventsDlq',
  'VendorAsnDlq',
  'FunctionFailureDlq',
  'RuleTargetDlq',
] as const;

const erp = erpCases(NOW);
const edi = ediCases(NOW);
const wms = wmsCases();
const asns = vendorAsnCases();
const webhooks = carrierWebhookCases();
const decisions = decideExceptionCases();
const sent: Sent[] = [
  ...erp.map((hostile) => ({ source: 'erp' as const, hostile, kept: hostile.input })),
  ...edi.map((hostile) => ({ source: 'edi' as const, hostile, kept: keptOfEdiMessage(hostile.input) })),
  ...wms.map((hostile) => ({ source: 'wms' as const, hostile, kept: hostile.input })),
  ...asns.map((hostile) => ({ source: 'vendor-asn' as const, hostile, kept: hostile.input })),
  ...webhooks.map((hostile) => ({
    source: 'carrier-webhook' as const,
    hostile,
    kept: keptOfWebhook(hostile),
  })),
];

/** Orders that may exist: the bases, and the accepted unicode orders. Nothing else may create one. */
const allowedOrders = new Set([
  ...erpBaseOrders(NOW).map((b) => b.orderId),
  ...ediBaseOrders(NOW).map((b) => b.orderId),
  ...erp.flatMap((c) => (c.expect.outcome === 'accepted' ? [c.expect.orderId] : [])),
]);

/** The webhook body as the exception keeps it: text, base64 of bytes that are not UTF-8, or the start of a huge one. */
function keptOfWebhook(hostile: WebhookCase): string {
  const { body, base64 } = hostile.input;
  if (base64) return body;
  const bytes = Buffer.from(body, 'utf8');
  return hostile.expect.status === 413 ? bytes.subarray(0, 64 * 1024).toString('utf8') : body;
}

const webhookAnswers = new Map<string, { status: number; body: Record<string, unknown> }>();
const decisionErrors = new Map<string, { errorType: string; errorMessage: string }>();
/** Open exceptions by the payload they keep (read back whole). */
const keptBy = new Map<string, OwnedException[]>();
let openExceptions: OwnedException[] = [];
let decidedOn: { before: OwnedException | undefined; after: OwnedException | undefined } | undefined;
let elapsedMs = 0;
let decideFunction = '';

const tableNamed = (prefix: string) =>
  cloud.tables.find((t) => t.resource.logicalId.startsWith(prefix))?.name ?? '';

async function orderRecord(orderId: string): Promise<Record<string, unknown> | undefined> {
  const { Item } = await cloud.dynamodb.documents.send(
    new GetCommand({ TableName: tableNamed('OrdersTable'), Key: { pk: orderId, sk: 'ORDER' } }),
  );
  return Item;
}

/** Every open exception, by the owner teams' index (no scan). */
async function allOpenExceptions(): Promise<OwnedException[]> {
  const found: OwnedException[] = [];
  for (const team of OWNER_TEAMS) {
    let start: Record<string, unknown> | undefined;
    do {
      const page = await cloud.dynamodb.documents.send(
        new QueryCommand({
          TableName: tableNamed('ExceptionsTable'),
          IndexName: 'byOwnerState',
          KeyConditionExpression: 'ownerState = :s',
          ExpressionAttributeValues: { ':s': `${team}#open` },
          ExclusiveStartKey: start,
        }),
      );
      found.push(...((page.Items ?? []) as OwnedException[]));
      start = page.LastEvaluatedKey;
    } while (start);
  }
  return found;
}

async function depth(queue: string): Promise<number> {
  const { Attributes = {} } = await world.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueNamed(cloud, queue).url,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0)
  );
}

const send = (queue: string, body: string) =>
  world.sqs.send(new SendMessageCommand({ QueueUrl: queueNamed(cloud, queue).url, MessageBody: body }));

async function post(hostile: WebhookCase, secret: string) {
  const { input } = hostile;
  const bytes = input.base64 ? Buffer.from(input.body, 'base64') : Buffer.from(input.body, 'utf8');
  const hmac = (key: string, raw: Buffer) => `sha256=${createHmac('sha256', key).update(raw).digest('hex')}`;
  const signature = {
    valid: hmac(secret, bytes),
    none: undefined,
    forged: `sha256=${'0'.repeat(64)}`,
    'other-key': hmac(`${secret}-not`, bytes),
    'other-body': hmac(secret, Buffer.concat([bytes, Buffer.from(' ')])),
  }[input.signature];
  const response = await fetch(cloud.functionUrl('CarrierWebhook'), {
    method: 'POST',
    headers: {
      'content-type': input.contentType ?? 'application/json',
      ...(signature ? { 'x-handoff-signature': signature } : {}),
    },
    body: bytes,
  });
  webhookAnswers.set(hostile.name, {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
  });
}

/** Distinct inputs that must each end as one open exception. */
const quarantined = sent.filter((s) => s.hostile.expect.outcome === 'rejected' && s.hostile.expect.owner);

beforeAll(async () => {
  world = await startTestCloud();
  ({ cloud, sandbox } = world);
  const started = Date.now();

  // The orders the duplicates resend: live first.
  await Promise.all([
    ...erpBaseOrders(NOW).map((b) => send(QUEUES.erp, b.body)),
    ...ediBaseOrders(NOW).map((b) => send(QUEUES.edi, b.body)),
  ]);
  const bases = [...erpBaseOrders(NOW), ...ediBaseOrders(NOW)];
  await until('the base orders are live', async () =>
    (await Promise.all(bases.map((b) => orderRecord(b.orderId)))).every(Boolean) ? true : undefined,
  );

  // Everything at once.
  const secret = cloud.secrets.value('CarrierWebhookSecret');
  await Promise.all([
    ...sent.flatMap((s) =>
      s.source === 'carrier-webhook' ? [] : [send(QUEUES[s.source], s.hostile.input as string)],
    ),
    ...webhooks.map((hostile) => post(hostile, secret)),
  ]);

  // Waits that end early when all is done, and let the checks below say what is missing when it is not.
  const settled = <T>(what: string, probe: () => Promise<T | undefined>, ms: number) =>
    until(what, probe, ms).catch(() => undefined);
  const wanted = new Set(quarantined.map((s) => s.kept));
  await settled(
    'every refused input is an open exception',
    async () => ((await allOpenExceptions()).length >= wanted.size ? true : undefined),
    45_000,
  );
  await settled(
    'the ingress queues are drained',
    async () =>
      (await Promise.all(Object.values(QUEUES).map(depth))).every((n) => n === 0) ? true : undefined,
    10_000,
  );
  await cloud.idle();

  openExceptions = await allOpenExceptions();
  const repository = new DynamoExceptionRepository(cloud.dynamodb.client, tableNamed('ExceptionsTable'));
  for (const exception of openExceptions) {
    const payload = (await repository.payloadOf(exception.exceptionId)) ?? '';
    keptBy.set(payload, [...(keptBy.get(payload) ?? []), exception]);
  }

  // An operator's bad decisions, on an open exception of the corpus: each refused, nothing changed.
  const target = keptBy.get(erp[0]?.input ?? '')?.[0];
  decideFunction =
    [...cloud.lambda.functions.values()].find((f) => f.resource.logicalId.startsWith('DecideException'))
      ?.name ?? '';
  const exceptionRead = async (id: string) =>
    (
      await cloud.dynamodb.documents.send(
        new GetCommand({ TableName: tableNamed('ExceptionsTable'), Key: { pk: id } }),
      )
    ).Item as OwnedException | undefined;
  const before = await exceptionRead(target?.exceptionId ?? '');
  await Promise.all(
    decisions.map(async (hostile) => {
      const error = await cloud.lambda
        .invoke(decideFunction, hostile.input(target?.exceptionId ?? ''))
        .then(() => undefined)
        .catch((e: { errorType?: string; errorMessage?: string }) => e);
      if (error)
        decisionErrors.set(hostile.name, {
          errorType: String(error.errorType),
          errorMessage: String(error.errorMessage),
        });
    }),
  );
  decidedOn = { before, after: await exceptionRead(target?.exceptionId ?? '') };
  elapsedMs = Date.now() - started;
}, 120_000);

afterAll(async () => {
  await world?.stop();
});

const archived = () => (cloud.events.archives[0]?.events ?? []).map((e) => e.event);
const orderIdOf = (detail: unknown) => (detail as { orderId?: string }).orderId ?? '';

describe('the hostile input corpus, through every ingress of the stack', () => {
  it('covers every ingress and category', () => {
    const categories = new Set([...sent.map((s) => s.hostile.category), ...decisions.map((d) => d.category)]);
    expect([...categories].sort()).toEqual([
      'address',
      'authentication',
      'broken-envelope',
      'duplicate',
      'extra-fields',
      'huge',
      'malformed-json',
      'missing-fields',
      'negative-or-zero',
      'segment-count',
      'unicode',
      'unknown-reference',
      'wrong-types',
    ]);
    console.info(`bad-input corpus: ${sent.length + decisions.length} inputs handled in ${elapsedMs} ms`);
  });

  it.each(quarantined.map((s) => [`${s.source}: ${s.hostile.name}`, s] as const))(
    '%s is refused by field and rule, and kept as one open exception of its owner',
    (_name, { hostile, kept }) => {
      const expected = hostile.expect;
      if (expected.outcome !== 'rejected') throw new Error('unreachable');
      const found = keptBy.get(kept) ?? [];
      expect(found, 'exactly one open exception keeps the payload').toHaveLength(1);
      const [exception] = found;
      expect(exception).toMatchObject({ ownerTeam: expected.owner, type: expected.type, state: 'open' });
      expect(exception?.violations).toContainEqual(
        expect.objectContaining({ path: expected.path, rule: expect.stringContaining(expected.rule) }),
      );
    },
  );

  it.each(webhooks.map((c) => [c.name, c] as const))(
    'carrier webhook: %s is answered 4xx with its field and rule',
    (name, hostile) => {
      const answer = webhookAnswers.get(name);
      expect(answer?.status).toBe(hostile.expect.status);
      expect(answer?.body.violations).toContainEqual(
        expect.objectContaining({
          path: hostile.expect.path,
          rule: expect.stringContaining(hostile.expect.rule),
        }),
      );
      // An unauthenticated body is kept nowhere.
      if (!hostile.expect.owner) expect(keptBy.has(hostile.input.body)).toBe(false);
      else expect(answer?.body.exceptionId).toBe(keptBy.get(keptOfWebhook(hostile))?.[0]?.exceptionId);
    },
  );

  it.each(decisions.map((c) => [c.name, c] as const))(
    'DecideException: %s is refused by field and rule, and changes nothing',
    (name, hostile) => {
      const error = decisionErrors.get(name);
      expect(error?.errorType).toBe(hostile.expect.errorType);
      if (hostile.expect.errorType === 'InvalidDecision') {
        expect(error?.errorMessage).toMatch(new RegExp(`^${hostile.expect.path.replace(/[()]/g, '\\$&')} `));
        expect(error?.errorMessage).toContain(`[${hostile.expect.rule}`);
      }
    },
  );

  it('no exception is left that the corpus did not cause, and no bad decision changed the one it named', () => {
    const expected = new Set(quarantined.map((s) => s.kept));
    const stray = openExceptions.filter(
      (e) => ![...keptBy.entries()].some(([payload, list]) => expected.has(payload) && list.includes(e)),
    );
    expect(stray.map((e) => `${e.exceptionId} ${e.reasonCodes.join(',')}`)).toEqual([]);
    expect(decidedOn?.after).toEqual(decidedOn?.before);
    expect(decidedOn?.after?.state).toBe('open');
    expect(archived().some((e) => e['detail-type'] === 'exception.resolved.v1')).toBe(false);
  });

  it('no function failed or logged an error (DecideException answers the operator with its refusals), no message waits for a retry, no DLQ holds one', async () => {
    expect(cloud.lambda.invocations.length).toBeGreaterThan(100);
    const failed = cloud.lambda.invocations.filter((r) => r.error);
    const refusals = failed.filter(
      (r) => r.functionName === decideFunction && /^(InvalidDecision|ExceptionNotFound):/.test(r.error ?? ''),
    );
    expect(failed.filter((r) => !refusals.includes(r)).map((r) => `${r.functionName}: ${r.error}`)).toEqual(
      [],
    );
    expect(refusals).toHaveLength(decisions.length);
    // A queue handler reports a failed message as a batch item failure, not a failed invocation: it would be
    // logged as an error and left on its queue for SQS to retry (and, after five receives, to dead-letter).
    const errors = cloud.lambda.logs.filter(
      (l) => l.functionName !== decideFunction && /"level":"ERROR"/.test(l.text),
    );
    expect(errors.map((l) => `${l.functionName}: ${l.text.slice(0, 300)}`)).toEqual([]);
    expect(await Promise.all(Object.values(QUEUES).map(depth))).toEqual(Object.values(QUEUES).map(() => 0));
    expect(await Promise.all(DLQS.map(depth))).toEqual(DLQS.map(() => 0));
  });

  it('no refused input made an order, an execution, or an order, receipt or shipment event', async () => {
    const noOrders = sent.flatMap((s) =>
      s.hostile.expect.outcome === 'rejected' ? (s.hostile.expect.noOrders ?? []) : [],
    );
    expect(noOrders.length).toBeGreaterThan(50);
    const found = await Promise.all(noOrders.map(async (id) => ((await orderRecord(id)) ? id : undefined)));
    expect(found.filter(Boolean)).toEqual([]);
    expect(
      [...cloud.sfn.executions.values()].map((e) => e.name).filter((name) => !allowedOrders.has(name)),
    ).toEqual([]);
    const events = archived();
    expect(
      events
        .filter((e) => e['detail-type'] === 'order.received.v1')
        .map((e) => orderIdOf(e.detail))
        .filter((id) => !allowedOrders.has(id)),
    ).toEqual([]);
    expect(
      events
        .filter((e) => /^(inventory\.received|shipment\.)/.test(e['detail-type']))
        .map((e) => e['detail-type']),
    ).toEqual([]);
  });

  it('no partner saw a side effect of a refused input: every write is for a live order, or a 997', () => {
    // The live orders, and the EDI base's PO number (what its 855 names).
    const live = [...allowedOrders, ...ediBaseOrders(NOW).map((b) => b.orderId.replace(/^EDI-C-7007-/, ''))];
    const writes = sandbox.calls.filter((c) => c.method !== 'GET');
    const stray = writes.filter((c) => {
      const text = typeof c.body === 'string' ? c.body : JSON.stringify(c.body ?? '');
      if (live.some((id) => text.includes(id) || c.path.includes(id))) return false;
      // A 997 is X12's answer to an interchange, accepted or refused: the rejection itself, not an effect.
      return !(c.path === '/edi/outbound' && /(^|~)\s*ST\*997\*/.test(text));
    });
    expect(stray.map((c) => `${c.method} ${c.path}`)).toEqual([]);
    // The trading partner heard about each refused interchange whose group could be read: a rejecting 997.
    const rejecting = sandbox.edi.outbound.filter(
      (d) => /(^|~)\s*ST\*997\*/.test(d.text) && /AK9\*R\*/.test(d.text),
    );
    expect(rejecting.length).toBeGreaterThan(10);
  });

  it('accepted unicode reads back exactly (NFC) from the order record and the order.received', async () => {
    for (const { hostile } of sent) {
      const expected = hostile.expect;
      if (expected.outcome !== 'accepted') continue;
      const record = (await orderRecord(expected.orderId)) as { order: Record<string, unknown> } | undefined;
      const announced = archived().find(
        (e) => e['detail-type'] === 'order.received.v1' && orderIdOf(e.detail) === expected.orderId,
      )?.detail as { order: Record<string, unknown> } | undefined;
      for (const [field, value] of Object.entries(expected.roundTrip)) {
        const read = (from: unknown) =>
          field.split('.').reduce((at, key) => (at as Record<string, unknown> | undefined)?.[key], from);
        expect(read(record?.order), `${hostile.name}: ${field} in the order record`).toBe(value);
        expect(read(announced?.order), `${hostile.name}: ${field} in order.received`).toBe(value);
      }
    }
  });

  it('a duplicate with the same content is a no-op: one order, one execution, one order.received key', async () => {
    for (const orderId of new Set(
      sent.flatMap((s) => (s.hostile.expect.outcome === 'no-op' ? [s.hostile.expect.orderId] : [])),
    )) {
      expect((await orderRecord(orderId))?.version, orderId).toBeDefined();
      expect(
        [...cloud.sfn.executions.values()].filter((e) => e.name === orderId),
        orderId,
      ).toHaveLength(1);
      const keys = archived()
        .filter((e) => e['detail-type'] === 'order.received.v1' && orderIdOf(e.detail) === orderId)
        .map((e) => (e.detail as { idempotencyKey: string }).idempotencyKey);
      expect(new Set(keys), orderId).toEqual(new Set([`${orderId}:received`]));
    }
  });

  it('partners cannot put events on the fulfilment bus: it has no resource policy', () => {
    expect(cloud.model.ofType('AWS::Events::EventBusPolicy')).toEqual([]);
  });
});
