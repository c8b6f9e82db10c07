import type { OrderStage } from '../../contracts/vocabulary.ts';
import type {
  Clock,
  DeadLetter,
  DeadLetterQueue,
  DeadLetterSource,
  EventPublisher,
  ExceptionRepository,
  FailedInvocation,
  OrderRepository,
  OwnedException,
} from '../ports/index.ts';
import { sha256 } from '../shared/ids.ts';
import { addHours, exceptionRaisedEvent } from './exceptions.ts';

/**
 * Dead-letter intake: every message on a Handoff DLQ becomes one owned integration exception (the
 * integration team's), keeping the original payload and the failure the sender recorded, with the action
 * to take. A Lambda on-failure record is taken in as the event it carries, with the function that failed
 * and its error. Messages stay on their DLQ: it is what `handoff dlq redrive` moves back to the source (or
 * to the function or rule target that failed); the exception is the work item, keyed by queue and message
 * id, so seeing a message again raises nothing new.
 */
export interface DeadLetterDeps {
  readonly queues: readonly DeadLetterQueue[];
  readonly source: DeadLetterSource;
  readonly exceptions: ExceptionRepository;
  readonly orders: Pick<OrderRepository, 'get'>;
  readonly events: EventPublisher;
  readonly clock: Clock;
}

/** Messages read per queue per run: a flood is taken in over a few runs, every run stays short. */
const MAX_PER_QUEUE = 100;
/** Hours the integration team has to act on a dead letter. */
const DEAD_LETTER_SLA_HOURS = 4;
/** The payload kept on the exception (DynamoDB items stop at 400 KB); a longer one is kept in part, with its hash. */
const MAX_KEPT_PAYLOAD = 256 * 1024;

export interface IntakeOutcome {
  readonly seen: number;
  readonly raised: readonly string[];
}

export async function takeInDeadLetters(deps: DeadLetterDeps): Promise<IntakeOutcome> {
  let seen = 0;
  const raised: string[] = [];
  for (const queue of deps.queues) {
    const messages = await deps.source.peek(queue, MAX_PER_QUEUE);
    seen += messages.length;
    for (const message of messages) {
      const exception = await exceptionFor(queue, message, deps);
      const { created } = await deps.exceptions.raiseIfAbsent(exception);
      if (!created) continue;
      await deps.events.publish([exceptionRaisedEvent(exception, exception.raisedAt)]);
      raised.push(exception.exceptionId);
    }
  }
  return { seen, raised };
}

export function deadLetterExceptionId(queueName: string, messageId: string): string {
  return `EXC-DLQ-${sha256(`${queueName}|${messageId}`).slice(0, 24)}`;
}

