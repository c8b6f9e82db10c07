import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  CrmClient,
  type CrmClientConfig,
  type CustomerNotification,
  type ServiceCase,
} from '../../../lambdas/adapters/crm/crm-client.ts';
import { PartnerRejected, PartnerUnavailable } from '../../../lambdas/shared/errors.ts';
import { PartnerSandbox } from '../../../local/partners/sandbox.ts';
import { seedSandbox } from '../../../local/partners/seed.ts';

const TOKEN = 'crm-access-token-for-tests';
const sandbox = new PartnerSandbox({ credentials: { crm: { bearerToken: TOKEN } } });

beforeAll(() => sandbox.start());
afterAll(() => sandbox.stop());
beforeEach(() => {
  sandbox.reset();
  seedSandbox(sandbox);
});

function crm(overrides: Partial<CrmClientConfig> = {}): CrmClient {
  return new CrmClient({
    baseUrl: `${sandbox.baseUrl}/crm`,
    bearerToken: TOKEN,
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

const shipped: CustomerNotification = {
  orderId: 'ERP-SO-100001',
  customerId: 'C-1001',
  channel: 'email',
  template: 'order-shipped',
  data: { trackingNumber: 'FXNX0000000001', cartons: 3 },
  idempotencyKey: 'ERP-SO-100001:notify:shipped',
};

const lostShipment: ServiceCase = {
  orderId: 'ERP-SO-100001',
  customerId: 'C-2002',
  subject: 'No tracking since pickup',
  description: 'Ridgeline Freight has sent no scan for 72 hours after pickup.',
  priority: 'critical',
  type: 'carrier-failure',
  idempotencyKey: 'ERP-SO-100001:case:carrier-failure',
};

describe('CRM client: notifications', () => {
  it('sends the notification in CRM terms with its idempotency key and returns the message id', async () => {
    const result = await crm().notify(shipped);

    expect(result).toEqual({ messageId: 'MSG-000001', status: 'queued' });
    expect(sandbox.callsTo('POST', '/crm/notifications')).toEqual([
      {
        method: 'POST',
        path: '/crm/notifications',
        idempotencyKey: 'ERP-SO-100001:notify:shipped',
        body: {
          accountNumber: 'C-1001',
          channel: 'email',
          templateId: 'order-shipped',
          orderReference: 'ERP-SO-100001',
          mergeFields: { trackingNumber: 'FXNX0000000001', cartons: '3' },
        },
      },
    ]);
    expect(sandbox.crm.messages[0]?.recipient).toBe('purchasing@northwind-hardware.example');
  });

  it('a retried notification is one message', async () => {
    const first = await crm().notify(shipped);
    const again = await crm().notify(shipped);
    expect(again).toEqual(first);
    expect(sandbox.crm.messages).toHaveLength(1);
  });

  it('throws PartnerRejected (422) when the account has no contact for the channel, without retrying', async () => {
    const error = await failureOf(crm().notify({ ...shipped, customerId: 'C-3003', channel: 'sms' }));
    expect(error).toBeInstanceOf(PartnerRejected);
    expect(error).toMatchObject({ status: 422 });
    expect(String((error as Error).message)).toContain('NO_CONTACT_POINT');
    expect(sandbox.callsTo('POST', '/crm/notifications')).toHaveLength(1);
  });

  it('throws PartnerRejected (422) when the same key comes back with a different message', async () => {
    await crm().notify(shipped);
    const error = await failureOf(crm().notify({ ...shipped, template: 'order-delivered' }));
    expect(error).toMatchObject({ name: 'PartnerRejected', status: 422 });
    expect(String((error as Error).message)).toContain('idempotency_key_reused');
  });
});

describe('CRM client: cases', () => {
  it('opens a case with the CRM priority and type for the exception, and returns its id', async () => {
    const result = await crm().openCase(lostShipment);

    expect(result).toEqual({ caseId: '500HND000000001' });
    expect(sandbox.callsTo('POST', '/crm/cases')[0]).toEqual({
      method: 'POST',
      path: '/crm/cases',
      idempotencyKey: 'ERP-SO-100001:case:carrier-failure',
      body: {
        AccountNumber: 'C-2002',
        Subject: 'No tracking since pickup',
        Description: 'Ridgeline Freight has sent no scan for 72 hours after pickup.',
        Priority: 'Critical',
        Type: 'Delivery Issue',
        Origin: 'Handoff',
        OrderReference__c: 'ERP-SO-100001',
      },
    });
  });

  it.each([
    ['low', 'Low'],
    ['normal', 'Medium'],
    ['high', 'High'],
  ] as const)('maps priority %s to %s', async (priority, expected) => {
    await crm().openCase({ ...lostShipment, priority, idempotencyKey: `k-${priority}` });
    expect(sandbox.crm.cases[0]?.Priority).toBe(expected);
  });

  it('opens one case however often it is retried', async () => {
    const first = await crm().openCase(lostShipment);
    const again = await crm().openCase(lostShipment);
    expect(again).toEqual(first);
    expect(sandbox.crm.cases).toHaveLength(1);
  });

  it('throws PartnerRejected (401) without the right token and PartnerUnavailable when the CRM keeps failing', async () => {
    const refused = await failureOf(crm({ bearerToken: 'expired' }).openCase(lostShipment));
    sandbox.faults.set('crm', { errorRate: 1 });
    const down = await failureOf(crm().openCase(lostShipment));

    expect(refused).toBeInstanceOf(PartnerRejected);
    expect(refused).toMatchObject({ status: 401 });
    expect(down).toBeInstanceOf(PartnerUnavailable);
    expect(sandbox.crm.cases).toHaveLength(0);
  });
});
