import * as z from 'zod/mini';
import { parseWith } from '../../../contracts/validation.ts';
import type { ExceptionPriority, ExceptionType } from '../../../contracts/vocabulary.ts';
import { PartnerContractBroken } from '../../shared/errors.ts';
import { PartnerClient, type PartnerClientOptions } from '../http/partner-client.ts';

export interface CrmClientConfig extends Omit<PartnerClientOptions, 'partner' | 'headers'> {
  /** CRM API access token, from configuration (a secret), sent as `authorization: Bearer <token>`. */
  readonly bearerToken: string;
}

export type NotificationChannel = 'email' | 'sms' | 'portal';

export interface CustomerNotification {
  readonly orderId: string;
  readonly customerId: string;
  readonly channel: NotificationChannel;
  /** The CRM template, e.g. 'order-shipped'. */
  readonly template: string;
  /** Values the template merges in (tracking number, promise date…). */
  readonly data: Readonly<Record<string, string | number>>;
  /** From order id and stage (e.g. `ORD-1:notify:shipped`), so a retry sends one message. */
  readonly idempotencyKey: string;
}

export interface ServiceCase {
  readonly orderId: string;
  readonly customerId: string;
  readonly subject: string;
  readonly description: string;
  readonly priority: ExceptionPriority;
  readonly type: ExceptionType;
  readonly idempotencyKey: string;
}

const CRM_PRIORITY: Readonly<Record<ExceptionPriority, string>> = {
  low: 'Low',
  normal: 'Medium',
  high: 'High',
  critical: 'Critical',
};

/** The CRM's case types customer service reports on, by Handoff exception type. */
const CRM_CASE_TYPE: Readonly<Record<ExceptionType, string>> = {
  'credit-hold': 'Billing',
  shortage: 'Backorder',
  substitution: 'Product Substitution',
  validation: 'Order Entry',
  address: 'Order Entry',
  'carrier-failure': 'Delivery Issue',
  'integration-failure': 'Order Status',
  'sla-breach': 'Order Status',
};

const CrmQueued = z.looseObject({
  messageId: z.string().check(z.minLength(1)),
  status: z.enum(['queued', 'sent', 'delivered']),
});

const CrmSaveResult = z.looseObject({
  id: z.string().check(z.minLength(1)),
  success: z.literal(true),
});

function contractOrThrow<S extends z.ZodMiniType>(what: string, schema: S, body: unknown): z.output<S> {
  const parsed = parseWith(what, schema, body);
  if (!parsed.ok) throw new PartnerContractBroken('crm', parsed.error.message);
  return parsed.value;
}

/** CRM adapter: customer notifications and service cases, each an idempotent side effect. */
export class CrmClient {
  private readonly http: PartnerClient;

  constructor(config: CrmClientConfig) {
    const { bearerToken, ...options } = config;
    this.http = new PartnerClient({
      ...options,
      partner: 'crm',
      headers: { authorization: `Bearer ${bearerToken}` },
    });
  }

  async notify(notification: CustomerNotification): Promise<{ messageId: string; status: string }> {
    const body = await this.http.request({
      method: 'POST',
      path: '/notifications',
      idempotencyKey: notification.idempotencyKey,
      body: {
        accountNumber: notification.customerId,
        channel: notification.channel,
        templateId: notification.template,
        orderReference: notification.orderId,
        mergeFields: Object.fromEntries(Object.entries(notification.data).map(([k, v]) => [k, String(v)])),
      },
    });
    const queued = contractOrThrow('CRM notification answer', CrmQueued, body);
    return { messageId: queued.messageId, status: queued.status };
  }

  async openCase(serviceCase: ServiceCase): Promise<{ caseId: string }> {
    const body = await this.http.request({
      method: 'POST',
      path: '/cases',
      idempotencyKey: serviceCase.idempotencyKey,
      body: {
        AccountNumber: serviceCase.customerId,
        Subject: serviceCase.subject,
        Description: serviceCase.description,
        Priority: CRM_PRIORITY[serviceCase.priority],
        Type: CRM_CASE_TYPE[serviceCase.type],
        Origin: 'Handoff',
        OrderReference__c: serviceCase.orderId,
      },
    });
    return { caseId: contractOrThrow('CRM case answer', CrmSaveResult, body).id };
  }
}