async function exceptionFor(
  queue: DeadLetterQueue,
  message: DeadLetter,
  deps: DeadLetterDeps,
): Promise<OwnedException> {
  const now = deps.clock.now();
  const raisedAt = now.toISOString();
  const exceptionId = deadLetterExceptionId(queue.name, message.messageId);
  const invocation = message.failedInvocation;
  // An on-failure record wraps the event: the event is the payload, the record says who failed and why.
  const payload = invocation ? invocation.requestPayload : message.body;
  const found = orderIdIn(payload);
  const orderId = found ?? `UNIDENTIFIED-${sha256(payload).slice(0, 16)}`;
  const order = found ? await deps.orders.get(found) : undefined;
  const stage: OrderStage = order?.stage ?? 'received';
  const cause = invocation ? invocationCause(invocation) : causeOf(message.messageAttributes);
  const kept =
    payload.length <= MAX_KEPT_PAYLOAD
      ? { payload }
      : {
          payload: payload.slice(0, MAX_KEPT_PAYLOAD),
          payloadTruncated: true,
          payloadBytes: Buffer.byteLength(payload),
          payloadSha256: sha256(payload),
        };
  const from = invocation ? ` from ${invocation.functionName}` : '';
  return {
    exceptionId,
    type: 'integration-failure',
    ownerTeam: 'integration',
    priority: 'high',
    state: 'open',
    stage,
    orderId,
    correlationId: orderId,
    raisedAt,
    slaDueAt: addHours(now, DEAD_LETTER_SLA_HOURS),
    recommendedAction:
      `${queue.feeds[0]?.toUpperCase() ?? ''}${queue.feeds.slice(1)}: this one reached ${queue.name}${from}${cause ? ` (${cause.slice(0, 160)})` : ''}. Read the kept payload and cause, fix the data or the partner, then run \`handoff dlq redrive --queue ${queue.name}\`.`.slice(
        0,
        500,
      ),
    reasonCodes: ['DEAD_LETTER', `DLQ:${queue.name}`],
    context: {
      queue: queue.name,
      queueArn: queue.arn,
      messageId: message.messageId,
      ...(message.sentAt ? { deadLetteredAt: message.sentAt } : {}),
      receiveCount: message.receiveCount,
      ...(cause ? { cause } : {}),
      ...(invocation
        ? {
            function: invocation.functionName,
            functionArn: invocation.functionArn,
            condition: invocation.condition,
            approximateInvokeCount: invocation.approximateInvokeCount,
          }
        : {}),
      messageAttributes: message.messageAttributes,
      ...(found ? {} : { orderIdentified: false }),
      ...kept,
    },
    audit: [
      {
        at: raisedAt,
        actor: 'handoff:dead-letter-intake',
        action: 'raised',
        why: `message ${message.messageId} on ${queue.name}`,
      },
    ],
  };
}

/** Why Lambda gave up, from its on-failure record: the last error, the condition and the attempts. */
function invocationCause(invocation: FailedInvocation): string {
  const error = invocation.errorType
    ? `${invocation.errorType}: ${invocation.errorMessage ?? ''}`
    : (invocation.errorMessage ?? 'no error recorded');
  const attempts = invocation.approximateInvokeCount;
  // As Lambda caps a DLQ message's ErrorMessage: the kept payload, not the cause, is the large part.
  return `${error.slice(0, 1000)} (${invocation.condition} after ${attempts} attempt${attempts === 1 ? '' : 's'})`;
}

/** The failure as the sender recorded it: Lambda's async DLQ attributes, or EventBridge's target DLQ ones. */
function causeOf(attributes: Readonly<Record<string, string>>): string | undefined {
  const parts = [
    attributes.ErrorMessage,
    attributes.ERROR_MESSAGE,
    attributes.ErrorCode && `error code ${attributes.ErrorCode}`,
    attributes.ERROR_CODE,
    attributes.RULE_ARN && `rule ${attributes.RULE_ARN}`,
  ].filter((p): p is string => typeof p === 'string' && p.length > 0);
  return parts.length > 0 ? parts.join('; ') : undefined;
}

const ORDER_ID = /^[A-Z][A-Z0-9]*-[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/**
 * The order a dead letter is about, when its payload says: a canonical event (`detail.orderId`), a step
 * payload (`orderId`), or an ERP sales order (`SalesOrder`, Handoff's id `ERP-<SalesOrder>`).
 */
export function orderIdIn(body: string): string | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch {
    return undefined;
  }
  if (typeof parsed !== 'object' || parsed === null) return undefined;
  const value = parsed as {
    orderId?: unknown;
    detail?: { orderId?: unknown };
    SalesOrder?: unknown;
  };
  const candidate =
    typeof value.detail?.orderId === 'string'
      ? value.detail.orderId
      : typeof value.orderId === 'string'
        ? value.orderId
        : typeof value.SalesOrder === 'string' || typeof value.SalesOrder === 'number'
          ? `ERP-${String(value.SalesOrder)}`
          : undefined;
  return candidate && ORDER_ID.test(candidate) && candidate.length <= 80 ? candidate : undefined;
}
