import { CfnOutput, Duration, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as cloudwatchActions from 'aws-cdk-lib/aws-cloudwatch-actions';
import * as events from 'aws-cdk-lib/aws-events';
import * as targets from 'aws-cdk-lib/aws-events-targets';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import * as sqsLib from 'aws-cdk-lib/aws-sqs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { EVENT_CATALOGUE } from '../contracts/events.ts';
import { OWNER_TEAMS, type FulfilmentPath as PathName } from '../contracts/vocabulary.ts';
import { METRICS_NAMESPACE, SLA_METRICS_SERVICE } from '../lambdas/adapters/aws/powertools-sla-metrics.ts';
import { DEFAULT_SLA_POLICY, type SlaPolicy } from '../lambdas/core/sla.ts';
import { FulfilmentPath } from './constructs/fulfilment-path.ts';
import { HandoffFunction } from './constructs/handoff-function.ts';
import { Observability } from './constructs/observability.ts';
import { bindTable, type TableAction } from './constructs/table-access.ts';
import type { StatefulStack } from './stateful-stack.ts';

export interface PartnerEndpoints {
  /** Base URL of the ERP API (sales orders, customer credit, item master, invoices). */
  readonly erpBaseUrl: string;
  /** Base URL of the WMS API (availability, reservations, releases). */
  readonly wmsBaseUrl: string;
  /** Base URL of the TMS API (carrier rates and bookings). */
  readonly tmsBaseUrl: string;
  /** Base URL of the CRM API (customer notifications, cases). */
  readonly crmBaseUrl: string;
  /** Base URL of the finance API (exposure, holds). */
  readonly financeBaseUrl: string;
  /** Base URL of the EDI gateway (outbound X12). */
  readonly ediBaseUrl: string;
  /** Base URL of the drop-ship vendors' purchase-order API. */
  readonly vendorBaseUrl: string;
}

export interface EdiSettings {
  /** Handoff's own ISA05:ISA06, e.g. `ZZ:HANDOFFDIST`. */
  readonly interchangeId: string;
  /** The trading partners, in the shape `EDI_TRADING_PARTNERS` takes (validated by the function at load). */
  readonly tradingPartners: readonly unknown[];
}

export interface StatelessStackProps extends StackProps {
  readonly stateful: StatefulStack;
  readonly partners: PartnerEndpoints;
  readonly edi: EdiSettings;
  /** SLA stage targets, calendar and jeopardy fraction (validated); the functions get it as SLA_POLICY. */
  readonly slaPolicy?: SlaPolicy;
  /** Minutes between SLA detector runs: how late at worst a jeopardy or breach is raised. @default 1 */
  readonly slaDetectorMinutes?: number;
  /** Minutes between dead-letter intake runs: how late at worst a DLQ message becomes an exception. @default 1 */
  readonly deadLetterIntakeMinutes?: number;
}

/**
 * The behaviour: adapters and step functions, the fulfilment paths, the rules that connect them to the
 * bus, and the alarms that tell operations something is stuck.
 */
export class StatelessStack extends Stack {
  public readonly functions: Readonly<Record<string, HandoffFunction>>;
  public readonly paths: Readonly<Partial<Record<PathName, FulfilmentPath>>>;
  public readonly orderReceivedRule: events.Rule;
  /** Started by inventory.received: fills open backorders of the SKU. Not a path the router chooses. */
  public readonly backorderReevaluation: FulfilmentPath;
  /** The Express workflow shipment.confirmed starts: invoice, notify, close. */
  public readonly postShipment: FulfilmentPath;

  constructor(scope: Construct, id: string, props: StatelessStackProps) {
    super(scope, id, props);
    const { stateful, partners, edi } = props;
    const { ordersTable, exceptionsTable, dataKey: key, bus } = stateful;

    /** A function of the stack; `partnerOnly` ones talk to a partner alone: no table, no bus. */
    const fn = (
      fnId: string,
      handler: string,
      description: string,
      environment: Record<string, string>,
      options: { partnerOnly?: boolean } = {},
    ) => {
      const created = new HandoffFunction(this, fnId, {
        handler,
        description,
        onFailureQueue: stateful.functionFailureDlq,
        environment: options.partnerOnly
          ? environment
          : { EVENT_BUS_NAME: bus.eventBusName, ORDERS_TABLE_NAME: ordersTable.tableName, ...environment },
      });
      if (!options.partnerOnly) created.allowPutEvents(bus.eventBusArn);
      return created;
    };
    const orderSteps: ('GetItem' | 'UpdateItem')[] = ['GetItem', 'UpdateItem'];

    // ERP adapter: sales orders in from the ingress queue.
    const erpIngress = fn(
      'ErpOrderIngress',
      'erp-order-ingress',
      'ERP sales order → order.received, or quarantine',
      {
        EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
        // The item master: an order naming an unknown item is quarantined before it exists.
        ERP_BASE_URL: partners.erpBaseUrl,
      },
    );
    bindTable(erpIngress.role, { table: ordersTable, key, actions: ['GetItem', 'PutItem'] });
    bindTable(erpIngress.role, { table: exceptionsTable, key, actions: ['PutItem'] });
    const ingressSource = new SqsEventSource(stateful.erpIngressQueue, {
      batchSize: 10,
      reportBatchItemFailures: true,
    });
    erpIngress.function.addEventSource(ingressSource);
    /** An SQS-fed function: its failed messages reach the DLQ through the queue's redrive policy. */
    const acknowledgeQueueSource = (consumer: HandoffFunction, dlqName: string, what: string) =>
      Validations.of(consumer.function).acknowledge({
        id: 'Serverless-LambdaEventSourceMappingDestination',
        reason: `SQS event source mappings take no on-failure destination: ${what} that fail 5 receives move to ${dlqName} through the queue's redrive policy.`,
      });
    acknowledgeQueueSource(erpIngress, 'ErpIngressDlq', 'ERP sales orders');

    const checkCredit = fn('CheckCredit', 'check-credit', 'Credit check against limit and open exposure', {
      EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
      ERP_BASE_URL: partners.erpBaseUrl,
    });
    bindTable(checkCredit.role, { table: ordersTable, key, actions: orderSteps });
    bindTable(checkCredit.role, { table: exceptionsTable, key, actions: ['PutItem'] });

    // The SLA policy's working hours, for the functions that time people's work in them.
    const businessCalendar = JSON.stringify((props.slaPolicy ?? DEFAULT_SLA_POLICY).businessCalendar);
    const allocateStock = fn(
      'AllocateStock',
      'allocate-stock',
      "Allocation against stock by site (WMS), short lines filled with the customer's approved substitutes (ERP)",
      {
        WMS_BASE_URL: partners.wmsBaseUrl,
        ERP_BASE_URL: partners.erpBaseUrl,
        EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
        // A substitute review's SLA counts customer service's working hours, the SLA policy's calendar.
        BUSINESS_CALENDAR: businessCalendar,
      },
    );
    bindTable(allocateStock.role, { table: ordersTable, key, actions: orderSteps });
    // A substitute that needs approval is raised as an owned exception, and its decision read back.
    bindTable(allocateStock.role, { table: exceptionsTable, key, actions: ['GetItem', 'PutItem'] });

    const releaseToWarehouse = fn(
      'ReleaseToWarehouse',
      'release-to-warehouse',
      'Release decision and WMS release',
      {
        WMS_BASE_URL: partners.wmsBaseUrl,
      },
    );
    bindTable(releaseToWarehouse.role, { table: ordersTable, key, actions: orderSteps });

    const raiseStepException = fn(
      'RaiseStepException',
      'raise-step-exception',
      'Failed step → owned exception',
      {
        EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
      },
    );
    bindTable(raiseStepException.role, { table: ordersTable, key, actions: orderSteps });
    bindTable(raiseStepException.role, { table: exceptionsTable, key, actions: ['PutItem'] });

    // The human-decision pattern: the path side (a callback task per escalation tier, then the fallback)
    // and the people side (an operator's decision resumes the waiting path).
    const decisionAccess = (decisionFn: HandoffFunction) => {
      bindTable(decisionFn.role, { table: ordersTable, key, actions: orderSteps });
      bindTable(decisionFn.role, { table: exceptionsTable, key, actions: ['GetItem', 'UpdateItem'] });
    };
    const humanDecisionTask = fn(
      'HumanDecisionTask',
      'human-decision-task',
      'Hands a waiting path task to the deciding tier; applies the fallback past the top tier',
      { EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName, BUSINESS_CALENDAR: businessCalendar },
    );
    decisionAccess(humanDecisionTask);
    const decideException = fn(
      'DecideException',
      'decide-exception',
      "An operator's decision on an owned exception: recorded, applied, and the waiting path resumed",
      { EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName },
    );
    decisionAccess(decideException);

    const standard = new FulfilmentPath(this, 'StandardSingleSitePath', {
      path: 'standard-single-site',
      functions: {
        CheckCreditFunctionArn: checkCredit.function,
        AllocateStockFunctionArn: allocateStock.function,
        ReleaseToWarehouseFunctionArn: releaseToWarehouse.function,
        RaiseStepExceptionFunctionArn: raiseStepException.function,
        HumanDecisionTaskFunctionArn: humanDecisionTask.function,
      },
    });

    // Multi-site split: plan (and confirm) against the order, and a table-less reservation per facility.
    const splitAllocation = fn(
      'SplitAllocation',
      'split-allocation',
      'Multi-site split: plans the facilities, then confirms the reserved split',
      { WMS_BASE_URL: partners.wmsBaseUrl },
    );
    bindTable(splitAllocation.role, { table: ordersTable, key, actions: orderSteps });
    const reserveShipment = fn(
      'ReserveShipment',
      'reserve-shipment',
      "Multi-site split: reserves one facility's shipment at the WMS",
      { WMS_BASE_URL: partners.wmsBaseUrl },
      { partnerOnly: true },
    );
    const split = new FulfilmentPath(this, 'MultiSiteSplitPath', {
      path: 'multi-site-split',
      functions: {
        CheckCreditFunctionArn: checkCredit.function,
        SplitAllocationFunctionArn: splitAllocation.function,
        ReserveShipmentFunctionArn: reserveShipment.function,
        ReleaseToWarehouseFunctionArn: releaseToWarehouse.function,
        RaiseStepExceptionFunctionArn: raiseStepException.function,
        HumanDecisionTaskFunctionArn: humanDecisionTask.function,
      },
    });

    // Expedited: the fast credit lane, a premium carrier booked, release at once.
    const bookCarrier = fn(
      'BookCarrier',
      'book-carrier',
      'Expedited: rates and books the premium carrier (TMS), with weights from the item master (ERP)',
      { TMS_BASE_URL: partners.tmsBaseUrl, ERP_BASE_URL: partners.erpBaseUrl },
    );
    bindTable(bookCarrier.role, { table: ordersTable, key, actions: orderSteps });
    const expedited = new FulfilmentPath(this, 'ExpeditedPath', {
      path: 'expedited',
      functions: {
        CheckCreditFunctionArn: checkCredit.function,
        AllocateStockFunctionArn: allocateStock.function,
        BookCarrierFunctionArn: bookCarrier.function,
        ReleaseToWarehouseFunctionArn: releaseToWarehouse.function,
        RaiseStepExceptionFunctionArn: raiseStepException.function,
        HumanDecisionTaskFunctionArn: humanDecisionTask.function,
      },
    });

    // Drop-ship: one purchase order per vendor; the path ends when the vendors have confirmed.
    const dropShip = fn(
      'DropShip',
      'drop-ship',
      'Drop-ship: one purchase order per vendor (sourcing from the ERP item master); vendor ASNs → shipment.confirmed',
      {
        EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
        ERP_BASE_URL: partners.erpBaseUrl,
        VENDOR_BASE_URL: partners.vendorBaseUrl,
      },
    );
    bindTable(dropShip.role, { table: ordersTable, key, actions: orderSteps });
    bindTable(dropShip.role, { table: exceptionsTable, key, actions: ['PutItem'] });
    const dropShipPath = new FulfilmentPath(this, 'DropShipPath', {
      path: 'drop-ship',
      functions: {
        CheckCreditFunctionArn: checkCredit.function,
        DropShipFunctionArn: dropShip.function,
        RaiseStepExceptionFunctionArn: raiseStepException.function,
        HumanDecisionTaskFunctionArn: humanDecisionTask.function,
      },
    });
    // Vendors' ship notices arrive on their own queue; the drop-ship function confirms or quarantines each.
    dropShip.function.addEventSource(
      new SqsEventSource(stateful.vendorAsnQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    acknowledgeQueueSource(dropShip, 'VendorAsnDlq', 'vendor ship notices');

    // EDI retail replenishment: 850s in from the gateway's queue; the path sends the 855; the 856 and 810
    // follow shipment.confirmed and invoice.issued of EDI orders.
    const ediReplenishment = fn(
      'EdiReplenishment',
      'edi-replenishment',
      'EDI (X12): 850 purchase orders in (997 back), 855 acknowledgment, 856 ship notice and 810 invoice out',
      {
        EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
        EDI_BASE_URL: partners.ediBaseUrl,
        ERP_BASE_URL: partners.erpBaseUrl,
        EDI_INTERCHANGE_ID: edi.interchangeId,
        EDI_TRADING_PARTNERS: JSON.stringify(edi.tradingPartners),
      },
    );
    // The order and the EDI items beside it (purchase order reference, control-number counters).
    bindTable(ediReplenishment.role, {
      table: ordersTable,
      key,
      actions: ['GetItem', 'PutItem', 'UpdateItem'],
    });
    bindTable(ediReplenishment.role, { table: exceptionsTable, key, actions: ['PutItem'] });
    ediReplenishment.function.addEventSource(
      new SqsEventSource(stateful.ediInboundQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    acknowledgeQueueSource(ediReplenishment, 'EdiInboundDlq', 'X12 interchanges');
    const ediPath = new FulfilmentPath(this, 'EdiRetailReplenishmentPath', {
      path: 'edi-retail-replenishment',
      functions: {
        CheckCreditFunctionArn: checkCredit.function,
        AllocateStockFunctionArn: allocateStock.function,
        EdiReplenishmentFunctionArn: ediReplenishment.function,
        ReleaseToWarehouseFunctionArn: releaseToWarehouse.function,
        RaiseStepExceptionFunctionArn: raiseStepException.function,
        HumanDecisionTaskFunctionArn: humanDecisionTask.function,
      },
    });
    const ediRuleDlq = sqsLib.Queue.fromQueueArn(
      this,
      'RuleTargetDlqForEdi',
      stateful.ruleTargetDlq.queueArn,
    );
    for (const name of ['shipment.confirmed', 'invoice.issued'] as const) {
      const event = EVENT_CATALOGUE[name];
      const ruleId = name === 'shipment.confirmed' ? 'EdiShipmentToAdvanceShipNotice' : 'EdiInvoiceTo810';
      new events.Rule(this, ruleId, {
        eventBus: bus,
        description: `Every ${name} of an EDI order sends the trading partner its ${name === 'shipment.confirmed' ? '856' : '810'}`,
        eventPattern: {
          source: [event.source],
          detailType: [event.detailType],
          detail: { orderId: [{ prefix: 'EDI-' }] },
        },
      }).addTarget(
        new targets.LambdaFunction(ediReplenishment.function, {
          deadLetterQueue: ediRuleDlq,
          retryAttempts: 8,
          maxEventAge: Duration.hours(2),
        }),
      );
    }

    // Carrier tracking webhooks: the TMS POSTs signed tracking updates to a function URL; the function
    // verifies the HMAC over the raw body before anything else, then announces shipment.* events.
    const carrierWebhook = fn(
      'CarrierWebhook',
      'carrier-webhook',
      'TMS tracking webhooks (HMAC-signed) → shipment.in-transit / delivered / exception events',
      {
        CARRIER_WEBHOOK_SECRET_ARN: stateful.carrierWebhookSecret.secretArn,
        // An authentic webhook answered 4xx is not resent by the TMS: it is kept as an owned exception.
        EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
      },
    );
    // GetItem: the booking, and whether a tracking event was already received; PutItem: the delivery record.
    bindTable(carrierWebhook.role, { table: ordersTable, key, actions: ['GetItem', 'PutItem'] });
    bindTable(carrierWebhook.role, { table: exceptionsTable, key, actions: ['PutItem'] });
    // Granted on the role, not through secret.grantRead (which edits the stateful key's policy: a cycle).
    carrierWebhook.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
        resources: [stateful.carrierWebhookSecret.secretArn],
      }),
    );
    carrierWebhook.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['kms:Decrypt'],
        resources: [key.keyArn],
        conditions: { StringEquals: { 'kms:ViaService': `secretsmanager.${this.region}.amazonaws.com` } },
      }),
    );
    const webhookUrl = carrierWebhook.function.addFunctionUrl({ authType: lambda.FunctionUrlAuthType.NONE });
    new CfnOutput(this, 'CarrierWebhookUrl', { value: webhookUrl.url });

    // The WMS's outbound feed: put-aways become inventory.received (which re-evaluates backorders).
    const wmsInventoryFeed = fn(
      'WmsInventoryFeed',
      'wms-inventory-feed',
      'WMS outbound messages → inventory.received, or an integration exception',
      // The item master: a receipt of an item the ERP does not know is quarantined.
      { EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName, ERP_BASE_URL: partners.erpBaseUrl },
    );
    bindTable(wmsInventoryFeed.role, { table: exceptionsTable, key, actions: ['PutItem'] });
    wmsInventoryFeed.function.addEventSource(
      new SqsEventSource(stateful.wmsEventsQueue, { batchSize: 10, reportBatchItemFailures: true }),
    );
    acknowledgeQueueSource(wmsInventoryFeed, 'WmsEventsDlq', 'WMS messages');

    this.paths = {
      'standard-single-site': standard,
      'multi-site-split': split,
      expedited,
      'drop-ship': dropShipPath,
      'edi-retail-replenishment': ediPath,
    };

    // Backorder re-evaluation: inventory.received re-evaluates open backorders of the SKU (a path of its own,
    // never chosen by the router); backorder.created opens them; an hourly sweep ages them out.
    const backorders = fn(
      'BackorderReevaluation',
      'backorder-reevaluation',
      'Backorders: opened from backorder.created, filled on inventory.received, aged out hourly',
      {
        WMS_BASE_URL: partners.wmsBaseUrl,
        BACKORDERS_TABLE_NAME: stateful.backordersTable.tableName,
      },
    );
    bindTable(backorders.role, { table: ordersTable, key, actions: orderSteps });
    bindTable(backorders.role, {
      table: stateful.backordersTable,
      key,
      actions: ['GetItem', 'BatchGetItem', 'PutItem', 'UpdateItem', 'Query'],
      indexes: ['openBySku', 'openByAge', 'byOrder'],
    });
    this.backorderReevaluation = new FulfilmentPath(this, 'BackorderReevaluationPath', {
      path: 'backorder-reevaluation',
      functions: {
        BackorderReevaluationFunctionArn: backorders.function,
        ReleaseToWarehouseFunctionArn: releaseToWarehouse.function,
        RaiseStepExceptionFunctionArn: raiseStepException.function,
      },
    });
    const ruleDlq = sqsLib.Queue.fromQueueArn(
      this,
      'RuleTargetDlqForBackorders',
      stateful.ruleTargetDlq.queueArn,
    );
    const receipt = EVENT_CATALOGUE['inventory.received'];
    new events.Rule(this, 'InventoryReceivedToBackorders', {
      eventBus: bus,
      description: 'Every inventory.received re-evaluates the open backorders of the SKU',
      eventPattern: { source: [receipt.source], detailType: [receipt.detailType] },
    }).addTarget(
      new targets.SfnStateMachine(this.backorderReevaluation.stateMachine, {
        deadLetterQueue: ruleDlq,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    );
    const created = EVENT_CATALOGUE['backorder.created'];
    new events.Rule(this, 'BackorderCreatedToBackorders', {
      eventBus: bus,
      description: 'Every backorder.created opens its backorder lines under the customer rule',
      eventPattern: { source: [created.source], detailType: [created.detailType] },
    }).addTarget(
      new targets.LambdaFunction(backorders.function, {
        deadLetterQueue: ruleDlq,
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    );
    new events.Rule(this, 'HourlyBackorderSweep', {
      description: "Ages out open backorders past the customer's maximum age",
      schedule: events.Schedule.rate(Duration.hours(1)),
    }).addTarget(
      new targets.LambdaFunction(backorders.function, {
        event: events.RuleTargetInput.fromObject({ action: 'sweep' }),
        deadLetterQueue: ruleDlq,
        retryAttempts: 2,
      }),
    );

    // Post-shipment (Express): shipment.confirmed → record → invoice (ERP) → notify (CRM) → close.
    const postShipment = fn(
      'PostShipment',
      'post-shipment',
      'Post-shipment: records a shipment, invoices it (ERP), notifies the customer (CRM), closes the order',
      {
        ERP_BASE_URL: partners.erpBaseUrl,
        CRM_BASE_URL: partners.crmBaseUrl,
        EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
      },
    );
    // The order, and its shipment ledger items beside it (Query and conditional PutItem).
    bindTable(postShipment.role, {
      table: ordersTable,
      key,
      actions: ['GetItem', 'UpdateItem', 'Query', 'PutItem'],
    });
    // A shipment of an order parked after its release resolves the step failure it answers.
    bindTable(postShipment.role, { table: exceptionsTable, key, actions: ['GetItem', 'UpdateItem'] });
    this.postShipment = new FulfilmentPath(this, 'PostShipmentWorkflow', {
      path: 'post-shipment',
      type: sfn.StateMachineType.EXPRESS,
      functions: {
        PostShipmentFunctionArn: postShipment.function,
        RaiseStepExceptionFunctionArn: raiseStepException.function,
      },
    });
    const shipped = EVENT_CATALOGUE['shipment.confirmed'];
    new events.Rule(this, 'ShipmentConfirmedToPostShipment', {
      eventBus: bus,
      description: 'Every shipment.confirmed (proof of shipment) starts the post-shipment workflow',
      eventPattern: { source: [shipped.source], detailType: [shipped.detailType] },
    }).addTarget(
      new targets.SfnStateMachine(this.postShipment.stateMachine, {
        deadLetterQueue: sqsLib.Queue.fromQueueArn(
          this,
          'RuleTargetDlqForShipments',
          stateful.ruleTargetDlq.queueArn,
        ),
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    );
    // SLA clocks: the tracker follows the canonical events into per-stage clocks; the detector, every
    // minute, raises sla.jeopardy and sla.breached (and the breach's owned exception) for due clocks.
    const slaEnvironment = {
      EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
      SLA_CLOCKS_TABLE_NAME: stateful.slaClocksTable.tableName,
      SLA_POLICY: JSON.stringify(props.slaPolicy ?? DEFAULT_SLA_POLICY),
    };
    const slaAccess = (slaFn: HandoffFunction, clockActions: TableAction[], indexes: string[] = []) => {
      bindTable(slaFn.role, { table: ordersTable, key, actions: ['GetItem'] });
      bindTable(slaFn.role, { table: exceptionsTable, key, actions: ['PutItem'] });
      bindTable(slaFn.role, { table: stateful.slaClocksTable, key, actions: clockActions, indexes });
    };
    const slaTracker = fn(
      'SlaTracker',
      'sla-tracker',
      'Canonical order, shipment and invoice events → SLA stage clocks (start, stop, pause, cancel)',
      slaEnvironment,
    );
    slaAccess(slaTracker, ['Query', 'PutItem']);
    const slaDetector = fn(
      'SlaDetector',
      'sla-detector',
      'Every minute: raises sla.jeopardy and sla.breached for the clocks that fell due (by time bucket)',
      slaEnvironment,
    );
    slaAccess(slaDetector, ['Query', 'PutItem', 'GetItem'], ['byDueBucket']);
    // Each run reads every team's oldest open exception from the team-queue index (Limit 1, no scan): the
    // index only, never the table (the data key's Decrypt comes with the PutItem binding above).
    slaDetector.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: [`${exceptionsTable.tableArn}/index/byOwnerState`],
      }),
    );
    // One run at a time: runs never need to overlap (each reads from the last one's checkpoint), and a
    // backlog of schedule ticks (after an outage) is worked through in turn, not all at once.
    (slaDetector.function.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = 1;
    const clockEvents = [
      'order.received',
      'order.accepted',
      'order.rejected',
      'credit.approved',
      'credit.hold.released',
      'substitution.proposed',
      'substitution.decided',
      'allocation.confirmed',
      'release.deferred',
      'warehouse.released',
      'shipment.confirmed',
      'invoice.issued',
      'order.closed',
    ] as const;
    new events.Rule(this, 'CanonicalEventsToSlaTracker', {
      eventBus: bus,
      description: 'The events that start, stop and pause SLA stage clocks',
      eventPattern: {
        source: [...new Set(clockEvents.map((name) => EVENT_CATALOGUE[name].source))],
        detailType: clockEvents.map((name) => EVENT_CATALOGUE[name].detailType),
      },
    }).addTarget(
      new targets.LambdaFunction(slaTracker.function, {
        deadLetterQueue: sqsLib.Queue.fromQueueArn(
          this,
          'RuleTargetDlqForSla',
          stateful.ruleTargetDlq.queueArn,
        ),
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    );
    new events.Rule(this, 'SlaDetectorEveryMinute', {
      description: 'Runs the SLA detector: due jeopardies and breaches, read by time bucket',
      schedule: events.Schedule.rate(Duration.minutes(props.slaDetectorMinutes ?? 1)),
    }).addTarget(
      new targets.LambdaFunction(slaDetector.function, {
        deadLetterQueue: sqsLib.Queue.fromQueueArn(
          this,
          'RuleTargetDlqForSlaDetector',
          stateful.ruleTargetDlq.queueArn,
        ),
        // A missed run is made up by the next one (it reads from its checkpoint): no long retries.
        retryAttempts: 1,
        maxEventAge: Duration.minutes(2),
      }),
    );
    // Dead letters: every message on a DLQ becomes an owned integration exception with its payload kept.
    // The messages stay on the DLQ (peeked, not deleted) for `handoff dlq redrive`.
    const deadLetterIntake = fn(
      'DeadLetterIntake',
      'dead-letter-intake',
      'Every message on a Handoff DLQ → an owned integration exception keeping the payload and the cause',
      {
        EXCEPTIONS_TABLE_NAME: exceptionsTable.tableName,
        DEAD_LETTER_QUEUES: Stack.of(this).toJsonString(
          stateful.deadLetterQueues.map(({ name, queue, feeds }) => ({
            name,
            url: queue.queueUrl,
            arn: queue.queueArn,
            feeds,
          })),
        ),
      },
    );
    bindTable(deadLetterIntake.role, { table: ordersTable, key, actions: ['GetItem'] });
    bindTable(deadLetterIntake.role, { table: exceptionsTable, key, actions: ['PutItem'] });
    deadLetterIntake.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['sqs:ReceiveMessage'],
        resources: stateful.deadLetterQueues.map(({ queue }) => queue.queueArn),
      }),
    );
    (deadLetterIntake.function.node.defaultChild as lambda.CfnFunction).reservedConcurrentExecutions = 1;
    new events.Rule(this, 'DeadLetterIntakeSchedule', {
      description: 'Turns new DLQ messages into owned integration exceptions',
      schedule: events.Schedule.rate(Duration.minutes(props.deadLetterIntakeMinutes ?? 1)),
    }).addTarget(
      new targets.LambdaFunction(deadLetterIntake.function, {
        deadLetterQueue: sqsLib.Queue.fromQueueArn(
          this,
          'RuleTargetDlqForDeadLetterIntake',
          stateful.ruleTargetDlq.queueArn,
        ),
        retryAttempts: 1,
        maxEventAge: Duration.minutes(2),
      }),
    );
    // The process log: every canonical event, compact, by day and shard; the scorecard reads it by key.
    // It neither publishes nor reads orders: no bus or order-table access (the `partnerOnly` shape).
    const processRecorder = fn(
      'ProcessRecorder',
      'process-recorder',
      'Every canonical event on the fulfilment bus → one compact record in the process log (the scorecard)',
      { PROCESS_LOG_TABLE_NAME: stateful.processLogTable.tableName },
      { partnerOnly: true },
    );
    bindTable(processRecorder.role, { table: stateful.processLogTable, key, actions: ['BatchWriteItem'] });
    new events.Rule(this, 'CanonicalEventsToProcessLog', {
      eventBus: bus,
      description: 'Every canonical event, into the process log the scorecard reads',
      eventPattern: { source: [...new Set(Object.values(EVENT_CATALOGUE).map((d) => d.source))] },
    }).addTarget(
      new targets.LambdaFunction(processRecorder.function, {
        deadLetterQueue: sqsLib.Queue.fromQueueArn(
          this,
          'RuleTargetDlqForProcessLog',
          stateful.ruleTargetDlq.queueArn,
        ),
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    );

    // One alarm per owner team: each team's on-call hears about its own breaches.
    for (const team of OWNER_TEAMS) {
      new cloudwatch.Alarm(this, `SlaBreaches-${team}`, {
        alarmDescription: `${team}: an SLA stage owned by ${team} breached its target (see the sla-breach exceptions).`,
        metric: new cloudwatch.Metric({
          namespace: METRICS_NAMESPACE,
          metricName: 'SlaBreaches',
          dimensionsMap: { service: SLA_METRICS_SERVICE, OwnerTeam: team },
          period: Duration.minutes(5),
          statistic: 'Sum',
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    }

    const pathArns = Object.values(this.paths).map((path) => path.stateMachine.stateMachineArn);
    const taskResponse = ['states:SendTaskSuccess', 'states:SendTaskFailure', 'states:SendTaskHeartbeat'];
    decideException.role.addToPrincipalPolicy(
      new iam.PolicyStatement({ actions: taskResponse, resources: pathArns }),
    );
    // The task function answers a decision that arrived while no task waited (between a timeout and the
    // next tier). A policy of its own, not the role's default one: the function (which the state machine
    // names) waits for its default policy, and that policy naming the state machine would be a cycle.
    new iam.Policy(this, 'HumanDecisionTaskAnswersPaths', {
      roles: [humanDecisionTask.role],
      statements: [new iam.PolicyStatement({ actions: taskResponse, resources: pathArns })],
    });

    const router = fn(
      'OrderRouter',
      'route-order',
      'Classifies order.received and starts its fulfilment path',
      {
        WMS_BASE_URL: partners.wmsBaseUrl,
        PATH_STATE_MACHINES: Stack.of(this).toJsonString(
          Object.fromEntries(
            Object.entries(this.paths).map(([path, p]) => [path, p.stateMachine.stateMachineArn]),
          ),
        ),
      },
    );
    bindTable(router.role, { table: ordersTable, key, actions: orderSteps });
    // StartExecution only: a duplicate start is recognised by ExecutionAlreadyExists, no read is needed.
    router.role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['states:StartExecution'],
        resources: Object.values(this.paths).map((path) => path.stateMachine.stateMachineArn),
      }),
    );

    const received = EVENT_CATALOGUE['order.received'];
    this.orderReceivedRule = new events.Rule(this, 'OrderReceivedToRouter', {
      eventBus: bus,
      description: 'Routes every canonical order.received to the router',
      eventPattern: { source: [received.source], detailType: [received.detailType] },
    });
    this.orderReceivedRule.addTarget(
      new targets.LambdaFunction(router.function, {
        // Imported by ARN: its resource policy lives in the stateful stack (see RuleTargetDlq).
        deadLetterQueue: sqsLib.Queue.fromQueueArn(this, 'RuleTargetDlqRef', stateful.ruleTargetDlq.queueArn),
        retryAttempts: 8,
        maxEventAge: Duration.hours(2),
      }),
    );

    this.functions = {
      erpIngress,
      checkCredit,
      allocateStock,
      releaseToWarehouse,
      raiseStepException,
      humanDecisionTask,
      decideException,
      splitAllocation,
      reserveShipment,
      bookCarrier,
      dropShip,
      postShipment,
      backorders,
      router,
      ediReplenishment,
      wmsInventoryFeed,
      carrierWebhook,
      slaTracker,
      slaDetector,
      deadLetterIntake,
      processRecorder,
    };

    const dlqAlarm = (alarmId: string, queue: sqsLib.IQueue, what: string) =>
      new cloudwatch.Alarm(this, alarmId, {
        alarmDescription: `${what} is not empty: each message is an owned integration exception waiting for redrive.`,
        metric: queue.metricApproximateNumberOfMessagesVisible({
          period: Duration.minutes(1),
          statistic: 'Maximum',
        }),
        threshold: 0,
        comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
        evaluationPeriods: 1,
        treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      });
    dlqAlarm('ErpIngressDlqNotEmpty', stateful.erpIngressDlq, 'The ERP ingress DLQ');
    dlqAlarm('FunctionFailureDlqNotEmpty', stateful.functionFailureDlq, 'The function failure DLQ');
    dlqAlarm('RuleTargetDlqNotEmpty', stateful.ruleTargetDlq, 'The rule target DLQ');
    dlqAlarm('EdiInboundDlqNotEmpty', stateful.ediInboundDlq, 'The EDI inbound DLQ');
    dlqAlarm('WmsEventsDlqNotEmpty', stateful.wmsEventsDlq, 'The WMS events DLQ');
    dlqAlarm('VendorAsnDlqNotEmpty', stateful.vendorAsnDlq, 'The vendor ASN DLQ');
    new cloudwatch.Alarm(this, 'ErpIngressBacklogAging', {
      alarmDescription:
        'ERP orders have waited more than 15 minutes in the ingress queue: capture is stalling.',
      metric: stateful.erpIngressQueue.metricApproximateAgeOfOldestMessage({
        period: Duration.minutes(1),
        statistic: 'Maximum',
      }),
      threshold: 900,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 3,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    // Adapter error rates, oldest open exceptions, and the scorecard dashboard.
    new Observability(this, 'Observability', {
      adapters: Object.keys(partners).map((endpoint) => endpoint.replace(/BaseUrl$/, '')),
      workflows: [...Object.values(this.paths), this.backorderReevaluation, this.postShipment],
      deadLetterQueues: stateful.deadLetterQueues.map(({ name, queue }) => ({ name, queue })),
      workQueues: [
        { name: 'ErpIngressQueue', queue: stateful.erpIngressQueue },
        { name: 'EdiInboundQueue', queue: stateful.ediInboundQueue },
        { name: 'WmsEventsQueue', queue: stateful.wmsEventsQueue },
        { name: 'VendorAsnQueue', queue: stateful.vendorAsnQueue },
      ],
      slaPolicy: props.slaPolicy ?? DEFAULT_SLA_POLICY,
      slaDetectorMinutes: props.slaDetectorMinutes ?? 1,
    });

    // Every alarm of this stack, including each path's, notifies operations through the alerts topic.
    const notify = new cloudwatchActions.SnsAction(stateful.alertsTopic);
    for (const construct of this.node.findAll()) {
      if (construct instanceof cloudwatch.Alarm) {
        construct.addAlarmAction(notify);
        construct.addOkAction(notify);
      }
    }

    new CfnOutput(this, 'StandardSingleSiteStateMachineArn', {
      value: standard.stateMachine.stateMachineArn,
    });
    new CfnOutput(this, 'OrderRouterFunctionName', { value: router.function.functionName });
    // What the operator CLI (`handoff`) finds the stack's parts by, here and on AWS.
    new CfnOutput(this, 'DecideExceptionFunctionName', { value: decideException.function.functionName });
    new CfnOutput(this, 'PathStateMachineArns', {
      value: Stack.of(this).toJsonString(
        Object.fromEntries(
          [
            ...Object.entries(this.paths),
            ['backorder-reevaluation', this.backorderReevaluation],
            ['post-shipment', this.postShipment],
          ].map(([path, p]) => [path, (p as FulfilmentPath).stateMachine.stateMachineArn]),
        ),
      ),
    });
  }
}
