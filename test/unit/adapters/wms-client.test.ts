import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PartnerClient } from '../../../lambdas/adapters/http/partner-client.ts';
import { WmsClient } from '../../../lambdas/adapters/wms/wms-client.ts';
import {
  PartnerContractBroken,
  PartnerRejected,
  StockMovedDuringReservation,
} from '../../../lambdas/shared/errors.ts';
import { type Handler, sendJson, sendText, TestHttpServer } from '../../support/http-server.ts';
import { type Edits, edited, REMOVE } from '../contracts/payload-edits.ts';

const server = new TestHttpServer();
beforeAll(() => server.start());
afterAll(() => server.stop());

function wms(): WmsClient {
  return new WmsClient(
    new PartnerClient({
      partner: 'wms',
      baseUrl: `${server.baseUrl}/wms/v2`,
      timeoutMs: 1000,
      maxAttempts: 2,
      sleep: async () => {},
      random: () => 0,
    }),
  );
}

const ALL_TRANSIT_DAYS = { economy: 5, standard: 3, expedited: 2, 'next-day': 1 };

/** The WMS availability answer in the WMS's own field names. */
function availability(edits: Edits = {}): unknown {
  return edited(
    {
      asOf: '2025-03-03T09:30:00Z',
      facilities: [
        {
          facilityCode: 'DC-ROTTERDAM',
          facilityName: 'Rotterdam DC',
          distanceRank: 1,
          freightCost: 84.5,
          carrierCutoffHourUtc: 15,
          transitDays: ALL_TRANSIT_DAYS,
          inventory: [
            { itemCode: 'MAT-100', onHand: 120, committed: 30, safetyStock: 10, bin: 'A-01-03' },
            { itemCode: 'MAT-200', onHand: 0, committed: 0, safetyStock: 0 },
          ],
        },
        {
          facilityCode: 'DC-ANTWERP',
          distanceRank: 2,
          freightCost: 131,
          carrierCutoffHourUtc: 14,
          transitDays: { economy: 6, standard: 4, expedited: 2, 'next-day': 1 },
          inventory: [{ itemCode: 'MAT-200', onHand: 500, committed: 120, safetyStock: 50 }],
        },
      ],
    },
    edits,
  );
}

function answer(body: unknown, status = 200): void {
  server.respondWith((_req, res) => sendJson(res, status, body));
}

async function failureOf(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => {
      throw new Error('expected the call to fail, but it succeeded');
    },
    (error: unknown) => error,
  );
}

const allocatedLines = [
  { lineNo: 1, sku: 'MAT-100', quantity: 12 },
  { lineNo: 2, sku: 'MAT-200', quantity: 3 },
];

