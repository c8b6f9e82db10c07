import { describe, expect, it } from 'vitest';
import { assessCredit } from '../../../lambdas/core/credit.ts';
import { creditLane } from '../../../lambdas/core/credit-bands.ts';
import { DomainError } from '../../../lambdas/core/errors.ts';
import {
  customerHoldCategory,
  HOLD_REASON_CATEGORIES,
  InvalidNotificationInput,
  type NotificationOrder,
  type NotificationPlan,
  type NotificationRequest,
  planNotification,
  type ShippedDetails,
} from '../../../lambdas/core/notifications.ts';

/** A consumer with both an email address and a mobile number. */
function order(overrides: Partial<NotificationOrder> = {}): NotificationOrder {
  return {
    orderId: 'ORD-1',
    channel: 'direct-to-customer',
    customerId: 'CUST-1',
    contact: { email: 'pat@example.com', phone: '+44 7700 900123' },
    ...overrides,
  };
}

const SHIPMENT: ShippedDetails = {
  shipmentId: 'SHP-1',
  carrier: 'UPS',
  trackingNumber: '1Z999AA10123456784',
  lines: [
    { sku: 'W-1', description: 'Blue widget', quantity: 2 },
    { sku: 'G-7', quantity: 1 },
  ],
};

const EDI_RETAILER = order({
  orderId: 'ORD-9',
  channel: 'retail-replenishment',
  customerPo: 'PO-5544',
  contact: { email: 'buyer@retailer.example', ediPartnerId: 'RETAILER-AS2' },
});

function shipped(o: NotificationOrder, details: ShippedDetails = SHIPMENT, alreadySent: string[] = []) {
  return planNotification({ milestone: 'shipped', order: o, details, alreadySent });
}

function sent(plan: NotificationPlan): Extract<NotificationPlan, { send: true }> {
  if (!plan.send) throw new Error(`expected a notification to be sent, got ${plan.reason}`);
  return plan;
}

function captureError(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected the call to throw');
}

const INTERNAL_CODE = /\b[A-Z]+_[A-Z_]+\b/;

describe('planNotification: milestones', () => {
  it('thanks the customer on acceptance and gives the promised delivery date', () => {
    const plan = planNotification({
      milestone: 'accepted',
      order: order(),
      details: { promiseDate: '2025-03-14' },
      alreadySent: [],
    });
    expect(plan).toMatchObject({
      send: true,
      notificationId: 'ORD-1-accepted',
      channel: 'email',
      recipient: 'pat@example.com',
      subject: 'Order ORD-1 accepted',
    });
    expect(sent(plan).body).toContain('We have accepted order ORD-1.');
    expect(sent(plan).body).toContain('Expected delivery: 14 March 2025.');
  });

  it('accepts without a promise date', () => {
    const plan = sent(planNotification({ milestone: 'accepted', order: order(), alreadySent: [] }));
    expect(plan.body).not.toContain('Expected delivery');
  });

  it('tells the customer what shipped, with which carrier and tracking number', () => {
    const plan = sent(shipped(order()));
    expect(plan.notificationId).toBe('ORD-1-shipped-SHP-1');
    expect(plan.subject).toBe('Order ORD-1 has shipped');
    expect(plan.body).toContain('has shipped with UPS.');
    expect(plan.body).toContain('Tracking number: 1Z999AA10123456784');
    expect(plan.body).toContain('- 2 x Blue widget (W-1)');
    expect(plan.body).toContain('- 1 x G-7');
  });

  it('lists backordered lines with their expected dates, or says the date is to be confirmed', () => {
    const plan = sent(
      planNotification({
        milestone: 'backordered',
        order: order(),
        details: {
          lines: [
            { sku: 'W-1', description: 'Blue widget', quantity: 4, expectedDate: '2025-03-20' },
            { sku: 'G-7', quantity: 1 },
          ],
        },
        alreadySent: [],
      }),
    );
    expect(plan.notificationId).toBe('ORD-1-backordered');
    expect(plan.body).toContain('- 4 x Blue widget (W-1): expected 20 March 2025');
    expect(plan.body).toContain('- 1 x G-7: date to be confirmed');
  });

  it('confirms delivery on the date as the carrier reported it, not the UTC date', () => {
    const plan = sent(
      planNotification({
        milestone: 'delivered',
        order: order(),
        details: { shipmentId: 'SHP-1', deliveredAt: '2025-03-12T23:30:00-05:00' },
        alreadySent: [],
      }),
    );
    expect(plan.notificationId).toBe('ORD-1-delivered-SHP-1');
    expect(plan.subject).toBe('Order ORD-1 has been delivered');
    expect(plan.body).toContain('Shipment SHP-1 for your order ORD-1 was delivered on 12 March 2025.');
  });

  it('quotes the customer PO in the subject and body when there is one', () => {
    const plan = sent(shipped(order({ customerPo: 'PO-77' })));
    expect(plan.subject).toBe('Order ORD-1 (PO PO-77) has shipped');
    expect(plan.body).toContain('order ORD-1 (your PO PO-77)');
  });

  it('never puts an internal reason code in any customer message', () => {
    const requests: NotificationRequest[] = [
      { milestone: 'accepted', order: order(), alreadySent: [] },
      {
        milestone: 'on-hold',
        order: order(),
        details: { reasonCategory: 'account-review' },
        alreadySent: [],
      },
      {
        milestone: 'backordered',
        order: order(),
        details: { lines: [{ sku: 'W-1', quantity: 1 }] },
        alreadySent: [],
      },
      { milestone: 'shipped', order: order(), details: SHIPMENT, alreadySent: [] },
      {
        milestone: 'delivered',
        order: order(),
        details: { shipmentId: 'SHP-1', deliveredAt: '2025-03-12T10:00:00Z' },
        alreadySent: [],
      },
    ];
    for (const request of requests) {
      const plan = sent(planNotification(request));
      expect(plan.body, request.milestone).not.toMatch(INTERNAL_CODE);
      expect(plan.subject, request.milestone).not.toMatch(INTERNAL_CODE);
    }
  });
});

