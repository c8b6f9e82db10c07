/** The ports of dead-letter intake: the DLQs Handoff owns, read without taking the messages off them. */

export interface DeadLetterQueue {
  /** Construct id of the queue (e.g. ErpIngressDlq): how operators and `handoff dlq` name it. */
  readonly name: string;
  readonly url: string;
  readonly arn: string;
  /** What lands in it, in words: "ERP sales orders that failed ingestion 5 times". */
  readonly feeds: string;
}

export interface DeadLetter {
  readonly messageId: string;
  readonly body: string;
  /** SentTimestamp as an ISO instant: when the message entered the DLQ. */
  readonly sentAt?: string;
  readonly receiveCount: number;
  /** Why it failed, where the sender said: Lambda's ErrorCode/ErrorMessage, EventBridge's RULE_ARN, ERROR_CODE… */
  readonly messageAttributes: Readonly<Record<string, string>>;
}

export interface DeadLetterSource {
  /**
   * Up to `max` messages of the queue, left on it (they become visible again shortly): the DLQ stays the
   * record `handoff dlq redrive` moves back, the exception is the owned work item about it.
   */
  peek(queue: DeadLetterQueue, max: number): Promise<DeadLetter[]>;
}
