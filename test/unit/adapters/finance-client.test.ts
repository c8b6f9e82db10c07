import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { FinanceClient, type FinanceClientConfig } from '../../../lambdas/adapters/finance/finance-client.ts';
import { PartnerRejected, PartnerUnavailable } from '../../../lambdas/shared/errors.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';

class TestClock {
  constructor(public current: Date) {}
  now(): Date {
    return new Date(this.current);
  }
}

const API_KEY = 'finance-api-key-for-tests';
const clock = new TestClock(new Date('2026-11-23T09:00:00Z'));
const sandbox = new PartnerSandbox({ clock, credentials: { finance: { apiKey: API_KEY } } });

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  clock.current = new Date('2026-11-23T09:00:00Z');
  sandbox.reset();
  seedSandbox(sandbox);
});

function finance(overrides: Partial<FinanceClientConfig> = {}): FinanceClient {
  return new FinanceClient({
    baseUrl: `${sandbox.baseUrl}/finance`,
    apiKey: API_KEY,
    timeoutMs: 1000,
    maxAttempts: 2,
    sleep: async () => {},
    random: () => 0,
    ...overrides,
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

describe('finance client: exposure', () => {
  it('maps exposure to the CreditProfile figures, netting unapplied cash off open AR', async () => {
    const exposure = await finance().getExposure('C-2002');

    expect(exposure).toEqual({
      customerId: 'C-2002',
      accountStatus: 'active',
      creditLimit: 250000,
      openArBalance: 85500,
      openOrderValue: 40000,
      overdueAmount: 0,
      oldestOverdueDays: 0,
      paymentTerms: 'NET30',
      currency: 'USD',
      grossOpenAr: 90000,
      unappliedCash: 4500,
      activeHolds: [],
    });
  });

  it('serves as the credit data port: exactly the CreditProfile fields', async () => {
    expect(await finance().getCreditProfile('C-4004')).toEqual({
      customerId: 'C-4004',
      accountStatus: 'on-hold',
      creditLimit: 20000,
      openArBalance: 4000,
      openOrderValue: 0,
      overdueAmount: 2400,
      oldestOverdueDays: 47,
      paymentTerms: 'NET30',
    });
    expect((await finance().getCreditProfile('C-5005'))?.accountStatus).toBe('closed');
  });

  it('lists the active holds and answers undefined for a customer finance does not know', async () => {
    const held = await finance().getExposure('C-6006');
    expect(held?.activeHolds).toEqual([
      {
        holdId: 'HLD-000002',
        reason: 'Payment returned NSF: awaiting replacement funds',
        placedAt: '2026-11-23T09:00:00.000Z',
      },
    ]);
    expect(await finance().getExposure('C-0000')).toBeUndefined();
    expect(await finance().getCreditProfile('C-0000')).toBeUndefined();
  });

  it('sends its API key as x-api-key: a wrong key is PartnerRejected (401)', async () => {
    const error = await failureOf(finance({ apiKey: 'wrong' }).getExposure('C-1001'));
    expect(error).toBeInstanceOf(PartnerRejected);
    expect(error).toMatchObject({ status: 401, retryable: false });
  });

  it('retries 5xx and then throws PartnerUnavailable', async () => {
    sandbox.faults.set('GET /finance/customers', { errorRate: 1, errorStatuses: [500] });
    const error = await failureOf(finance({ maxAttempts: 3 }).getExposure('C-1001'));
    expect(error).toBeInstanceOf(PartnerUnavailable);
    expect(sandbox.callsTo('GET', '/finance/customers/C-1001/exposure')).toHaveLength(3);
  });
});

describe('finance client: holds', () => {
  it('places a hold with the caller’s idempotency key, then releases it; the customer goes back to active', async () => {
    const client = finance();
    const placed = await client.placeHold({
      customerId: 'C-1001',
      orderId: 'ERP-SO-100001',
      reason: 'Over credit limit by 1,250.00',
      placedBy: 'handoff',
      idempotencyKey: 'ERP-SO-100001:credit-hold',
    });
    expect(placed).toEqual({
      holdId: 'HLD-000003',
      customerId: 'C-1001',
      status: 'active',
      at: '2026-11-23T09:00:00.000Z',
    });
    expect((await client.getCreditProfile('C-1001'))?.accountStatus).toBe('on-hold');

    clock.current = new Date('2026-11-23T11:30:00Z');
    const released = await client.releaseHold({
      holdId: placed.holdId,
      releasedBy: 'ar.manager',
      reason: 'Customer paid 5,000.00',
      idempotencyKey: 'ERP-SO-100001:credit-release',
    });
    expect(released).toEqual({
      holdId: 'HLD-000003',
      customerId: 'C-1001',
      status: 'released',
      at: '2026-11-23T11:30:00.000Z',
    });
    expect((await client.getCreditProfile('C-1001'))?.accountStatus).toBe('active');
    expect(sandbox.calls.filter((c) => c.method === 'POST').map((c) => [c.path, c.idempotencyKey])).toEqual([
      ['/finance/holds', 'ERP-SO-100001:credit-hold'],
      ['/finance/holds/HLD-000003/release', 'ERP-SO-100001:credit-release'],
    ]);
    expect(sandbox.callsTo('POST', '/finance/holds')[0]?.body).toEqual({
      customerId: 'C-1001',
      reason: 'Over credit limit by 1,250.00',
      orderReference: 'ERP-SO-100001',
      placedBy: 'handoff',
    });
  });

  it('a retried hold is one hold, and a retried release replays the release', async () => {
    const hold = {
      customerId: 'C-1001',
      orderId: 'ERP-SO-1',
      reason: 'Over limit',
      placedBy: 'handoff',
      idempotencyKey: 'ERP-SO-1:credit-hold',
    };
    const first = await finance().placeHold(hold);
    const again = await finance().placeHold(hold);
    const release = {
      holdId: first.holdId,
      releasedBy: 'ar',
      reason: 'ok',
      idempotencyKey: 'ERP-SO-1:credit-release',
    };
    await finance().releaseHold(release);
    const replayed = await finance().releaseHold(release);

    expect(again).toEqual(first);
    expect(sandbox.finance.activeHolds('C-1001')).toHaveLength(0);
    expect(sandbox.finance.holds.size).toBe(3);
    expect(replayed.status).toBe('released');
  });

  it('throws PartnerRejected for releasing a released hold under a new key (409) or an unknown hold (404)', async () => {
    const release = (holdId: string, key: string) =>
      finance().releaseHold({ holdId, releasedBy: 'ar', reason: 'paid', idempotencyKey: key });
    await release('HLD-000001', 'r-1');

    expect(await failureOf(release('HLD-000001', 'r-2'))).toMatchObject({
      name: 'PartnerRejected',
      status: 409,
    });
    expect(await failureOf(release('HLD-999', 'r-3'))).toMatchObject({
      name: 'PartnerRejected',
      status: 404,
    });
    expect(
      await failureOf(
        finance().placeHold({
          customerId: 'C-0',
          orderId: 'O',
          reason: 'r',
          placedBy: 'p',
          idempotencyKey: 'k',
        }),
      ),
    ).toMatchObject({ name: 'PartnerRejected', status: 404 });
  });
});
