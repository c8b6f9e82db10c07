import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { CanonicalOrder } from '../../../contracts/order.ts';
import { EdiGatewayClient, X12_MEDIA_TYPE } from '../../../lambdas/adapters/edi/edi-gateway-client.ts';
import { type PurchaseOrderReference, parsePurchaseOrder850 } from '../../../lambdas/adapters/edi/x12-850.ts';
import {
  build810,
  build855,
  build856,
  functionalAcknowledgment997,
  type OutboundDocument,
  type OutboundEnvelope,
} from '../../../lambdas/adapters/edi/x12-outbound.ts';
import {
  PartnerContractBroken,
  PartnerRejected,
  PartnerUnavailable,
} from '../../../lambdas/shared/errors.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { SEED_CATALOGUE, samplePurchaseOrder850, seedSandbox } from '../../../local/partners/seed.ts';
import { sendJson, sendText, TestHttpServer } from '../../support/http-server.ts';

const sandbox = new PartnerSandbox();
const server = new TestHttpServer();

beforeAll(async () => {
  await sandbox.start();
  await server.start();
});
afterAll(async () => {
  await sandbox.stop();
  await server.stop();
});
beforeEach(() => {
  sandbox.reset();
  sandbox.credentials.delete('edi');
  seedSandbox(sandbox);
});

function gatewayAt(baseUrl: string, options: { headers?: Record<string, string>; timeoutMs?: number } = {}) {
  return new EdiGatewayClient({
    baseUrl,
    timeoutMs: options.timeoutMs ?? 1000,
    maxAttempts: 2,
    sleep: async () => {},
    random: () => 0,
    ...(options.headers ? { headers: options.headers } : {}),
  });
}

const gateway = () => gatewayAt(`${sandbox.baseUrl}/edi`);

const AT = new Date('2026-11-23T09:00:00Z');
const RAW_850 = samplePurchaseOrder850({ poNumber: 'PO-5531', at: AT });

/** The seed's sample 850 from C-7007 read as the use case reads it: the order the documents are about. */
function samplePurchaseOrder(): { order: CanonicalOrder; reference: PurchaseOrderReference } {
  const parsed = parsePurchaseOrder850(RAW_850, {
    tradingPartners: {
      LAKESHOREHC: {
        customerId: 'C-7007',
        customerName: 'Lakeshore Home Centers',
        segment: 'enterprise',
        priority: 'key-account',
        paymentTerms: 'NET45',
        fulfilment: 'ship-partial',
        currency: 'USD',
      },
    },
    catalogue: Object.fromEntries(
      SEED_CATALOGUE.map((item) => [item.Material, { unitCost: Number(item.StandardCost) }]),
    ),
    now: AT,
  });
  const [order] = parsed.ok ? parsed.orders : [];
  const [reference] = parsed.ok ? parsed.references : [];
  if (!order || !reference) throw new Error('the sample 850 did not parse');
  return { order, reference };
}

const ENVELOPE: OutboundEnvelope = {
  sender: { qualifier: 'ZZ', id: 'HANDOFFDIST' },
  receiver: { qualifier: 'ZZ', id: 'LAKESHOREHC' },
};
const numbers = (n: number) => ({ interchange: n, group: n, transaction: n });

function ack855(controlNumber = 7): OutboundDocument {
  const { order, reference } = samplePurchaseOrder();
  return build855({
    envelope: ENVELOPE,
    controlNumbers: numbers(controlNumber),
    order,
    reference,
    acknowledgedAt: '2026-11-23T10:00:00Z',
    lines: [
      { lineNo: 1, status: 'accepted', quantity: 30 },
      { lineNo: 1, status: 'backordered', quantity: 18 },
      { lineNo: 2, status: 'accepted' },
    ],
  });
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail, but it succeeded');
    },
    (error: unknown) => error,
  );
}