describe('planNotification: on-hold messages', () => {
  const holdOrder = order({ orderId: 'ORD-ABC' });

  it.each(HOLD_REASON_CATEGORIES)(
    'says the order is held for %s without any figure or internal term',
    (category) => {
      for (const contact of [{ email: 'pat@example.com' }, { phone: '+44 7700 900123' }]) {
        const plan = sent(
          planNotification({
            milestone: 'on-hold',
            order: { ...holdOrder, contact },
            details: { reasonCategory: category },
            alreadySent: [],
          }),
        );
        expect(plan.subject).toBe('Order ORD-ABC is on hold');
        expect(plan.body).toContain('ORD-ABC is on hold');
        expect(plan.body).not.toMatch(/\d/);
        expect(plan.body).not.toMatch(/limit|exposure|overdue|credit|utilisation/i);
        expect(plan.body).not.toMatch(INTERNAL_CODE);
      }
    },
  );

  it('tells a cash-in-advance customer the order is waiting for payment', () => {
    const plan = sent(
      planNotification({
        milestone: 'on-hold',
        order: holdOrder,
        details: { reasonCategory: 'awaiting-payment' },
        alreadySent: [],
      }),
    );
    expect(plan.body).toContain('We are waiting to receive payment for it.');
  });

  it('turns a credit lane’s reason codes into a customer-safe category', () => {
    const assessment = assessCredit(6_400, {
      customerId: 'CUST-1',
      accountStatus: 'active',
      creditLimit: 10_000,
      openArBalance: 4_000,
      openOrderValue: 2_000,
      overdueAmount: 1_200,
      oldestOverdueDays: 40,
      paymentTerms: 'NET30',
    });
    const lane = creditLane({
      assessment,
      customerPriority: 'standard',
      segment: 'consumer',
      serviceLevel: 'standard',
      orderValue: 6_400,
      paymentTerms: 'NET30',
      overdueAmount: 1_200,
      bands: [],
    });
    expect(lane.hold?.recommendedAction).toContain('12,400.00');
    const reasonCategory = customerHoldCategory(lane.reasonCodes);
    expect(reasonCategory).toBe('account-review');
    const plan = sent(
      planNotification({
        milestone: 'on-hold',
        order: holdOrder,
        details: { reasonCategory },
        alreadySent: [],
      }),
    );
    for (const figure of ['12,400', '10,000', '1,200', '2,400', '124'])
      expect(plan.body).not.toContain(figure);
  });

  it('maps cash-in-advance to awaiting payment, other credit reasons to account review, the rest to verification', () => {
    expect(customerHoldCategory(['CASH_IN_ADVANCE_TERMS', 'AUTO_APPROVE_BLOCKED'])).toBe('awaiting-payment');
    expect(customerHoldCategory(['OVERDUE_BEYOND_GRACE', 'CASH_IN_ADVANCE_TERMS'])).toBe('awaiting-payment');
    expect(customerHoldCategory(['OVER_CREDIT_LIMIT'])).toBe('account-review');
    expect(customerHoldCategory(['ACCOUNT_ON_HOLD'])).toBe('account-review');
    expect(customerHoldCategory([])).toBe('order-verification');
  });
});

