import type { LocalCloud } from '../cloud.ts';
import type { LocalQueue } from '../sqs/sqs-service.ts';
import type { PartnerSandbox } from './sandbox.ts';
import type { TrackingWebhook } from './tms.ts';

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
  /** The answer's status; 0 when the POST got no answer at all. */
  readonly status: number;
  readonly body: string;
  /** How many times the TMS POSTed it. */
  readonly attempts: number;
}

/** How many times the TMS POSTs a webhook Handoff answers 5xx (or not at all) before giving up on it. */
export const WEBHOOK_ATTEMPTS = 5;

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
  /** Webhooks answered 5xx or not answered, POSTed again on the next pass (as a TMS retries with backoff). */
  private readonly retrying: { readonly webhook: TrackingWebhook; readonly attempts: number }[] = [];
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
    const webhooks = [
      ...this.retrying.splice(0),
      ...this.sandbox.tms.drainWebhooks().map((webhook) => ({ webhook, attempts: 0 })),
    ];
    const sent: FeedCounts = { edi: 0, wms: 0, vendorAsns: 0, carrierWebhooks: 0 };
    for (const feed of ['edi', 'wms', 'vendorAsns'] as const) {
      // In order within a feed, as one partner connection delivers; the feeds' own knobs reorder. One message
      // a request, deliberately: ten to a request delivered a carrier cut-off's thousand ship confirmations at
      // once, and the local cloud then ran a thousand invocations side by side in one process, each taking
      // seconds of real time; the meter bills real duration, so the week's Lambda GB-seconds came out 23 times
      // AWS's (one environment per invocation) and concurrency 10 times its quota.
      for (const body of batch[feed]) {
        await this.cloud.sqs.send(this.queues[feed].arn, body);
        sent[feed] += 1;
        this.delivered[feed] += 1;
      }
    }
    // The TMS POSTs each webhook itself, signed over the raw body. A 4xx is final (kept, not resent); a 5xx
    // or no answer is POSTed again on the next pass, up to WEBHOOK_ATTEMPTS times, as carriers' TMSs do.
    for (const { webhook, attempts } of webhooks) {
      const answer = await fetch(this.webhookUrl, {
        method: 'POST',
        headers: webhook.headers,
        body: webhook.body,
      }).then(
        async (response) => ({ status: response.status, body: await response.text() }),
        (error: unknown) => ({ status: 0, body: String(error) }),
      );
      const tried = attempts + 1;
      if (answer.status >= 500 || answer.status === 0) {
        if (tried < WEBHOOK_ATTEMPTS) this.retrying.push({ webhook, attempts: tried });
        else this.refusedWebhooks.push({ eventId: webhook.eventId, ...answer, attempts: tried });
      } else if (answer.status >= 300) {
        this.refusedWebhooks.push({ eventId: webhook.eventId, ...answer, attempts: tried });
      }
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