describe('EDI gateway client: sending', () => {
  it('posts the 855 as X12 text with its idempotency key and maps the acceptance back', async () => {
    const document = ack855();
    const acceptance = await gateway().send(document);

    const [stored] = sandbox.edi.outbound;
    expect(acceptance).toEqual({ acceptanceId: 'EDI-ACC-000001', receivedAt: stored?.receivedAt });
    expect(sandbox.callsTo('POST', '/edi/outbound')).toEqual([
      // The sandbox records a non-JSON body as the raw text it received.
      {
        method: 'POST',
        path: '/edi/outbound',
        idempotencyKey: 'edi-855:EDI-C-7007-PO-5531:0007',
        body: document.x12,
      },
    ]);
    expect(stored).toMatchObject({
      sender: 'HANDOFFDIST',
      receiver: 'LAKESHOREHC',
      interchangeControlNumber: '000000007',
      functionalId: 'PR',
      transactionSets: [{ code: '855', controlNumber: '0007' }],
      text: document.x12,
    });
  });

  it('gets the 997, 856 and 810 the builders write past the gateway envelope checks too', async () => {
    const { order, reference } = samplePurchaseOrder();
    const outcome = parsePurchaseOrder850(RAW_850, {
      tradingPartners: {
        LAKESHOREHC: {
          customerId: 'C-7007',
          segment: 'enterprise',
          priority: 'key-account',
          paymentTerms: 'NET45',
          fulfilment: 'ship-partial',
          currency: 'USD',
        },
      },
      catalogue: Object.fromEntries(SEED_CATALOGUE.map((item) => [item.Material, { unitCost: 1 }])),
      now: AT,
    });
    const documents = [
      functionalAcknowledgment997({
        envelope: ENVELOPE,
        controlNumbers: numbers(1),
        preparedAt: AT.toISOString(),
        outcome,
      }),
      build856({
        envelope: ENVELOPE,
        controlNumbers: numbers(2),
        order,
        reference,
        shipmentId: 'SHP-7001',
        carrierScac: 'PCPT',
        trackingNumber: '1Z999AA10123456784',
        shippedAt: '2026-11-25T15:30:00Z',
        lines: [{ lineNo: 1, quantity: 30 }],
      }),
      build810({
        envelope: ENVELOPE,
        controlNumbers: numbers(3),
        order,
        reference,
        invoiceId: 'INV-SHP-7001',
        issuedAt: '2026-11-25T16:00:00Z',
        lines: [{ lineNo: 1, quantity: 30, unitPrice: 22.4, amount: 672 }],
        total: 672,
      }),
    ];
    for (const document of documents) await gateway().send(document);

    expect(sandbox.edi.outbound.map((d) => [d.functionalId, d.transactionSets[0]?.code])).toEqual([
      ['FA', '997'],
      ['SH', '856'],
      ['IN', '810'],
    ]);
  });

  it('sends the X12 media type, the key and the configured credential on the wire', async () => {
    server.respondWith((_req, res) =>
      sendJson(res, 202, {
        acceptanceId: 'ACC-9',
        interchangeControlNumber: '000000007',
        receivedAt: '2026-11-23T10:00:01Z',
        status: 'ACCEPTED',
      }),
    );
    const document = ack855();
    const acceptance = await gatewayAt(server.baseUrl, {
      headers: { authorization: 'Bearer edi-token' },
    }).send(document);

    expect(acceptance).toEqual({ acceptanceId: 'ACC-9', receivedAt: '2026-11-23T10:00:01.000Z' });
    const [request] = server.requests;
    expect(request).toMatchObject({ method: 'POST', path: '/outbound', body: document.x12 });
    expect(request?.headers).toMatchObject({
      'content-type': X12_MEDIA_TYPE,
      'idempotency-key': document.idempotencyKey,
      authorization: 'Bearer edi-token',
      accept: 'application/json',
    });
  });

  it('passes a gateway that requires a bearer token when the credential is configured, and is refused without', async () => {
    sandbox.credentials.set('edi', { bearerToken: 'edi-secret' });

    const refused = await failureOf(gateway().send(ack855()));
    expect(refused).toMatchObject({ name: 'PartnerRejected', partner: 'edi', status: 401 });

    const acceptance = await gatewayAt(`${sandbox.baseUrl}/edi`, {
      headers: { authorization: 'Bearer edi-secret' },
    }).send(ack855());
    expect(acceptance.acceptanceId).toBe('EDI-ACC-000001');
  });
});

