import { InvalidInputError } from './errors.ts';
import { CHANNELS, type Channel, isOneOf } from './vocabulary.ts';

export const NOTIFICATION_MILESTONES = [
  'accepted',
  'on-hold',
  'backordered',
  'shipped',
  'delivered',
] as const;
export type NotificationMilestone = (typeof NOTIFICATION_MILESTONES)[number];

export const NOTIFICATION_CHANNELS = ['email', 'sms', 'edi'] as const;
export type NotificationChannel = (typeof NOTIFICATION_CHANNELS)[number];

/**
 * What a customer may be told about a hold. A closed list rather than free text, so no internal reason
 * code, credit limit, exposure or overdue figure can reach a customer message; map internal reasons with
 * customerHoldCategory.
 */
export const HOLD_REASON_CATEGORIES = [
  'awaiting-payment',
  'account-review',
  'order-verification',
  'address-verification',
] as const;
export type HoldReasonCategory = (typeof HOLD_REASON_CATEGORIES)[number];

export interface NotificationContact {
  email?: string;
  phone?: string;
  ediPartnerId?: string;
}

export interface NotificationPreferences {
  /** Preferred channels, most preferred first; channels the order's sales channel cannot use are ignored. */
  channels?: readonly NotificationChannel[];
  /** Milestones the customer does not want to hear about (on-hold is always sent). */
  optOut?: readonly NotificationMilestone[];
}

export interface NotificationOrder {
  orderId: string;
  channel: Channel;
  customerId: string;
  customerPo?: string;
  contact: NotificationContact;
  preferences?: NotificationPreferences;
}

export interface NotifiedLine {
  sku: string;
  description?: string;
  quantity: number;
}

export interface BackorderedLine extends NotifiedLine {
  /** YYYY-MM-DD when known. */
  expectedDate?: string;
}

export interface AcceptedDetails {
  /** YYYY-MM-DD promised delivery date, when one was given. */
  promiseDate?: string;
}

export interface OnHoldDetails {
  reasonCategory: HoldReasonCategory;
}

export interface BackorderedDetails {
  lines: readonly BackorderedLine[];
}

export interface ShippedDetails {
  shipmentId: string;
  carrier: string;
  trackingNumber: string;
  lines: readonly NotifiedLine[];
}

export interface DeliveredDetails {
  shipmentId: string;
  /** ISO 8601 datetime with a zone designator; the date as written (the carrier's local date) is shown. */
  deliveredAt: string;
}

interface RequestBase {
  order: NotificationOrder;
  /** Ids of notifications already sent for this order. */
  alreadySent: readonly string[];
}

export type NotificationRequest =
  | (RequestBase & { milestone: 'accepted'; details?: AcceptedDetails })
  | (RequestBase & { milestone: 'on-hold'; details: OnHoldDetails })
  | (RequestBase & { milestone: 'backordered'; details: BackorderedDetails })
  | (RequestBase & { milestone: 'shipped'; details: ShippedDetails })
  | (RequestBase & { milestone: 'delivered'; details: DeliveredDetails });

export type NotificationSkipReason =
  /** This notification id is in alreadySent: a redelivered event. */
  | 'ALREADY_SENT'
  /** The customer opted out of this milestone. */
  | 'OPTED_OUT'
  /** An EDI trading partner's acknowledgement is the 855 the EDI adapter sends, not a message from here. */
  | 'COVERED_BY_EDI'
  /** No usable address for any allowed channel: the caller raises a customer-service exception. */
  | 'NO_CONTACT';

export type NotificationPlan =
  | { send: false; reason: NotificationSkipReason; notificationId: string }
  | {
      send: true;
      /** `${orderId}-${milestone}`, plus `-${shipmentId}` for shipped and delivered: the idempotency key. */
      notificationId: string;
      channel: NotificationChannel;
      /** Email address, phone number or EDI partner id. */
      recipient: string;
      subject: string;
      /** Plain text, customer-facing. For EDI, a readable summary of the document the EDI adapter sends. */
      body: string;
      /** Set when channel is 'edi'. */
      ediTransaction?: '856';
    };

