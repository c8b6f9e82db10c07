import { toPutEventsEntry } from '../../contracts/events.ts';
import type { CanonicalEvent, EventPublisher } from '../../lambdas/ports/index.ts';

/**
 * Event publisher for tests at the port boundary: every event is checked against its contract exactly as
 * the EventBridge adapter does (toPutEventsEntry), then kept in order for assertions.
 */
export class RecordingPublisher implements EventPublisher {
  readonly published: CanonicalEvent[] = [];

  async publish(events: readonly CanonicalEvent[]): Promise<void> {
    for (const event of events) toPutEventsEntry(event.name, event.detail, 'test-bus');
    this.published.push(...events);
  }

  namesFor(orderId: string): string[] {
    return this.published.filter((e) => e.detail.orderId === orderId).map((e) => e.name);
  }

  get all(): readonly CanonicalEvent[] {
    return this.published;
  }

  /** The detail of the first `name` event about the order (a shortcut for assertions). */
  detailOf(orderId: string, name: CanonicalEvent['name']): Record<string, unknown> | undefined {
    return this.find(orderId, name)?.detail as Record<string, unknown> | undefined;
  }

  find<N extends CanonicalEvent['name']>(orderId: string, name: N): CanonicalEvent<N> | undefined {
    return this.published.find((e) => e.detail.orderId === orderId && e.name === name) as
      | CanonicalEvent<N>
      | undefined;
  }
}
