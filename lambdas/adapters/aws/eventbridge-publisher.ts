import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { toPutEventsEntry } from '../../../contracts/events.ts';
import type { CanonicalEvent, EventPublisher } from '../../ports/index.ts';
import { EventPublishFailed } from '../../shared/errors.ts';

/** PutEvents accepts at most 10 entries per call. */
const MAX_ENTRIES = 10;

/**
 * Publishes canonical events to the fulfilment bus. Every detail is validated against its contract before
 * it leaves (a producer bug fails here, not in a consumer), and partially failed batches are raised.
 */
export class EventBridgePublisher implements EventPublisher {
  constructor(
    private readonly client: EventBridgeClient,
    private readonly eventBusName: string,
  ) {}

  async publish(events: readonly CanonicalEvent[]): Promise<void> {
    const entries = events.map((event) => toPutEventsEntry(event.name, event.detail, this.eventBusName));
    for (let start = 0; start < entries.length; start += MAX_ENTRIES) {
      const batch = entries.slice(start, start + MAX_ENTRIES);
      const result = await this.client.send(new PutEventsCommand({ Entries: batch }));
      if ((result.FailedEntryCount ?? 0) > 0) {
        const failures = (result.Entries ?? []).flatMap((entry, index) =>
          entry.ErrorCode
            ? [
                {
                  detailType: batch[index]?.DetailType ?? '?',
                  code: entry.ErrorCode,
                  message: entry.ErrorMessage,
                },
              ]
            : [],
        );
        throw new EventPublishFailed(failures);
      }
    }
  }
}