export class InvalidNotificationInput extends InvalidInputError {
  override name = 'InvalidNotificationInput';
}

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;
const DATE_RE = /^(\d{4})-(\d{2})-(\d{2})$/;
const ISO_INSTANT_RE =
  /^(\d{4})-(\d{2})-(\d{2})T(?:[01]\d|2[0-3]):[0-5]\d(?::[0-5]\d(?:\.\d{1,9})?)?(?:Z|[+-](?:[01]\d|2[0-3]):[0-5]\d)$/;
const EMAIL_RE = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;
const PHONE_RE = /^\+?[\d\s().-]+$/;
const MIN_PHONE_DIGITS = 7;

/** Default channel order per sales channel; preferences may reorder within it, never extend it. */
const ALLOWED_CHANNELS: Readonly<Record<Channel, readonly NotificationChannel[]>> = {
  'direct-to-customer': ['email', 'sms'],
  wholesale: ['email'],
  'retail-replenishment': ['email'],
};

const HOLD_SENTENCE: Readonly<Record<HoldReasonCategory, { long: string; short: string }>> = {
  'awaiting-payment': {
    long: 'We are waiting to receive payment for it. As soon as payment arrives we will release it for dispatch.',
    short: 'awaiting payment',
  },
  'account-review': {
    long: 'Our accounts team is reviewing it before release. If anything is needed from you, they will contact you directly.',
    short: 'being reviewed by our accounts team',
  },
  'order-verification': {
    long: 'We need to confirm some order details before it can be dispatched. Our customer service team will contact you shortly.',
    short: 'we need to confirm some details',
  },
  'address-verification': {
    long: 'We need to confirm the delivery address before it can be dispatched. Our customer service team will contact you shortly.',
    short: 'we need to confirm the delivery address',
  },
};

/**
 * Maps credit hold reason codes to what a customer may be told. Cash-in-advance terms become "awaiting
 * payment"; every other credit reason is an "account review" — the customer learns the order is held, never
 * the limit, exposure or overdue figures behind it. Anything else is "order verification"; an address
 * exception passes 'address-verification' directly.
 */
export function customerHoldCategory(reasonCodes: readonly string[]): HoldReasonCategory {
  if (reasonCodes.includes('CASH_IN_ADVANCE_TERMS')) return 'awaiting-payment';
  const credit = ['OVER_CREDIT_LIMIT', 'OVERDUE_BEYOND_GRACE', 'ACCOUNT_ON_HOLD', 'ACCOUNT_CLOSED'];
  if (reasonCodes.some((code) => credit.includes(code))) return 'account-review';
  return 'order-verification';
}

function isCalendarDate(m: RegExpExecArray): boolean {
  const [year, month, day] = [Number(m[1]), Number(m[2]), Number(m[3])];
  return (
    year >= 1900 &&
    month >= 1 &&
    month <= 12 &&
    day >= 1 &&
    day <= new Date(Date.UTC(year, month, 0)).getUTCDate()
  );
}

function fail(field: string, rule: string): never {
  throw new InvalidNotificationInput(field, rule);
}

function requireObject(field: string, value: unknown): void {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(field, 'must be an object');
}

function requireText(field: string, value: unknown): void {
  if (typeof value !== 'string' || value.trim() === '') fail(field, 'must be a non-empty string');
}

function optionalString(field: string, value: unknown): void {
  if (value !== undefined && typeof value !== 'string') fail(field, 'must be a string when present');
}

function requireDate(field: string, value: unknown): void {
  const m = typeof value === 'string' ? DATE_RE.exec(value) : null;
  if (m === null || !isCalendarDate(m)) {
    fail(field, `must be a real calendar date in YYYY-MM-DD format (got ${String(value)})`);
  }
}

function requireInstant(field: string, value: unknown): void {
  const m = typeof value === 'string' ? ISO_INSTANT_RE.exec(value) : null;
  if (m === null || !isCalendarDate(m)) {
    fail(
      field,
      `must be an ISO 8601 datetime with a zone designator, e.g. 2025-03-10T09:30:00Z (got ${String(value)})`,
    );
  }
}