describe('EDI gateway client: idempotent replay', () => {
  it('a repeated document is one accepted document with the same acceptance', async () => {
    const first = await gateway().send(ack855());
    const again = await gateway().send(ack855());

    expect(again).toEqual(first);
    expect(sandbox.edi.outbound).toHaveLength(1);
    expect(sandbox.callsTo('POST', '/edi/outbound')).toHaveLength(2);
  });

  it('an answer lost after the gateway accepted is recovered by the retry: one document, the committed acceptance', async () => {
    sandbox.faults.set('POST /edi/outbound', { errorRate: 1, errorStatuses: [503], failAfterCommit: true });
    const acceptance = await gateway().send(ack855());

    expect(sandbox.callsTo('POST', '/edi/outbound')).toHaveLength(2);
    expect(sandbox.edi.outbound).toHaveLength(1);
    expect(acceptance.acceptanceId).toBe(sandbox.edi.outbound[0]?.acceptanceId);
  });

  it('maps a key reused with other bytes (422) to PartnerRejected', async () => {
    await gateway().send(ack855(7));
    const other = { ...ack855(8), idempotencyKey: ack855(7).idempotencyKey };
    const error = await failureOf(gateway().send(other));

    expect(error).toBeInstanceOf(PartnerRejected);
    expect(error).toMatchObject({ status: 422, retryable: false });
    expect((error as Error).message).toContain('idempotency_key_reused');
    expect(sandbox.edi.outbound).toHaveLength(1);
  });
});

describe('EDI gateway client: refusals, outages and broken answers', () => {
  it('maps an interchange the gateway refuses (400 invalid_x12) to PartnerRejected, without retrying', async () => {
    const document = ack855();
    const miscounted = {
      ...document,
      x12: document.x12.replace(/SE\*(\d+)\*/, (_m, n: string) => `SE*${Number(n) + 1}*`),
    };
    const error = await failureOf(gateway().send(miscounted));

    expect(error).toMatchObject({ name: 'PartnerRejected', partner: 'edi', status: 400 });
    expect((error as Error).message).toContain('invalid_x12');
    expect(sandbox.callsTo('POST', '/edi/outbound')).toHaveLength(1);
    expect(sandbox.edi.outbound).toHaveLength(0);
  });

  it('retries a 503 once and sends one document', async () => {
    sandbox.failNext.set('POST /edi/outbound', 1);
    const acceptance = await gateway().send(ack855());

    expect(acceptance.acceptanceId).toBe('EDI-ACC-000001');
    expect(sandbox.callsTo('POST', '/edi/outbound').map((c) => c.idempotencyKey)).toEqual([
      'edi-855:EDI-C-7007-PO-5531:0007',
      'edi-855:EDI-C-7007-PO-5531:0007',
    ]);
    expect(sandbox.edi.outbound).toHaveLength(1);
  });

  it('gives up with PartnerUnavailable when the gateway stays down through every attempt', async () => {
    sandbox.faults.set('edi', { errorRate: 1, errorStatuses: [503] });
    const error = await failureOf(gateway().send(ack855()));

    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(error).toMatchObject({ partner: 'edi', status: 503, retryable: true });
    expect(sandbox.callsTo('POST', '/edi/outbound')).toHaveLength(2);
    expect(sandbox.edi.outbound).toHaveLength(0);
  });

  it('gives up with PartnerUnavailable when the gateway never answers', async () => {
    server.respondWith(() => {
      // No answer: the client's per-attempt timeout ends each attempt.
    });
    const error = await failureOf(gatewayAt(server.baseUrl, { timeoutMs: 100 }).send(ack855()));

    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect((error as Error).message).toContain('no answer within 100 ms');
    expect(server.requests).toHaveLength(2);
  });

  it.each([
    [
      'the acceptance of another interchange',
      (res: Parameters<typeof sendJson>[0]) =>
        sendJson(res, 202, {
          acceptanceId: 'ACC-1',
          interchangeControlNumber: '000000099',
          receivedAt: '2026-11-23T10:00:01Z',
          status: 'ACCEPTED',
        }),
      'interchange 000000007 was answered with the acceptance of interchange 000000099',
    ],
    [
      'an acceptance without its id',
      (res: Parameters<typeof sendJson>[0]) =>
        sendJson(res, 202, {
          interchangeControlNumber: '000000007',
          receivedAt: '2026-11-23T10:00:01Z',
          status: 'ACCEPTED',
        }),
      'acceptanceId',
    ],
    [
      'a body that is not JSON',
      (res: Parameters<typeof sendJson>[0]) => sendText(res, 202, 'OK'),
      'non-JSON',
    ],
  ])('maps %s to PartnerContractBroken', async (_label, answer, message) => {
    server.respondWith((_req, res) => answer(res));
    const error = await failureOf(gatewayAt(server.baseUrl).send(ack855()));

    expect(error).toBeInstanceOf(PartnerContractBroken);
    expect(error).toMatchObject({ partner: 'edi', retryable: false });
    expect((error as Error).message).toContain(message);
  });
});