describe('WMS client: stock availability', () => {
  it('maps facilities to site stock and logistics in canonical terms', async () => {
    answer(availability());
    const snapshot = await wms().getStock(['MAT-100', 'MAT-200'], 'NL');
    expect(snapshot).toEqual({
      sites: [
        {
          siteId: 'DC-ROTTERDAM',
          proximityRank: 1,
          shippingCost: 84.5,
          items: {
            'MAT-100': { onHand: 120, reserved: 30, safetyStock: 10 },
            'MAT-200': { onHand: 0, reserved: 0, safetyStock: 0 },
          },
        },
        {
          siteId: 'DC-ANTWERP',
          proximityRank: 2,
          shippingCost: 131,
          items: { 'MAT-200': { onHand: 500, reserved: 120, safetyStock: 50 } },
        },
      ],
      logistics: [
        { siteId: 'DC-ROTTERDAM', cutoffHourUtc: 15, transitDays: ALL_TRANSIT_DAYS },
        {
          siteId: 'DC-ANTWERP',
          cutoffHourUtc: 14,
          transitDays: { economy: 6, standard: 4, expedited: 2, 'next-day': 1 },
        },
      ],
    });
  });

  it('asks once, with the items deduplicated in order and the ship-to country in the query string', async () => {
    answer(availability());
    await wms().getStock(['MAT-200', 'MAT-100', 'MAT-200', 'MAT-100'], 'DE');
    expect(server.requests).toHaveLength(1);
    const [received] = server.requests;
    expect(received?.method).toBe('GET');
    expect(received?.path).toBe('/wms/v2/availability');
    expect(Object.fromEntries(received?.query ?? [])).toEqual({
      items: 'MAT-200,MAT-100',
      shipToCountry: 'DE',
    });
  });

  it('accepts a facility that quotes transit days for only some service levels', async () => {
    answer(availability({ 'facilities[0].transitDays': { standard: 3 } }));
    const snapshot = await wms().getStock(['MAT-100'], 'NL');
    expect(snapshot.logistics[0]).toEqual({
      siteId: 'DC-ROTTERDAM',
      cutoffHourUtc: 15,
      transitDays: { standard: 3 },
    });
  });

  it('refuses an empty answer instead of treating it as no stock anywhere', async () => {
    server.respondWith((_req, res) => {
      res.writeHead(200).end();
    });
    await expect(wms().getStock(['MAT-100'], 'NL')).rejects.toMatchObject({ name: 'PartnerContractBroken' });
  });

  it('refuses a 404 (wrong base URL or route) instead of backordering every order', async () => {
    server.respondWith((_req, res) => {
      res.writeHead(404).end();
    });
    await expect(wms().getStock(['MAT-100'], 'NL')).rejects.toMatchObject({ name: 'PartnerContractBroken' });
  });

  it.each<[string, Edits, string]>([
    [
      'a lower-case facility code',
      { 'facilities[0].facilityCode': 'dc-rotterdam' },
      'facilities[0].facilityCode',
    ],
    ['a distance rank of 0', { 'facilities[1].distanceRank': 0 }, 'facilities[1].distanceRank'],
    ['a negative freight cost', { 'facilities[0].freightCost': -1 }, 'facilities[0].freightCost'],
    [
      'a cut-off hour of 24',
      { 'facilities[0].carrierCutoffHourUtc': 24 },
      'facilities[0].carrierCutoffHourUtc',
    ],
    [
      'a negative transit time',
      { 'facilities[0].transitDays.standard': -1 },
      'facilities[0].transitDays.standard',
    ],
    [
      'negative stock on hand',
      { 'facilities[0].inventory[0].onHand': -4 },
      'facilities[0].inventory[0].onHand',
    ],
    [
      'a missing committed quantity',
      { 'facilities[1].inventory[0].committed': REMOVE },
      'facilities[1].inventory[0].committed',
    ],
    ['facilities that are not a list', { facilities: { 'DC-ROTTERDAM': {} } }, 'facilities'],
  ])('rejects %s as PartnerContractBroken naming the WMS field', async (_label, edits, path) => {
    answer(availability(edits));
    const error = await failureOf(wms().getStock(['MAT-100'], 'NL'));
    expect(error).toBeInstanceOf(PartnerContractBroken);
    expect(error).toMatchObject({ name: 'PartnerContractBroken', retryable: false, partner: 'wms' });
    expect((error as Error).message).toContain('WMS availability is invalid');
    expect((error as Error).message).toContain(`${path} `);
  });

  it('rejects a non-JSON availability answer as PartnerContractBroken', async () => {
    server.respondWith((_req, res) => sendText(res, 200, 'OK'));
    await expect(wms().getStock(['MAT-100'], 'NL')).rejects.toBeInstanceOf(PartnerContractBroken);
  });
});