function requireOneOfEach<T extends string>(field: string, values: readonly T[], list: unknown): void {
  if (list === undefined) return;
  if (!Array.isArray(list)) fail(field, 'must be an array when present');
  list.forEach((item: unknown, i) => {
    if (!isOneOf(values, item))
      fail(`${field}[${i}]`, `must be one of ${values.join(', ')} (got ${String(item)})`);
  });
}

function validateLines(field: string, lines: unknown, withExpectedDate: boolean): void {
  if (!Array.isArray(lines) || lines.length === 0) fail(field, 'must be a non-empty array');
  lines.forEach((line: BackorderedLine | null, i) => {
    const at = `${field}[${i}]`;
    requireObject(at, line);
    requireText(`${at}.sku`, line?.sku);
    optionalString(`${at}.description`, line?.description);
    if (!Number.isInteger(line?.quantity) || (line?.quantity ?? 0) < 1) {
      fail(`${at}.quantity`, `must be an integer >= 1 (got ${String(line?.quantity)})`);
    }
    if (withExpectedDate && line?.expectedDate !== undefined)
      requireDate(`${at}.expectedDate`, line.expectedDate);
  });
}

function validate(request: NotificationRequest): void {
  requireObject('request', request);
  if (!isOneOf(NOTIFICATION_MILESTONES, request.milestone)) {
    fail(
      'milestone',
      `must be one of ${NOTIFICATION_MILESTONES.join(', ')} (got ${String(request.milestone)})`,
    );
  }
  const { order } = request;
  requireObject('order', order);
  requireText('order.orderId', order.orderId);
  requireText('order.customerId', order.customerId);
  if (!isOneOf(CHANNELS, order.channel)) {
    fail('order.channel', `must be one of ${CHANNELS.join(', ')} (got ${String(order.channel)})`);
  }
  if (order.customerPo !== undefined) requireText('order.customerPo', order.customerPo);
  requireObject('order.contact', order.contact);
  optionalString('order.contact.email', order.contact.email);
  optionalString('order.contact.phone', order.contact.phone);
  optionalString('order.contact.ediPartnerId', order.contact.ediPartnerId);
  if (order.preferences !== undefined) {
    requireObject('order.preferences', order.preferences);
    requireOneOfEach('order.preferences.channels', NOTIFICATION_CHANNELS, order.preferences.channels);
    requireOneOfEach('order.preferences.optOut', NOTIFICATION_MILESTONES, order.preferences.optOut);
  }
  if (!Array.isArray(request.alreadySent) || request.alreadySent.some((id) => typeof id !== 'string')) {
    fail('alreadySent', 'must be an array of notification ids');
  }

  switch (request.milestone) {
    case 'accepted':
      if (request.details !== undefined) {
        requireObject('details', request.details);
        if (request.details.promiseDate !== undefined) {
          requireDate('details.promiseDate', request.details.promiseDate);
        }
      }
      return;
    case 'on-hold':
      requireObject('details', request.details);
      if (!isOneOf(HOLD_REASON_CATEGORIES, request.details.reasonCategory)) {
        fail(
          'details.reasonCategory',
          `must be one of ${HOLD_REASON_CATEGORIES.join(', ')} (got ${String(request.details.reasonCategory)})`,
        );
      }
      return;
    case 'backordered':
      requireObject('details', request.details);
      validateLines('details.lines', request.details.lines, true);
      return;
    case 'shipped':
      requireObject('details', request.details);
      requireText('details.shipmentId', request.details.shipmentId);
      requireText('details.carrier', request.details.carrier);
      requireText('details.trackingNumber', request.details.trackingNumber);
      validateLines('details.lines', request.details.lines, false);
      return;
    case 'delivered':
      requireObject('details', request.details);
      requireText('details.shipmentId', request.details.shipmentId);
      requireInstant('details.deliveredAt', request.details.deliveredAt);
      return;
  }
}

function notificationIdFor(request: NotificationRequest): string {
  const base = `${request.order.orderId}-${request.milestone}`;
  return request.milestone === 'shipped' || request.milestone === 'delivered'
    ? `${base}-${request.details.shipmentId}`
    : base;
}

