/**
 * Named errors for everything that crosses a port. `name` is what Step Functions Retry/Catch match on,
 * so it must equal the class name and never change; `retryable` tells callers whether to try again.
 */
export abstract class HandoffError extends Error {
  abstract readonly retryable: boolean;
}

/** The partner did not answer in time, refused the connection, throttled us or answered 5xx. */
export class PartnerUnavailable extends HandoffError {
  override readonly name = 'PartnerUnavailable';
  readonly retryable = true;
  constructor(
    readonly partner: string,
    message: string,
    readonly status?: number,
  ) {
    super(`${partner}: ${message}`);
  }
}

/** The partner understood the request and refused it (4xx other than 408/429). Retrying cannot help. */
export class PartnerRejected extends HandoffError {
  override readonly name = 'PartnerRejected';
  readonly retryable = false;
  constructor(
    readonly partner: string,
    message: string,
    readonly status: number,
  ) {
    super(`${partner}: ${message}`);
  }
}

/** The partner answered 2xx with a body that does not match what we expect from it. */
export class PartnerContractBroken extends HandoffError {
  override readonly name = 'PartnerContractBroken';
  readonly retryable = false;
  constructor(
    readonly partner: string,
    message: string,
  ) {
    super(`${partner}: ${message}`);
  }
}

export class OrderNotFound extends HandoffError {
  override readonly name = 'OrderNotFound';
  readonly retryable = false;
  constructor(readonly orderId: string) {
    super(`order ${orderId} has no record in the order table`);
  }
}

/** Another writer moved the order on first (optimistic lock). Retrying re-reads the record. */
export class ConcurrentOrderUpdate extends HandoffError {
  override readonly name = 'ConcurrentOrderUpdate';
  readonly retryable = true;
  constructor(
    readonly orderId: string,
    readonly expectedVersion: number,
  ) {
    super(`order ${orderId} changed since version ${expectedVersion}`);
  }
}

/** The order is not in a stage from which this step may run (a late or duplicated step). */
export class IllegalStageTransition extends HandoffError {
  override readonly name = 'IllegalStageTransition';
  readonly retryable = false;
  constructor(
    readonly orderId: string,
    readonly from: string,
    readonly to: string,
  ) {
    super(`order ${orderId} cannot move from ${from} to ${to}`);
  }
}

/** EventBridge refused some entries of a PutEvents call. */
export class EventPublishFailed extends HandoffError {
  override readonly name = 'EventPublishFailed';
  readonly retryable = true;
  constructor(readonly failures: readonly { detailType: string; code?: string; message?: string }[]) {
    super(
      `EventBridge rejected ${failures.length} event(s): ${failures.map((f) => `${f.detailType} ${f.code ?? ''} ${f.message ?? ''}`.trim()).join('; ')}`,
    );
  }
}

export class ConfigurationError extends HandoffError {
  override readonly name = 'ConfigurationError';
  readonly retryable = false;
}

export class ExceptionNotFound extends HandoffError {
  override readonly name = 'ExceptionNotFound';
  readonly retryable = false;
  constructor(readonly exceptionId: string) {
    super(`exception ${exceptionId} has no record in the exception table`);
  }
}

/** A decision that names a missing or malformed field; `field` and `rule` say which and why. */
export class InvalidDecision extends HandoffError {
  override readonly name = 'InvalidDecision';
  readonly retryable = false;
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field} ${rule}`);
  }
}

/**
 * A decision on an exception that is already resolved: the first decision stands and nothing changed. Only
 * an exact repeat of that decision (same decision, person and reason: a retried invoke) is answered with the
 * first result instead; any other second decision, the same or another outcome, by anyone, is this error.
 */
export class ExceptionAlreadyResolved extends HandoffError {
  override readonly name = 'ExceptionAlreadyResolved';
  readonly retryable = false;
  constructor(
    readonly exceptionId: string,
    /** The decision that resolved it: how it closed, who, when and why. */
    readonly resolved: { closedAs: string; decidedBy: string; decidedAt: string; reason: string },
    /** The decision that was refused. */
    readonly refused: { decision: string; decidedBy: string },
  ) {
    super(
      `${exceptionId} was already ${resolved.closedAs} by ${resolved.decidedBy} at ${resolved.decidedAt} (reason: ${resolved.reason}); ${refused.decidedBy}'s ${refused.decision} was refused and nothing changed`,
    );
  }
}

