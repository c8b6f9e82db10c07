import type { LocalCloud } from '../cloud.ts';
import type { LocalQueue } from '../sqs/sqs-service.ts';
import type { PartnerSandbox } from './sandbox.ts';

/** How many messages each partner feed delivered into the cloud. */
export interface FeedCounts {
  /** X12 documents from the EDI gateway's mailbox → EdiInboundQueue. */
  edi: number;
  /** WMS outbound messages (put-aways) → WmsEventsQueue. */
  wms: number;
  /** Vendors' advance ship notices → VendorAsnQueue. */
  vendorAsns: number;
  /** Carrier tracking webhooks POSTed to the CarrierWebhook function URL. */
  carrierWebhooks: number;
}

/** A webhook the function URL did not accept (2xx), kept for tests and the simulation to inspect. */
export interface RefusedWebhook {
  readonly eventId: string;
  readonly status: number;
  readonly body: string;
}

/**
 * The partners' push side: what a VAN, a WMS integration or a vendor portal delivers into Handoff's queues
 * on AWS. It drains each sandbox feed (due messages on the sandbox clock, with the feed's duplicate, late
 * and out-of-order knobs applied) and sends every message to the stack's queue for it, found in the
 * template by construct id; the TMS's tracking webhooks go to the CarrierWebhook function URL, signed with
 * the key from the stack's secret. `pump()` moves what is due now (tests call it); `start()` pumps on a timer.
 */
export class PartnerFeeds {
  readonly delivered: FeedCounts = { edi: 0, wms: 0, vendorAsns: 0, carrierWebhooks: 0 };
  readonly refusedWebhooks: RefusedWebhook[] = [];
  private readonly webhookUrl: string;
  private readonly queues: {
    readonly edi: LocalQueue;
    readonly wms: LocalQueue;
    readonly vendorAsns: LocalQueue;
  };
  private timer: NodeJS.Timeout | undefined;
  private pumping: Promise<FeedCounts> | undefined;

  constructor(
    private readonly cloud: LocalCloud,
    private readonly sandbox: PartnerSandbox,
  ) {
    this.queues = {
      edi: queueOf(cloud, 'EdiInboundQueue'),
      wms: queueOf(cloud, 'WmsEventsQueue'),
      vendorAsns: queueOf(cloud, 'VendorAsnQueue'),
    };
    this.webhookUrl = cloud.functionUrl('CarrierWebhook');
    // The TMS signs with the key Handoff keeps in Secrets Manager, handed over out of band as in production.
    sandbox.tms.webhookSecret = cloud.secrets.value('CarrierWebhookSecret');
  }

  /** Delivers every message due now; concurrent calls share one pass. */
  pump(): Promise<FeedCounts> {
    this.pumping ??= this.pass().finally(() => {
      this.pumping = undefined;
    });
    return this.pumping;
  }

  /** Pumps every `intervalMs` of real time until `stop()`. */
  start(intervalMs = 200): void {
    this.timer ??= setInterval(() => {
      void this.pump().catch((error: unknown) => {
        console.error('partner feeds: delivery failed, retrying on the next pass', error);
      });
    }, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.pumping;
  }

  private async pass(): Promise<FeedCounts> {
    const batch = {
      edi: this.sandbox.edi.drainInbound().map((document) => JSON.stringify(document)),
      wms: this.sandbox.wms.drainEvents().map((message) => JSON.stringify(message)),
      vendorAsns: this.sandbox.vendor.drainAsns().map((notice) => JSON.stringify(notice)),
    };
    const webhooks = this.sandbox.tms.drainWebhooks();
    const sent: FeedCounts = { edi: 0, wms: 0, vendorAsns: 0, carrierWebhooks: 0 };
    for (const feed of ['edi', 'wms', 'vendorAsns'] as const) {
      // In order within a feed, as one partner connection delivers; the feeds' own knobs reorder.
      for (const body of batch[feed]) {
        await this.cloud.sqs.send(this.queues[feed].arn, body);
        sent[feed] += 1;
        this.delivered[feed] += 1;
      }
    }
    // The TMS POSTs each webhook itself, signed over the raw body; what is refused is kept, not retried.
    for (const webhook of webhooks) {
      const response = await fetch(this.webhookUrl, {
        method: 'POST',
        headers: webhook.headers,
        body: webhook.body,
      });
      const body = await response.text();
      if (!response.ok)
        this.refusedWebhooks.push({ eventId: webhook.eventId, status: response.status, body });
      sent.carrierWebhooks += 1;
      this.delivered.carrierWebhooks += 1;
    }
    return sent;
  }
}

function queueOf(cloud: LocalCloud, id: string): LocalQueue {
  const queue = [...cloud.sqs.queues.values()].find((q) =>
    new RegExp(`^${id}[0-9A-F]{8}$`).test(q.resource.logicalId),
  );
  if (!queue) throw new Error(`the template has no ${id}: synthesize the app before starting the feeds`);
  return queue;
}
