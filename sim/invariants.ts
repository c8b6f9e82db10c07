/**
 * What must hold after any run, faults or not, checked from what the run left behind: the order and
 * exception tables, the bus archive, and what the partners recorded. `checkInvariants` is pure; the
 * simulation gathers the facts.
 */

export interface LineQuantity {
  readonly lineNo: number;
  readonly quantity: number;
}

export interface OrderFact {
  readonly stage: string;
  /** The order's lines as Handoff recorded them: what may be released to the warehouse, at most. */
  readonly lines?: readonly LineQuantity[];
}

export interface ExceptionFact {
  readonly orderId: string;
  readonly state: 'open' | 'resolved';
  readonly type: string;
  readonly ownerTeam: string;
}

export interface InvariantFacts {
  /** Every order the sources sent (ERP sales orders and EDI purchase orders), by Handoff's order id. */
  readonly sent: readonly string[];
  readonly orders: ReadonlyMap<string, OrderFact>;
  /** Every exception raised in the run, by id. */
  readonly exceptions: ReadonlyMap<string, ExceptionFact>;
  /**
   * Orders resting on something durable that will move them without anyone acting: a running execution
   * in its release-window wait, an open backorder in the backorder book (a receipt re-evaluates it, the
   * ageing sweep escalates it), a warehouse order not yet collected or a WMS confirmation still to come (the
   * release→ship-confirmation SLA clock runs on both). Value: what it waits for.
   */
  readonly waiting: ReadonlyMap<string, string>;
  /** Orders refused at an ingress (`order.rejected` with the rule broken): never accepted. */
  readonly rejectedAtIngress: ReadonlySet<string>;
  /** Side effects at the partners. */
  readonly warehouseReleases: readonly {
    readonly orderId: string;
    readonly facility: string;
    readonly lines: readonly LineQuantity[];
  }[];
  readonly carrierBookings: readonly { readonly orderId: string }[];
  readonly invoices: readonly { readonly orderId: string; readonly shipmentId: string }[];
  /** `<orderId>|<shipmentId>` of every shipment.confirmed on the bus: the proof of shipment. */
  readonly confirmedShipments: ReadonlySet<string>;
  /** Extra deliveries the fault profile injected, and the duplicates Handoff recognised and absorbed. */
  readonly duplicatesInjected: number;
  readonly idempotencyHits: number;
  /** The same two figures broken down: copies delivered per edge, and recognitions per function that logged them. */
  readonly duplicatesByEdge?: Readonly<Record<string, number>>;
  readonly hitsByFunction?: Readonly<Record<string, number>>;
  /** Copies of WMS ship confirmations and vendor ASNs that no log line of their order recognised. */
  readonly unrecognisedCopies?: readonly string[];
  /** Messages that reached a DLQ in the run, and those filed as owned exceptions. */
  readonly deadLetters: { readonly messages: number; readonly owned: number };
  /** The redrive drill, when the profile ran it: the orders it was for, and where each ended. */
  readonly redrive?: { readonly orders: readonly string[]; readonly redriven: number };
}

export interface InvariantResult {
  readonly name: string;
  readonly ok: boolean;
  /** The figures behind the verdict, in the order they read best. */
  readonly counts: Readonly<Record<string, number>>;
  /** Up to ten examples of what broke it. */
  readonly examples: readonly string[];
}

const TERMINAL = new Set(['closed', 'rejected']);
const EXAMPLES = 10;