/**
 * A decision on an open exception whose order no longer waits on it: the decision step failed and the
 * order was parked under another exception (or moved on). Nothing is changed; the message says where to go.
 */
export class DecisionNotApplicable extends HandoffError {
  override readonly name = 'DecisionNotApplicable';
  readonly retryable = false;
  constructor(
    readonly exceptionId: string,
    readonly orderId: string,
    readonly orderStage: string,
  ) {
    super(
      `exception ${exceptionId} cannot be decided: order ${orderId} is no longer waiting on it (it is at stage '${orderStage}'); work the order's open exception instead, nothing was changed`,
    );
  }
}

/** A path step received input its state machine should never send: names the field and the rule. */
export class InvalidStepInput extends HandoffError {
  override readonly name = 'InvalidStepInput';
  readonly retryable = false;
  constructor(
    readonly field: string,
    readonly rule: string,
  ) {
    super(`${field} ${rule}`);
  }
}

/** The EDI path was asked to acknowledge an order that did not come from an 850. Permanent. */
export class NotAnEdiOrder extends HandoffError {
  override readonly name = 'NotAnEdiOrder';
  readonly retryable = false;
  constructor(
    readonly orderId: string,
    readonly sourceSystem: string,
  ) {
    super(
      `order ${orderId} came from ${sourceSystem}, not from an EDI 850: it has no partner to acknowledge`,
    );
  }
}

/** An EDI order without its stored partner identifiers: the 850 ingestion never recorded them. Permanent. */
export class PurchaseOrderReferenceMissing extends HandoffError {
  override readonly name = 'PurchaseOrderReferenceMissing';
  readonly retryable = false;
  constructor(readonly orderId: string) {
    super(`EDI order ${orderId} has no stored purchase order reference (partner, PO line ids)`);
  }
}

/** The partner an order came from is no longer in the trading partner configuration. Permanent. */
export class TradingPartnerNotConfigured extends HandoffError {
  override readonly name = 'TradingPartnerNotConfigured';
  readonly retryable = false;
  constructor(
    readonly orderId: string,
    readonly partnerId: string,
  ) {
    super(`order ${orderId} came from trading partner ${partnerId}, which has no profile any more`);
  }
}

/** The issued invoice cannot be expressed as an 810 of the order's prices (a tax, another currency). */
export class EdiInvoiceMismatch extends HandoffError {
  override readonly name = 'EdiInvoiceMismatch';
  readonly retryable = false;
  constructor(
    readonly orderId: string,
    readonly invoiceId: string,
    reason: string,
  ) {
    super(`invoice ${invoiceId} of order ${orderId} cannot be sent as an 810: ${reason}`);
  }
}

/** A later step asked about a shipment RecordShipment never recorded for the order. Permanent. */
export class ShipmentNotRecorded extends HandoffError {
  override readonly name = 'ShipmentNotRecorded';
  readonly retryable = false;
  constructor(
    readonly orderId: string,
    readonly shipmentId: string,
  ) {
    super(`order ${orderId} has no recorded shipment ${shipmentId}`);
  }
}

/** A line on the drop-ship path that is not drop-shipped, or whose item has no vendor. Permanent. */
export class UnsourcedDropShipLine extends HandoffError {
  override readonly name = 'UnsourcedDropShipLine';
  readonly retryable = false;
  constructor(
    readonly orderId: string,
    readonly lineNo: number,
    readonly sku: string,
    readonly rule: string,
  ) {
    super(`order ${orderId} line ${lineNo} (${sku}) ${rule}`);
  }
}

/** An SLA clock changed between read and write (a concurrent event or detector run). Retryable. */
export class ConcurrentClockUpdate extends HandoffError {
  override readonly name = 'ConcurrentClockUpdate';
  readonly retryable = true;
  constructor(
    readonly orderId: string,
    readonly clockKey: string,
  ) {
    super(`SLA clock ${clockKey} of order ${orderId} changed while it was being updated`);
  }
}

/**
 * The WMS refused a reservation for lack of stock that its availability showed a moment before: another
 * order took it in between. Retryable: a fresh availability read plans around it.
 */
export class StockMovedDuringReservation extends HandoffError {
  override readonly name = 'StockMovedDuringReservation';
  readonly retryable = true;
  constructor(
    readonly siteId: string,
    readonly detail: string,
  ) {
    super(`the WMS could not reserve at ${siteId} what its availability showed: ${detail}`);
  }
}
