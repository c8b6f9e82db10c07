/** The ports of dead-letter intake: the DLQs Handoff owns, read without taking the messages off them. */

export interface DeadLetterQueue {
  /** Construct id of the queue (e.g. ErpIngressDlq): how operators and `handoff dlq` name it. */
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  /** What lands in it, in words: "ERP sales orders that failed ingestion 5 times". */
  readonly feeds: string;
}

/**
 * An asynchronous Lambda invocation that failed for good, as the function's on-failure destination
 * recorded it: the message is the record, not the event.
 */
export interface FailedInvocation {
  /** The function as the record names it (Lambda qualifies it: `…:function:<name>:$LATEST`). */
  readonly functionArn: string;
  readonly functionName: string;
  /** Why Lambda gave up: `RetriesExhausted` or `EventAgeExceeded`. */
  readonly condition: string;
  readonly approximateInvokeCount: number;
  /** The last attempt's error, when there was an attempt. */
  readonly errorType?: string;
  readonly errorMessage?: string;
  /** The event the function was invoked with, as JSON: what a redrive invokes it with again. */
  readonly requestPayload: string;
}

export interface DeadLetter {
  readonly messageId: string;
  /** The message as it sits on the DLQ (for an on-failure destination, the whole invocation record). */
  readonly body: string;
  /** SentTimestamp as an ISO instant: when the message entered the DLQ. */
  readonly sentAt?: string;
  readonly receiveCount: number;
  /** Why it failed, where the sender said: Lambda's ErrorCode/ErrorMessage, EventBridge's RULE_ARN, ERROR_CODE… */
  readonly messageAttributes: Readonly<Record<string, string>>;
  /** Present when the message is a Lambda on-failure destination record. */
  readonly failedInvocation?: FailedInvocation;
}

export interface DeadLetterSource {
  /**
   * Up to `max` messages of the queue, left on it (they become visible again shortly): the DLQ stays the
   * record `handoff dlq redrive` moves back, the exception is the owned work item about it.
   */
  peek(queue: DeadLetterQueue, max: number): Promise<DeadLetter[]>;
}