export function checkInvariants(facts: InvariantFacts): InvariantResult[] {
  const openByOrder = new Map<string, number>();
  for (const e of facts.exceptions.values())
    if (e.state === 'open') openByOrder.set(e.orderId, (openByOrder.get(e.orderId) ?? 0) + 1);

  // 1. Nothing lost: every order sent ends terminal, or sits in an owned open exception, or was refused at
  //    the edge with its reason (and quarantined).
  let terminal = 0;
  let inException = 0;
  let refused = 0;
  let waiting = 0;
  const lost: string[] = [];
  for (const orderId of new Set(facts.sent)) {
    const order = facts.orders.get(orderId);
    if (!order) {
      if (facts.rejectedAtIngress.has(orderId) || (openByOrder.get(orderId) ?? 0) > 0) refused += 1;
      else lost.push(`${orderId}: never recorded and not refused`);
      continue;
    }
    if (TERMINAL.has(order.stage)) terminal += 1;
    else if ((openByOrder.get(orderId) ?? 0) > 0) inException += 1;
    else if (facts.waiting.has(orderId)) waiting += 1;
    else lost.push(`${orderId}: ${order.stage} with no open exception`);
  }
  const zeroLost: InvariantResult = {
    name: 'every accepted order ends terminal, in an owned open exception, or scheduled (zero lost)',
    ok: lost.length === 0,
    counts: {
      sent: new Set(facts.sent).size,
      terminal,
      'in an open exception': inException,
      'scheduled (release window, receipt, warehouse)': waiting,
      'refused at the edge': refused,
      lost: lost.length,
    },
    examples: lost.slice(0, EXAMPLES),
  };

  // 2. No duplicate side effects, no invoice without proof of shipment.
  const duplicates: string[] = [];
  const countBy = <T>(items: readonly T[], key: (item: T) => string) => {
    const counts = new Map<string, number>();
    for (const item of items) counts.set(key(item), (counts.get(key(item)) ?? 0) + 1);
    return counts;
  };
  // A release twice is the same lines at the same facility again, or more of a line than was ordered (a
  // backorder filled later is a further release of the line's remainder, which is neither).
  const linesKey = (lines: readonly LineQuantity[]) =>
    [...lines]
      .sort((a, b) => a.lineNo - b.lineNo)
      .map((l) => `${l.lineNo}×${l.quantity}`)
      .join(',');
  for (const [key, n] of countBy(
    facts.warehouseReleases,
    (r) => `${r.orderId} at ${r.facility}|${linesKey(r.lines)}`,
  ))
    if (n > 1) duplicates.push(`${key.split('|')[0]} released to the warehouse ${n} times`);
  const released = new Map<string, Map<number, number>>();
  for (const r of facts.warehouseReleases) {
    const byLine = released.get(r.orderId) ?? new Map<number, number>();
    released.set(r.orderId, byLine);
    for (const l of r.lines) byLine.set(l.lineNo, (byLine.get(l.lineNo) ?? 0) + l.quantity);
  }
  for (const [orderId, byLine] of released) {
    const ordered = facts.orders.get(orderId)?.lines;
    if (!ordered) continue;
    for (const [lineNo, quantity] of byLine) {
      const limit = ordered.find((l) => l.lineNo === lineNo)?.quantity ?? 0;
      if (quantity > limit)
        duplicates.push(`${orderId} line ${lineNo}: ${quantity} released to the warehouse, ${limit} ordered`);
    }
  }
  for (const [key, n] of countBy(facts.carrierBookings, (b) => b.orderId))
    if (n > 1) duplicates.push(`${key} booked with a carrier ${n} times`);
  for (const [key, n] of countBy(facts.invoices, (i) => `${i.orderId} shipment ${i.shipmentId}`))
    if (n > 1) duplicates.push(`${key} invoiced ${n} times`);
  const unproven = facts.invoices.filter(
    (i) => !facts.confirmedShipments.has(`${i.orderId}|${i.shipmentId}`),
  );
  const noDuplicates: InvariantResult = {
    name: 'no order shipped, booked or invoiced twice, none invoiced without proof of shipment',
    ok: duplicates.length === 0 && unproven.length === 0,
    counts: {
      'warehouse releases': facts.warehouseReleases.length,
      'carrier bookings': facts.carrierBookings.length,
      invoices: facts.invoices.length,
      duplicates: duplicates.length,
      'invoices without proof of shipment': unproven.length,
    },
    examples: [
      ...duplicates,
      ...unproven.map((i) => `${i.orderId} invoiced for shipment ${i.shipmentId} never confirmed`),
    ].slice(0, EXAMPLES),
  };

  // 3. Every injected duplicate was recognised as one.
  const idempotency: InvariantResult = {
    name: 'idempotency hits equal the duplicates injected',
    ok: facts.idempotencyHits === facts.duplicatesInjected,
    counts: { 'duplicates injected': facts.duplicatesInjected, 'idempotency hits': facts.idempotencyHits },
    examples:
      facts.idempotencyHits === facts.duplicatesInjected
        ? []
        : [
            `${facts.duplicatesInjected - facts.idempotencyHits} duplicate(s) not recognised as such`,
            ...(facts.duplicatesByEdge
              ? [`delivered twice, by edge: ${breakdown(facts.duplicatesByEdge)}`]
              : []),
            ...(facts.hitsByFunction ? [`recognised, by function: ${breakdown(facts.hitsByFunction)}`] : []),
            ...(facts.unrecognisedCopies ?? []).slice(0, EXAMPLES).map((copy) => `not recognised: ${copy}`),
          ],
  };

  // 4. Dead letters are owned, and a redrive completes their orders.
  // A redriven order completes the step it died in (its path runs) and then ends like any other order:
  // terminal, scheduled, or in an owned open exception of its own (e.g. no carrier can take it).
  const notCompleted = (facts.redrive?.orders ?? []).filter((id) => {
    const stage = facts.orders.get(id)?.stage;
    if (stage === undefined || stage === 'received') return true;
    return !TERMINAL.has(stage) && !facts.waiting.has(id) && (openByOrder.get(id) ?? 0) === 0;
  });
  const deadLetters: InvariantResult = {
    name: 'every DLQ message is an owned exception; after dlq redrive the affected orders complete',
    ok: facts.deadLetters.owned >= facts.deadLetters.messages && notCompleted.length === 0,
    counts: {
      'dead letters': facts.deadLetters.messages,
      'owned exceptions': facts.deadLetters.owned,
      ...(facts.redrive
        ? {
            'orders redriven': facts.redrive.orders.length,
            'messages redriven': facts.redrive.redriven,
            'not completed': notCompleted.length,
          }
        : {}),
    },
    examples: [
      ...(facts.deadLetters.owned < facts.deadLetters.messages
        ? [`${facts.deadLetters.messages - facts.deadLetters.owned} dead letter(s) with no exception`]
        : []),
      ...notCompleted.map(
        (id) => `${id} still ${facts.orders.get(id)?.stage ?? 'unrecorded'} after the redrive`,
      ),
    ].slice(0, EXAMPLES),
  };

  return [zeroLost, noDuplicates, idempotency, deadLetters];
}

/** One line per invariant with its counts, then the examples of any that failed. */
export function formatInvariants(results: readonly InvariantResult[]): string {
  const lines: string[] = [];
  for (const r of results) {
    const counts = Object.entries(r.counts)
      .map(([k, v]) => `${k} ${v.toLocaleString('en-US')}`)
      .join(', ');
    lines.push(`${r.ok ? 'PASS' : 'FAIL'}  ${r.name}`);
    lines.push(`      ${counts}`);
    for (const example of r.examples) lines.push(`      - ${example}`);
  }
  return lines.join('\n');
}

function breakdown(counts: Readonly<Record<string, number>>): string {
  return Object.entries(counts)
    .map(([name, n]) => `${name} ${n}`)
    .join(', ');
}
