import * as z from 'zod/mini';
import {
  json,
  type PartnerEnvironment,
  problem,
  type Route,
  refuse,
  type SandboxPartner,
  Sequences,
  validBody,
} from './framework.ts';

/** A customer account in the CRM, keyed by the ERP customer number. */
export interface CrmAccount {
  readonly AccountNumber: string;
  readonly Name: string;
  readonly Email: string | null;
  readonly Phone: string | null;
  readonly Tier: 'Standard' | 'Preferred' | 'Key Account';
}

export interface CrmMessage {
  readonly messageId: string;
  readonly accountNumber: string;
  readonly channel: 'email' | 'sms' | 'portal';
  readonly recipient: string;
  readonly templateId: string;
  readonly orderReference: string;
  readonly mergeFields: Readonly<Record<string, string>>;
  readonly status: 'queued';
  readonly queuedAt: string;
}

export interface CrmCase {
  readonly Id: string;
  readonly CaseNumber: string;
  readonly AccountNumber: string;
  readonly Subject: string;
  readonly Description: string;
  readonly Priority: 'Low' | 'Medium' | 'High' | 'Critical';
  readonly Type: string;
  readonly Origin: string;
  readonly OrderReference__c: string;
  readonly Status: 'New';
  readonly CreatedDate: string;
}

const NotificationRequest = z.object({
  accountNumber: z.string().check(z.minLength(1)),
  channel: z.enum(['email', 'sms', 'portal']),
  templateId: z.string().check(z.regex(/^[a-z0-9][a-z0-9-]{1,63}$/)),
  orderReference: z.string().check(z.minLength(1)),
  mergeFields: z.record(z.string(), z.string()),
});

const CaseRequest = z.object({
  AccountNumber: z.string().check(z.minLength(1)),
  Subject: z.string().check(z.minLength(1), z.maxLength(255)),
  Description: z.string().check(z.maxLength(32_000)),
  Priority: z.enum(['Low', 'Medium', 'High', 'Critical']),
  Type: z.string().check(z.minLength(1)),
  Origin: z.string().check(z.minLength(1)),
  OrderReference__c: z.string().check(z.minLength(1)),
});

/**
 * The CRM customer service works in: customer notifications (queued per channel to the account's contact)
 * and service cases (Salesforce-flavoured field names and `{ id, success, errors }` answers).
 */
export class CrmSandbox implements SandboxPartner {
  readonly name = 'crm' as const;
  readonly accounts = new Map<string, CrmAccount>();
  readonly messages: CrmMessage[] = [];
  readonly cases: CrmCase[] = [];
  private readonly ids = new Sequences();

  constructor(private readonly env: PartnerEnvironment) {}

  readonly routes: readonly Route[] = [
    {
      method: 'POST',
      pattern: '/crm/notifications',
      idempotent: true,
      handle: ({ body }) => {
        const message = this.notify(validBody('CRM notification', NotificationRequest, body));
        return json(202, { messageId: message.messageId, status: message.status });
      },
    },
    {
      method: 'GET',
      pattern: '/crm/notifications',
      handle: ({ query }) => {
        const ref = query.get('orderReference');
        return json(200, {
          messages: ref ? this.messages.filter((m) => m.orderReference === ref) : this.messages,
        });
      },
    },
    {
      method: 'POST',
      pattern: '/crm/cases',
      idempotent: true,
      handle: ({ body }) => {
        const created = this.openCase(validBody('CRM case', CaseRequest, body));
        return json(201, { id: created.Id, success: true, errors: [] });
      },
    },
    {
      method: 'GET',
      pattern: '/crm/cases',
      handle: ({ query }) => {
        const ref = query.get('orderReference');
        return json(200, {
          records: ref ? this.cases.filter((c) => c.OrderReference__c === ref) : this.cases,
        });
      },
    },
    {
      method: 'GET',
      pattern: '/crm/cases/:caseId',
      handle: ({ params }) => {
        const found = this.cases.find((c) => c.Id === params.caseId);
        return found ? json(200, found) : problem(404, 'NOT_FOUND', `no case ${params.caseId}`);
      },
    },
  ];

  private account(accountNumber: string): CrmAccount {
    const account = this.accounts.get(accountNumber);
    if (!account) refuse(422, 'INVALID_ACCOUNT', `no account ${accountNumber} in the CRM`);
    return account;
  }

  private notify(request: z.output<typeof NotificationRequest>): CrmMessage {
    const account = this.account(request.accountNumber);
    const recipient =
      request.channel === 'email'
        ? account.Email
        : request.channel === 'sms'
          ? account.Phone
          : `portal:${account.AccountNumber}`;
    if (!recipient) {
      refuse(422, 'NO_CONTACT_POINT', `account ${account.AccountNumber} has no ${request.channel} contact`);
    }
    const message: CrmMessage = {
      messageId: this.ids.next('MSG-'),
      accountNumber: account.AccountNumber,
      channel: request.channel,
      recipient,
      templateId: request.templateId,
      orderReference: request.orderReference,
      mergeFields: request.mergeFields,
      status: 'queued',
      queuedAt: this.env.clock.now().toISOString(),
    };
    this.messages.push(message);
    return message;
  }

  private openCase(request: z.output<typeof CaseRequest>): CrmCase {
    this.account(request.AccountNumber);
    const created: CrmCase = {
      ...request,
      Id: this.ids.next('500HND', 9),
      CaseNumber: this.ids.next('', 8),
      Status: 'New',
      CreatedDate: this.env.clock.now().toISOString(),
    };
    this.cases.push(created);
    return created;
  }

  reset(): void {
    this.accounts.clear();
    this.messages.length = 0;
    this.cases.length = 0;
    this.ids.reset();
  }
}
