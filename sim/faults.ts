import type { LocalCloud } from '../local/cloud.ts';
import type { PartnerName } from '../local/partners/framework.ts';
import type { PartnerSandbox } from '../local/partners/sandbox.ts';

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** What a profile does, each part switched on for a window of virtual time (offsets from the week's start). */
export interface FaultProfile {
  readonly name: string;
  readonly description: string;
  /** Partners answering errors at a rate. */
  readonly adapterErrors?: { readonly rate: number; readonly from: number; readonly to: number };
  /** Share of partner deliveries (webhooks, WMS/EDI/vendor feeds) and ERP messages delivered twice. */
  readonly duplicates?: { readonly rate: number };
  /** Added latency on a share of WMS calls. */
  readonly wmsLatency?: {
    readonly ms: number;
    readonly share: number;
    readonly from: number;
    readonly to: number;
  };
  /** The TMS (carrier bookings) down. */
  readonly carrierOutage?: { readonly from: number; readonly to: number };
  /** One order in `every` crashes the order router (a data-triggered defect) until the drill's fix. */
  readonly poisonPill?: { readonly every: number };
  /** Arrivals from nothing to `factor` × the mean rate for `minutes`. */
  readonly burst?: { readonly at: number; readonly minutes: number; readonly factor: number };
  /** After the week: the defect is fixed, dead letters are redriven with `handoff dlq redrive`. */
  readonly redriveDrill?: boolean;
}

/** Monday 14:00 UTC: the peak day's busiest hours. */
const PEAK = 14 * HOUR;

export const FAULT_PROFILES: Readonly<Record<string, FaultProfile>> = {
  none: { name: 'none', description: 'no injected faults' },
  'adapter-errors': {
    name: 'adapter-errors',
    description: '20% of calls to every partner fail for two hours of the peak day',
    adapterErrors: { rate: 0.2, from: PEAK, to: PEAK + 2 * HOUR },
  },
  duplicates: {
    name: 'duplicates',
    description: '10% of partner webhooks, feed messages and ERP messages delivered twice',
    duplicates: { rate: 0.1 },
  },
  'wms-latency': {
    name: 'wms-latency',
    description: '+5 s on half of the WMS calls for an hour of the peak day',
    wmsLatency: { ms: 5000, share: 0.5, from: PEAK + HOUR, to: PEAK + 2 * HOUR },
  },
  'carrier-outage': {
    name: 'carrier-outage',
    description: 'the TMS and its carriers unreachable for two hours',
    carrierOutage: { from: PEAK + 3 * HOUR, to: PEAK + 5 * HOUR },
  },
  'poison-pill': {
    name: 'poison-pill',
    description: 'one order in every 1,000 crashes the order router',
    poisonPill: { every: 1000 },
  },
  burst: {
    name: 'burst',
    description: 'arrivals from nothing to 10× the mean rate for 30 minutes',
    burst: { at: DAY + 15 * HOUR, minutes: 30, factor: 10 },
  },
  'redrive-drill': {
    name: 'redrive-drill',
    description: 'poison pills dead-lettered, the defect fixed, then `handoff dlq redrive`',
    poisonPill: { every: 1000 },
    redriveDrill: true,
  },
};

/** `npm start`'s week: every fault at once, with the drill at the end. */
export const DEFAULT_PROFILE: FaultProfile = {
  name: 'default',
  description:
    'all of: adapter errors, duplicates, WMS latency, a carrier outage, poison pills, a burst, the redrive drill',
  adapterErrors: FAULT_PROFILES['adapter-errors']?.adapterErrors,
  duplicates: FAULT_PROFILES.duplicates?.duplicates,
  // The whole hour: a slowed call is slow in virtual time and costs the run no real time.
  wmsLatency: FAULT_PROFILES['wms-latency']?.wmsLatency,
  carrierOutage: FAULT_PROFILES['carrier-outage']?.carrierOutage,
  poisonPill: { every: 1000 },
  burst: FAULT_PROFILES.burst?.burst,
  redriveDrill: true,
};

export function faultProfile(name: string): FaultProfile {
  if (name === 'default') return DEFAULT_PROFILE;
  const profile = FAULT_PROFILES[name];
  if (!profile) {
    throw new Error(
      `unknown fault profile '${name}': use default, ${Object.keys(FAULT_PROFILES).join(', ')}`,
    );
  }
  return profile;
}

const PARTNERS: readonly PartnerName[] = ['erp', 'wms', 'tms', 'crm', 'finance', 'vendor', 'edi'];

/** Counts of what was injected, for the invariants. */
export interface InjectedFaults {
  duplicateDeliveries: number;
  poisonOrders: string[];
}

/**
 * Applies a profile to the world as virtual time passes: knobs on the partner sandboxes, duplicate
 * deliveries on their feeds, and a data-triggered defect in the order router for poison-pill orders.
 */
export class FaultInjector {
  readonly injected: InjectedFaults = { duplicateDeliveries: 0, poisonOrders: [] };
  private readonly poison = new Set<string>();
  private poisonFault: { clear(): void } | undefined;
  private errorsOn = false;
  private latencyOn = false;

  constructor(
    readonly profile: FaultProfile,
    private readonly sandbox: PartnerSandbox,
    cloud: LocalCloud,
    private readonly weekStart: number,
  ) {
    if (profile.carrierOutage) {
      this.sandbox.faults.set('tms', {
        outages: [
          {
            from: new Date(weekStart + profile.carrierOutage.from).toISOString(),
            to: new Date(weekStart + profile.carrierOutage.to).toISOString(),
          },
        ],
      });
    }
    if (profile.duplicates) {
      const knobs = { duplicateRate: profile.duplicates.rate };
      sandbox.wms.events.knobs = knobs;
      sandbox.edi.inbound.knobs = knobs;
      sandbox.vendor.asns.knobs = knobs;
      sandbox.tms.webhooks.knobs = knobs;
    }
    if (profile.poisonPill) {
      const poison = this.poison;
      const routerId = 'OrderRouterFunction';
      this.poisonFault = cloud.lambda.injectFault({
        logicalId: routerId,
        when: (event) => poison.has(String((event as { detail?: { orderId?: unknown } }).detail?.orderId)),
        errorType: 'PoisonOrder',
        errorMessage: 'order router crashed on this order (simulated data-triggered defect)',
        times: Number.POSITIVE_INFINITY,
      });
    }
  }

  /** Marks the poison-pill orders among the week's arrivals (every n-th, deterministic). */
  choosePoison(orderIds: readonly string[]): void {
    const every = this.profile.poisonPill?.every;
    if (!every) return;
    for (let i = every - 1; i < orderIds.length; i += every) {
      const id = orderIds[i];
      if (id && !id.startsWith('EDI-')) {
        this.poison.add(id);
        this.injected.poisonOrders.push(id);
      }
    }
  }

  /** Whether to deliver this ERP message twice (SQS redelivery). */
  duplicateErpMessage(draw: number): boolean {
    const rate = this.profile.duplicates?.rate ?? 0;
    if (draw < rate) {
      this.injected.duplicateDeliveries += 1;
      return true;
    }
    return false;
  }

  /** Switches windowed faults on and off for virtual instant `now`. */
  tick(now: number): void {
    const at = now - this.weekStart;
    const errors = this.profile.adapterErrors;
    const errorsWanted = !!errors && at >= errors.from && at < errors.to;
    if (errorsWanted !== this.errorsOn) {
      this.errorsOn = errorsWanted;
      for (const partner of PARTNERS) {
        if (partner === 'tms' && this.profile.carrierOutage) continue;
        if (errorsWanted) this.sandbox.faults.set(partner, { errorRate: errors?.rate ?? 0 });
        else this.sandbox.faults.delete(partner);
      }
    }
    const latency = this.profile.wmsLatency;
    const latencyWanted = !!latency && at >= latency.from && at < latency.to;
    if (latencyWanted !== this.latencyOn) {
      this.latencyOn = latencyWanted;
      if (latencyWanted)
        this.sandbox.faults.set('wms', { latencyMs: latency?.ms ?? 0, latencyRate: latency?.share ?? 1 });
      else this.sandbox.faults.delete('wms');
    }
  }

  /** The drill's fix: the defect is gone, so a redrive can succeed. */
  fixDefect(): void {
    this.poisonFault?.clear();
    this.poisonFault = undefined;
  }

  /** Duplicates the sandboxes' feeds added, as they report them. */
  feedDuplicates(): number {
    const { erp: _erp, ...feeds } = this.duplicatesByEdge();
    return Object.values(feeds).reduce((sum, n) => sum + n, 0);
  }

  /** The order each delivered copy of a WMS message or vendor ASN concerns (a receipt concerns none). */
  copiedOrders(): { readonly edge: 'wms' | 'vendorAsns'; readonly orderId: string }[] {
    return [
      ...this.sandbox.wms.events.copies.flatMap((event) =>
        event.eventType === 'order.shipped' ? [{ edge: 'wms' as const, orderId: event.orderReference }] : [],
      ),
      ...this.sandbox.vendor.asns.copies.map((notice) => ({
        edge: 'vendorAsns' as const,
        orderId: notice.buyerReference,
      })),
    ];
  }

  /** Duplicates delivered on each edge: ERP messages (SQS redelivery) and each partner feed. */
  duplicatesByEdge(): Readonly<Record<'erp' | 'wms' | 'edi' | 'vendorAsns' | 'carrierWebhooks', number>> {
    return {
      erp: this.injected.duplicateDeliveries,
      wms: this.sandbox.wms.events.duplicated,
      edi: this.sandbox.edi.inbound.duplicated,
      vendorAsns: this.sandbox.vendor.asns.duplicated,
      carrierWebhooks: this.sandbox.tms.webhooks.duplicated,
    };
  }
}