describe('planNotification: channels', () => {
  it('emails a direct customer who has an email address', () => {
    expect(shipped(order())).toMatchObject({ send: true, channel: 'email', recipient: 'pat@example.com' });
  });

  it('texts a direct customer who has only a phone, in a message that fits one SMS', () => {
    const plan = sent(shipped(order({ contact: { phone: ' +44 7700 900123 ' } })));
    expect(plan).toMatchObject({ channel: 'sms', recipient: '+44 7700 900123' });
    expect(plan.body).toBe('Order ORD-1 has shipped with UPS. Tracking: 1Z999AA10123456784');
    expect(plan.body.length).toBeLessThanOrEqual(160);
  });

  it('texts a direct customer whose email is unusable but whose phone is', () => {
    expect(shipped(order({ contact: { email: 'pat@', phone: '07700 900123' } }))).toMatchObject({
      channel: 'sms',
      recipient: '07700 900123',
    });
  });

  it('follows a direct customer’s channel preference when that channel has a contact', () => {
    expect(shipped(order({ preferences: { channels: ['sms'] } }))).toMatchObject({ channel: 'sms' });
  });

  it('falls back to another allowed channel when the preferred one has no contact', () => {
    const o = order({ contact: { email: 'pat@example.com' }, preferences: { channels: ['sms'] } });
    expect(shipped(o)).toMatchObject({ channel: 'email', recipient: 'pat@example.com' });
  });

  it('emails a wholesale account contact', () => {
    const o = order({
      channel: 'wholesale',
      contact: { email: 'ap@trade.example', phone: '+1 555 0100 200' },
    });
    expect(shipped(o)).toMatchObject({ send: true, channel: 'email', recipient: 'ap@trade.example' });
  });

  it('never texts a wholesale account, even when it prefers SMS', () => {
    const o = order({
      channel: 'wholesale',
      contact: { email: 'ap@trade.example', phone: '+1 555 0100 200' },
      preferences: { channels: ['sms'] },
    });
    expect(shipped(o)).toMatchObject({ channel: 'email' });
    expect(shipped({ ...o, contact: { phone: '+1 555 0100 200' } })).toMatchObject({
      send: false,
      reason: 'NO_CONTACT',
    });
  });
});

describe('planNotification: retail replenishment over EDI', () => {
  it('sends no acceptance message: the 855 is the acknowledgement', () => {
    expect(planNotification({ milestone: 'accepted', order: EDI_RETAILER, alreadySent: [] })).toEqual({
      send: false,
      reason: 'COVERED_BY_EDI',
      notificationId: 'ORD-9-accepted',
    });
  });

  it('notifies shipment on the EDI channel as an 856 to the trading partner', () => {
    const plan = sent(shipped(EDI_RETAILER));
    expect(plan).toMatchObject({
      notificationId: 'ORD-9-shipped-SHP-1',
      channel: 'edi',
      recipient: 'RETAILER-AS2',
      ediTransaction: '856',
      subject: 'Advance ship notice (856) for PO PO-5544',
    });
    expect(plan.body).toContain('tracking number 1Z999AA10123456784');
  });

  it('sends the 856 even if a person at the retailer opted out of shipment emails', () => {
    const o = { ...EDI_RETAILER, preferences: { optOut: ['shipped' as const] } };
    expect(shipped(o)).toMatchObject({ send: true, channel: 'edi' });
  });

  it('emails the account contact for milestones that have no EDI document here', () => {
    const plan = planNotification({
      milestone: 'backordered',
      order: EDI_RETAILER,
      details: { lines: [{ sku: 'W-1', quantity: 10 }] },
      alreadySent: [],
    });
    expect(plan).toMatchObject({ send: true, channel: 'email', recipient: 'buyer@retailer.example' });
  });

  it('treats a retail order without an EDI partner like wholesale', () => {
    const o = { ...EDI_RETAILER, contact: { email: 'buyer@retailer.example' } };
    expect(planNotification({ milestone: 'accepted', order: o, alreadySent: [] })).toMatchObject({
      send: true,
      channel: 'email',
    });
    expect(shipped(o)).toMatchObject({ channel: 'email' });
  });
});