function usableEmail(value: string | undefined): string | undefined {
  const email = value?.trim();
  return email !== undefined && EMAIL_RE.test(email) ? email : undefined;
}

function usablePhone(value: string | undefined): string | undefined {
  const phone = value?.trim();
  if (phone === undefined || !PHONE_RE.test(phone)) return undefined;
  return phone.replace(/\D/g, '').length >= MIN_PHONE_DIGITS ? phone : undefined;
}

function usableEdiPartner(value: string | undefined): string | undefined {
  const partner = value?.trim();
  return partner === undefined || partner === '' ? undefined : partner;
}

/** "2025-03-12" -> "12 March 2025". */
function longDate(isoDate: string): string {
  const [year, month, day] = isoDate.slice(0, 10).split('-').map(Number) as [number, number, number];
  return `${day} ${MONTHS[month - 1] ?? ''} ${year}`;
}

function orderRef(order: NotificationOrder): string {
  return order.customerPo === undefined
    ? `order ${order.orderId}`
    : `order ${order.orderId} (your PO ${order.customerPo})`;
}

function lineText(line: NotifiedLine): string {
  return line.description === undefined || line.description.trim() === ''
    ? `${line.quantity} x ${line.sku}`
    : `${line.quantity} x ${line.description.trim()} (${line.sku})`;
}

const SIGN_OFF =
  'If you have any questions, reply to this message or contact customer service quoting your order number.';

function subjectFor(request: NotificationRequest): string {
  const ref = `Order ${request.order.orderId}${request.order.customerPo === undefined ? '' : ` (PO ${request.order.customerPo})`}`;
  switch (request.milestone) {
    case 'accepted':
      return `${ref} accepted`;
    case 'on-hold':
      return `${ref} is on hold`;
    case 'backordered':
      return `${ref}: items backordered`;
    case 'shipped':
      return `${ref} has shipped`;
    case 'delivered':
      return `${ref} has been delivered`;
  }
}

function emailBody(request: NotificationRequest): string {
  const ref = orderRef(request.order);
  const lines: string[] = [];
  switch (request.milestone) {
    case 'accepted':
      lines.push(`Thank you. We have accepted ${ref}.`);
      if (request.details?.promiseDate !== undefined) {
        lines.push(`Expected delivery: ${longDate(request.details.promiseDate)}.`);
      }
      lines.push('We will let you know when it ships.');
      break;
    case 'on-hold':
      lines.push(`Your ${ref} is on hold.`, HOLD_SENTENCE[request.details.reasonCategory].long);
      break;
    case 'backordered':
      lines.push(`Some items on ${ref} are temporarily out of stock:`);
      for (const line of request.details.lines) {
        const when =
          line.expectedDate === undefined
            ? 'date to be confirmed'
            : `expected ${longDate(line.expectedDate)}`;
        lines.push(`- ${lineText(line)}: ${when}`);
      }
      lines.push('We will let you know when they ship.');
      break;
    case 'shipped':
      lines.push(
        `Your ${ref} has shipped with ${request.details.carrier}.`,
        `Tracking number: ${request.details.trackingNumber}`,
        `Shipment: ${request.details.shipmentId}`,
        'Items in this shipment:',
        ...request.details.lines.map((line) => `- ${lineText(line)}`),
      );
      break;
    case 'delivered':
      lines.push(
        `Shipment ${request.details.shipmentId} for your ${ref} was delivered on ${longDate(request.details.deliveredAt)}.`,
        'If anything is missing or damaged, please let us know.',
      );
      break;
  }
  return [...lines, '', SIGN_OFF].join('\n');
}

function smsBody(request: NotificationRequest): string {
  const id = request.order.orderId;
  switch (request.milestone) {
    case 'accepted': {
      const date = request.details?.promiseDate;
      return `Order ${id} accepted.${date === undefined ? '' : ` Expected delivery ${longDate(date)}.`} We'll text you when it ships.`;
    }
    case 'on-hold':
      return `Order ${id} is on hold: ${HOLD_SENTENCE[request.details.reasonCategory].short}. We'll be in touch.`;
    case 'backordered':
      return `Some items on order ${id} are backordered. We'll text you when they ship.`;
    case 'shipped':
      return `Order ${id} has shipped with ${request.details.carrier}. Tracking: ${request.details.trackingNumber}`;
    case 'delivered':
      return `Order ${id} was delivered on ${longDate(request.details.deliveredAt)}.`;
  }
}