describe('WMS client: reservations and releases', () => {
  const recordAndAnswer =
    (status: number, body: unknown): Handler =>
    (_req, res) =>
      sendJson(res, status, body);

  it('reserves with WMS field names and the Idempotency-Key, returning the reservation number', async () => {
    server.respondWith(recordAndAnswer(201, { reservationNumber: 'RSV-000981', status: 'OPEN' }));
    const result = await wms().reserve({
      orderId: 'ERP-4500012345',
      siteId: 'DC-ROTTERDAM',
      lines: allocatedLines,
      idempotencyKey: 'ERP-4500012345:reserve:DC-ROTTERDAM',
    });
    expect(result).toEqual({ reservationId: 'RSV-000981' });
    expect(server.requests).toHaveLength(1);
    const [received] = server.requests;
    expect(`${received?.method} ${received?.path}`).toBe('POST /wms/v2/reservations');
    expect(received?.headers['idempotency-key']).toBe('ERP-4500012345:reserve:DC-ROTTERDAM');
    expect(received?.headers['content-type']).toBe('application/json');
    expect(JSON.parse(received?.body ?? '')).toEqual({
      orderReference: 'ERP-4500012345',
      facilityCode: 'DC-ROTTERDAM',
      lines: [
        { lineNumber: 1, itemCode: 'MAT-100', quantity: 12 },
        { lineNumber: 2, itemCode: 'MAT-200', quantity: 3 },
      ],
    });
  });

  it('releases with WMS field names and the Idempotency-Key, returning the release number', async () => {
    server.respondWith(recordAndAnswer(201, { releaseNumber: 'REL-4411' }));
    const result = await wms().release({
      orderId: 'ERP-4500012345',
      siteId: 'DC-ROTTERDAM',
      lines: allocatedLines,
      priority: 610,
      shipBy: '2025-03-05',
      serviceLevel: 'expedited',
      idempotencyKey: 'ERP-4500012345:release:DC-ROTTERDAM',
    });
    expect(result).toEqual({ releaseId: 'REL-4411' });
    const [received] = server.requests;
    expect(`${received?.method} ${received?.path}`).toBe('POST /wms/v2/releases');
    expect(received?.headers['idempotency-key']).toBe('ERP-4500012345:release:DC-ROTTERDAM');
    expect(JSON.parse(received?.body ?? '')).toEqual({
      orderReference: 'ERP-4500012345',
      facilityCode: 'DC-ROTTERDAM',
      priority: 610,
      shipByDate: '2025-03-05',
      serviceLevel: 'expedited',
      lines: [
        { lineNumber: 1, itemCode: 'MAT-100', quantity: 12 },
        { lineNumber: 2, itemCode: 'MAT-200', quantity: 3 },
      ],
    });
  });

  it('retries a reservation after a 503 with the same Idempotency-Key and body', async () => {
    server.respondInSequence(
      recordAndAnswer(503, { message: 'busy' }),
      recordAndAnswer(201, { reservationNumber: 'RSV-1' }),
    );
    const result = await wms().reserve({
      orderId: 'ERP-1',
      siteId: 'DC-ROTTERDAM',
      lines: allocatedLines,
      idempotencyKey: 'ERP-1:reserve:DC-ROTTERDAM',
    });
    expect(result).toEqual({ reservationId: 'RSV-1' });
    expect(server.requests).toHaveLength(2);
    expect(new Set(server.requests.map((r) => `${r.headers['idempotency-key']} ${r.body}`)).size).toBe(1);
  });

  it.each([
    ['an empty reservation number', { reservationNumber: '' }],
    ['a numeric reservation number', { reservationNumber: 981 }],
    ['no reservation number', { status: 'OPEN' }],
  ])('rejects a reservation answer with %s as PartnerContractBroken', async (_label, body) => {
    server.respondWith(recordAndAnswer(201, body));
    const error = await failureOf(
      wms().reserve({ orderId: 'ERP-1', siteId: 'DC-1', lines: allocatedLines, idempotencyKey: 'k' }),
    );
    expect(error).toBeInstanceOf(PartnerContractBroken);
    expect((error as Error).message).toContain('WMS reservation is invalid: reservationNumber');
  });

  it('maps a 409 insufficient_stock refusal to StockMovedDuringReservation (retryable), other 409s stay permanent', async () => {
    server.respondWith((_req, res) =>
      sendJson(res, 409, {
        code: 'insufficient_stock',
        message: 'DC-1 cannot reserve 40 × MAT-100 (available 30)',
      }),
    );
    const moved = await failureOf(
      wms().reserve({ orderId: 'ERP-1', siteId: 'DC-1', lines: allocatedLines, idempotencyKey: 'k' }),
    );
    expect(moved).toBeInstanceOf(StockMovedDuringReservation);
    expect(moved).toMatchObject({ siteId: 'DC-1', retryable: true });
    server.respondWith((_req, res) =>
      sendJson(res, 409, { code: 'facility_closed', message: 'DC-1 is closed' }),
    );
    const closed = await failureOf(
      wms().reserve({ orderId: 'ERP-1', siteId: 'DC-1', lines: allocatedLines, idempotencyKey: 'k' }),
    );
    expect(closed).toBeInstanceOf(PartnerRejected);
    expect(closed).toMatchObject({ retryable: false });
  });

  it('rejects an empty reservation answer as PartnerContractBroken', async () => {
    server.respondWith((_req, res) => {
      res.writeHead(201).end();
    });
    await expect(
      wms().reserve({ orderId: 'ERP-1', siteId: 'DC-1', lines: allocatedLines, idempotencyKey: 'k' }),
    ).rejects.toBeInstanceOf(PartnerContractBroken);
  });

  it('rejects a release answer without a release number as PartnerContractBroken', async () => {
    server.respondWith(recordAndAnswer(201, { reservationNumber: 'RSV-1' }));
    const error = await failureOf(
      wms().release({
        orderId: 'ERP-1',
        siteId: 'DC-1',
        lines: allocatedLines,
        priority: 1,
        shipBy: '2025-03-05',
        serviceLevel: 'standard',
        idempotencyKey: 'k',
      }),
    );
    expect(error).toBeInstanceOf(PartnerContractBroken);
    expect(error).toMatchObject({ partner: 'wms', retryable: false });
    expect((error as Error).message).toContain('WMS release is invalid: releaseNumber');
  });
});