describe('planNotification: idempotency, opt-outs and missing contacts', () => {
  it('notifies each shipment of an order once', () => {
    const second = { ...SHIPMENT, shipmentId: 'SHP-2' };
    expect(shipped(order(), SHIPMENT, ['ORD-1-accepted', 'ORD-1-shipped-SHP-1'])).toEqual({
      send: false,
      reason: 'ALREADY_SENT',
      notificationId: 'ORD-1-shipped-SHP-1',
    });
    expect(shipped(order(), second, ['ORD-1-shipped-SHP-1'])).toMatchObject({
      send: true,
      notificationId: 'ORD-1-shipped-SHP-2',
    });
  });

  it('makes a redelivered event a no-op, before looking at opt-outs or contacts', () => {
    const o = order({ contact: {}, preferences: { optOut: ['accepted'] } });
    expect(
      planNotification({ milestone: 'accepted', order: o, alreadySent: ['ORD-1-accepted'] }),
    ).toMatchObject({
      send: false,
      reason: 'ALREADY_SENT',
    });
  });

  it('makes a repeated EDI shipment notice a no-op too', () => {
    expect(shipped(EDI_RETAILER, SHIPMENT, ['ORD-9-shipped-SHP-1'])).toMatchObject({
      send: false,
      reason: 'ALREADY_SENT',
    });
  });

  it('respects an opt-out from a milestone', () => {
    expect(shipped(order({ preferences: { optOut: ['shipped'] } }))).toEqual({
      send: false,
      reason: 'OPTED_OUT',
      notificationId: 'ORD-1-shipped-SHP-1',
    });
  });

  it('still sends an on-hold notice to a customer who opted out of it', () => {
    const plan = planNotification({
      milestone: 'on-hold',
      order: order({ preferences: { optOut: ['on-hold', 'shipped'] } }),
      details: { reasonCategory: 'address-verification' },
      alreadySent: [],
    });
    expect(plan).toMatchObject({ send: true, notificationId: 'ORD-1-on-hold', channel: 'email' });
  });

  it('reports NO_CONTACT when no contact is usable, so the caller can raise an exception', () => {
    const o = order({ contact: { email: '  ', phone: '12345' } });
    expect(shipped(o)).toEqual({ send: false, reason: 'NO_CONTACT', notificationId: 'ORD-1-shipped-SHP-1' });
  });

  it('reports an opt-out rather than a missing contact when the customer opted out', () => {
    const o = order({ contact: {}, preferences: { optOut: ['delivered'] } });
    const plan = planNotification({
      milestone: 'delivered',
      order: o,
      details: { shipmentId: 'SHP-1', deliveredAt: '2025-03-12T10:00:00Z' },
      alreadySent: [],
    });
    expect(plan).toMatchObject({ send: false, reason: 'OPTED_OUT' });
  });
});

describe('planNotification: input validation', () => {
  function errorFor(request: unknown): unknown {
    return captureError(() => planNotification(request as NotificationRequest));
  }
  const base = { milestone: 'shipped', order: order(), details: SHIPMENT, alreadySent: [] };

  it('rejects an unknown milestone, naming the field', () => {
    const error = errorFor({ ...base, milestone: 'invoiced' });
    expect(error).toBeInstanceOf(InvalidNotificationInput);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ name: 'InvalidNotificationInput', field: 'milestone', retryable: false });
  });

  it.each([
    ['order.orderId', { ...base, order: order({ orderId: ' ' }) }],
    ['order.customerId', { ...base, order: order({ customerId: '' }) }],
    ['order.channel', { ...base, order: { ...order(), channel: 'marketplace' } }],
    ['order.customerPo', { ...base, order: order({ customerPo: ' ' }) }],
    ['order.contact', { ...base, order: { ...order(), contact: undefined } }],
    ['order.contact.email', { ...base, order: order({ contact: { email: 42 as unknown as string } }) }],
    [
      'order.preferences.channels[1]',
      { ...base, order: { ...order(), preferences: { channels: ['sms', 'fax'] } } },
    ],
    [
      'order.preferences.optOut[0]',
      { ...base, order: { ...order(), preferences: { optOut: ['invoiced'] } } },
    ],
    ['alreadySent', { ...base, alreadySent: 'ORD-1-accepted' }],
    ['details.shipmentId', { ...base, details: { ...SHIPMENT, shipmentId: '' } }],
    ['details.trackingNumber', { ...base, details: { ...SHIPMENT, trackingNumber: undefined } }],
    ['details.lines', { ...base, details: { ...SHIPMENT, lines: [] } }],
    [
      'details.lines[1].quantity',
      {
        ...base,
        details: {
          ...SHIPMENT,
          lines: [
            { sku: 'A', quantity: 1 },
            { sku: 'B', quantity: 0 },
          ],
        },
      },
    ],
    ['details.lines[0].sku', { ...base, details: { ...SHIPMENT, lines: [{ sku: ' ', quantity: 1 }] } }],
    ['details', { ...base, milestone: 'delivered', details: undefined }],
    [
      'details.deliveredAt',
      { ...base, milestone: 'delivered', details: { shipmentId: 'SHP-1', deliveredAt: '2025-03-12' } },
    ],
    [
      'details.reasonCategory',
      { ...base, milestone: 'on-hold', details: { reasonCategory: 'over-credit-limit' } },
    ],
    [
      'details.lines[0].expectedDate',
      {
        ...base,
        milestone: 'backordered',
        details: { lines: [{ sku: 'A', quantity: 1, expectedDate: '2025-13-01' }] },
      },
    ],
    ['details.promiseDate', { ...base, milestone: 'accepted', details: { promiseDate: 'next week' } }],
  ])('rejects a bad %s', (field, request) => {
    expect(errorFor(request)).toMatchObject({ name: 'InvalidNotificationInput', field });
  });
});