function advanceShipNotice(
  request: Extract<NotificationRequest, { milestone: 'shipped' }>,
  notificationId: string,
  partnerId: string,
): NotificationPlan {
  const { order, details } = request;
  const po = order.customerPo ?? order.orderId;
  return {
    send: true,
    notificationId,
    channel: 'edi',
    recipient: partnerId,
    ediTransaction: '856',
    subject: `Advance ship notice (856) for PO ${po}`,
    body: [
      `Advance ship notice for PO ${po}, order ${order.orderId}.`,
      `Shipment ${details.shipmentId} via ${details.carrier}, tracking number ${details.trackingNumber}.`,
      ...details.lines.map((line) => `- ${lineText(line)}`),
    ].join('\n'),
  };
}

/**
 * Decides whether, how and what to tell the customer at a milestone. Checked in this order:
 *
 * 1. ALREADY_SENT: the notification id is in alreadySent. Ids are `${orderId}-${milestone}`, plus the
 *    shipment id for shipped / delivered, so each shipment notifies once and a redelivered event is a no-op.
 * 2. Retail replenishment over EDI (the order has an ediPartnerId): the trading partner's documents are the
 *    notices. 'accepted' is COVERED_BY_EDI (the 855 acknowledgement) and 'shipped' goes to the partner on
 *    channel 'edi' (the 856 advance ship notice) regardless of opt-outs, which are a person's preference and
 *    do not override the trading-partner agreement. Other milestones have no EDI document here and go to
 *    the account contact by email. A retail order without an ediPartnerId is treated like wholesale.
 * 3. OPTED_OUT, except for 'on-hold', which is always sent: it is a service notice that the order will
 *    not arrive as promised, and often needs the customer to act (pay in advance, confirm details);
 *    opting out of progress updates is not opting out of being told the order has stopped.
 * 4. Channel: direct-to-customer may use email or SMS (email first, SMS when only a phone is usable);
 *    wholesale and retail use email to the account contact. `preferences.channels` reorders the allowed
 *    channels; when none of the preferred channels has a usable contact the others are still tried,
 *    because a notice on a second-choice channel beats none (opting out is what optOut is for).
 *    An email is usable if it looks like name@domain.tld, a phone if it has at least 7 digits.
 *    Nothing usable -> NO_CONTACT, and the caller raises a customer-service exception.
 */
export function planNotification(request: NotificationRequest): NotificationPlan {
  validate(request);
  const notificationId = notificationIdFor(request);
  if (request.alreadySent.includes(notificationId))
    return { send: false, reason: 'ALREADY_SENT', notificationId };

  const { order } = request;
  const ediPartner =
    order.channel === 'retail-replenishment' ? usableEdiPartner(order.contact.ediPartnerId) : undefined;
  if (ediPartner !== undefined) {
    if (request.milestone === 'accepted') return { send: false, reason: 'COVERED_BY_EDI', notificationId };
    if (request.milestone === 'shipped') return advanceShipNotice(request, notificationId, ediPartner);
  }

  if (request.milestone !== 'on-hold' && order.preferences?.optOut?.includes(request.milestone)) {
    return { send: false, reason: 'OPTED_OUT', notificationId };
  }

  const allowed = ALLOWED_CHANNELS[order.channel];
  const preferred = (order.preferences?.channels ?? []).filter((c) => allowed.includes(c));
  for (const channel of [...new Set([...preferred, ...allowed])]) {
    const recipient = channel === 'sms' ? usablePhone(order.contact.phone) : usableEmail(order.contact.email);
    if (recipient === undefined) continue;
    return {
      send: true,
      notificationId,
      channel,
      recipient,
      subject: subjectFor(request),
      body: channel === 'sms' ? smsBody(request) : emailBody(request),
    };
  }
  return { send: false, reason: 'NO_CONTACT', notificationId };
}
