import { CfnOutput, Duration, RemovalPolicy, Stack, type StackProps, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as events from 'aws-cdk-lib/aws-events';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as kms from 'aws-cdk-lib/aws-kms';
import * as secretsmanager from 'aws-cdk-lib/aws-secretsmanager';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as subscriptions from 'aws-cdk-lib/aws-sns-subscriptions';
import * as sqs from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface StatefulStackProps extends StackProps {
  /** E-mail subscribed to the alerts topic (confirmation needed). @default no subscription */
  readonly alertEmail?: string;
  /** Keep tables, key and archive when the stack is deleted. @default true */
  readonly retainData?: boolean;
}

/** Days a message may sit in a DLQ before SQS drops it: the maximum, so nothing expires unseen. */
const DLQ_RETENTION = Duration.days(14);

/**
 * Everything that holds state and outlives a deployment of the functions: the fulfilment bus and its
 * archive, the order, exception and SLA tables, the ingress queue and the dead-letter queues, and the
 * customer-managed key that encrypts order data (ship-to addresses, prices) at rest.
 */
export class StatefulStack extends Stack {
  public readonly dataKey: kms.Key;
  public readonly bus: events.EventBus;
  public readonly archive: events.Archive;
  public readonly ordersTable: dynamodb.TableV2;
  public readonly exceptionsTable: dynamodb.TableV2;
  public readonly slaClocksTable: dynamodb.TableV2;
  /** The process log: every canonical event in compact form, by day and shard, for the scorecard. */
  public readonly processLogTable: dynamodb.TableV2;
  /** Every DLQ of the stack, with what lands in it: the dead-letter intake watches them all. */
  public readonly deadLetterQueues: {
    readonly name: string;
    readonly queue: sqs.Queue;
    readonly feeds: string;
    /** The queue its messages came from, which `handoff dlq redrive` moves them back to. */
    source?: sqs.Queue;
  }[] = [];
  public readonly backordersTable: dynamodb.TableV2;
  public readonly erpIngressQueue: sqs.Queue;
  public readonly erpIngressDlq: sqs.Queue;
  /** X12 documents the EDI gateway (VAN) delivers from trading partners' mailboxes: 850 purchase orders. */
  public readonly ediInboundQueue: sqs.Queue;
  public readonly ediInboundDlq: sqs.Queue;
  /** The WMS's outbound messages: goods put away (inventory.received). */
  public readonly wmsEventsQueue: sqs.Queue;
  public readonly wmsEventsDlq: sqs.Queue;
  /** Drop-ship vendors' advance ship notices. */
  public readonly vendorAsnQueue: sqs.Queue;
  public readonly vendorAsnDlq: sqs.Queue;
  /** Failed asynchronous Lambda invocations: each function's on-failure destination record, naming the function. */
  public readonly functionFailureDlq: sqs.Queue;
  /** Events a rule could not deliver to its target after retries. */
  public readonly ruleTargetDlq: sqs.Queue;
  /** The shared secret the TMS signs tracking webhooks with (HMAC-SHA256); handed to the TMS out of band. */
  public readonly carrierWebhookSecret: secretsmanager.Secret;
  /** Where every Handoff alarm notifies operations; subscribe on-call email, chat or paging to it. */
  public readonly alertsTopic: sns.Topic;

  constructor(scope: Construct, id: string, props: StatefulStackProps = {}) {
    super(scope, id, props);
    const removalPolicy = props.retainData === false ? RemovalPolicy.DESTROY : RemovalPolicy.RETAIN;

    this.dataKey = new kms.Key(this, 'OrderDataKey', {
      description: 'Handoff: encrypts order, exception and SLA tables at rest',
      enableKeyRotation: true,
      removalPolicy,
    });

    // Events carry ship-to addresses and prices: the bus and its 400-day archive use the same key as the
    // tables. The bus is named from the stack so the key policy can name it without a reference cycle.
    const busName = `${this.stackName}-fulfilment`;
    this.bus = new events.EventBus(this, 'FulfilmentBus', {
      eventBusName: busName,
      description: 'Canonical order, shipment, invoice, exception and SLA events',
      kmsKey: this.dataKey,
    });
    this.archive = this.bus.archive('FulfilmentArchive', {
      description: 'Every Handoff event, for replay after an outage or a fix',
      eventPattern: { source: events.Match.prefix('handoff.') },
      retention: Duration.days(400),
    });
    // CDK's Archive would grant the key by the bus's GetAtt ARN, which closes a key → bus → key cycle.
    (this.archive.node.defaultChild as events.CfnArchive).kmsKeyIdentifier = this.dataKey.keyArn;
    this.dataKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'EventBridgeArchivesFulfilmentBus',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey', 'kms:ReEncrypt*', 'kms:DescribeKey'],
        resources: ['*'],
        conditions: {
          StringEquals: {
            'aws:SourceAccount': this.account,
            'kms:EncryptionContext:aws:events:event-bus:arn': this.formatArn({
              service: 'events',
              resource: 'event-bus',
              resourceName: busName,
            }),
          },
        },
      }),
    );
    // Replayable history outlives the stack in every stage but dev.
    this.bus.applyRemovalPolicy(removalPolicy);
    this.archive.applyRemovalPolicy(removalPolicy);

    const table = (tableId: string, extra: Partial<dynamodb.TablePropsV2>) =>
      new dynamodb.TableV2(this, tableId, {
        partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
        billing: dynamodb.Billing.onDemand(),
        encryption: dynamodb.TableEncryptionV2.customerManagedKey(this.dataKey),
        pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
        deletionProtection: props.retainData !== false,
        removalPolicy,
        ...extra,
      });

    this.ordersTable = table('OrdersTable', {
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      globalSecondaryIndexes: [
        {
          // Where orders sit: `<stage>#<shard>` spreads each stage's writes across partitions.
          indexName: 'byStage',
          partitionKey: { name: 'stageShard', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'stageEnteredAt', type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.KEYS_ONLY,
        },
      ],
    });

    this.exceptionsTable = table('ExceptionsTable', {
      globalSecondaryIndexes: [
        {
          indexName: 'byOwnerState',
          partitionKey: { name: 'ownerState', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'raisedAt', type: dynamodb.AttributeType.STRING },
        },
        {
          indexName: 'byOrder',
          partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'raisedAt', type: dynamodb.AttributeType.STRING },
          projectionType: dynamodb.ProjectionType.KEYS_ONLY,
        },
      ],
    });

    this.slaClocksTable = table('SlaClocksTable', {
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      dynamoStream: dynamodb.StreamViewType.NEW_AND_OLD_IMAGES,
      globalSecondaryIndexes: [
        {
          // Clocks due in one minute bucket: the detector reads due clocks by key, never by scan.
          indexName: 'byDueBucket',
          partitionKey: { name: 'dueBucket', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'dueAt', type: dynamodb.AttributeType.STRING },
        },
      ],
    });

    // The process log (pk = `LOG#<day>#<shard>`, sk = `<occurredAt>#<eventId>`): what the scorecard reads, one
    // Query per day and shard for a window, never a Scan. Items expire after 400 days, like the archive.
    this.processLogTable = table('ProcessLogTable', {
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
    });

    // Backorder lines (pk = backorderId, sk = 'BACKORDER') and receipt plans (pk = 'RECEIPT#<id>', sk = 'PLAN',
    // expiring). `openSku` and `openShard` are set only while a backorder is open: sparse indexes.
    this.backordersTable = table('BackordersTable', {
      sortKey: { name: 'sk', type: dynamodb.AttributeType.STRING },
      timeToLiveAttribute: 'expiresAt',
      globalSecondaryIndexes: [
        {
          // Open backorders of a SKU, oldest first: what a receipt re-evaluates.
          indexName: 'openBySku',
          partitionKey: { name: 'openSku', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'createdAt', type: dynamodb.AttributeType.STRING },
        },
        {
          // Open backorders by the date they age out, over a few shards: what the hourly sweep reads.
          indexName: 'openByAge',
          partitionKey: { name: 'openShard', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'cancelAfter', type: dynamodb.AttributeType.STRING },
        },
        {
          indexName: 'byOrder',
          partitionKey: { name: 'orderId', type: dynamodb.AttributeType.STRING },
          sortKey: { name: 'backorderId', type: dynamodb.AttributeType.STRING },
        },
      ],
    });

    /** `redriveTarget`: SQS itself moves messages here, so cdk-nag already sees it as a DLQ (no SQS3). */
    const dlq = (queueId: string, feeds: string, redriveTarget = false) => {
      const queue = new sqs.Queue(this, queueId, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        retentionPeriod: DLQ_RETENTION,
        removalPolicy,
      });
      const lastResort = `${queueId} is the dead-letter queue of last resort for ${feeds}; its messages become owned integration exceptions and are redriven to their source by 'handoff dlq redrive', never dead-lettered further.`;
      this.deadLetterQueues.push({ name: queueId, queue, feeds });
      Validations.of(queue).acknowledge(
        ...(redriveTarget ? [] : [{ id: 'AwsSolutions-SQS3', reason: lastResort }]),
        { id: 'Serverless-SQSRedrivePolicy', reason: lastResort },
      );
      return queue;
    };

    this.erpIngressDlq = dlq('ErpIngressDlq', 'ERP sales orders that failed ingestion 5 times', true);
    this.functionFailureDlq = dlq(
      'FunctionFailureDlq',
      'asynchronous Lambda invocations that failed all retries',
    );
    this.ruleTargetDlq = dlq('RuleTargetDlq', 'events a bus rule could not deliver to its target');
    // Declared here, not by each rule target, so the stateless stack never writes into this one: any rule
    // on the fulfilment bus may dead-letter into it, and nothing else may.
    this.ruleTargetDlq.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'FulfilmentBusRulesDeadLetter',
        principals: [new iam.ServicePrincipal('events.amazonaws.com')],
        actions: ['sqs:SendMessage'],
        resources: [this.ruleTargetDlq.queueArn],
        conditions: {
          ArnLike: {
            'aws:SourceArn': this.formatArn({
              service: 'events',
              resource: 'rule',
              resourceName: `${this.bus.eventBusName}/*`,
            }),
          },
        },
      }),
    );
    /** A partner's inbound feed, consumed by its adapter function; 5 failed receives move a message to its DLQ. */
    const ingressQueue = (queueId: string, deadLetters: sqs.Queue) =>
      new sqs.Queue(this, queueId, {
        encryption: sqs.QueueEncryption.SQS_MANAGED,
        enforceSSL: true,
        // Six times the consumer's timeout, as AWS recommends for Lambda event sources.
        visibilityTimeout: Duration.seconds(180),
        retentionPeriod: Duration.days(4),
        deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
        removalPolicy,
      });
    this.erpIngressQueue = ingressQueue('ErpIngressQueue', this.erpIngressDlq);
    this.ediInboundDlq = dlq('EdiInboundDlq', 'X12 interchanges that failed ingestion 5 times', true);
    this.ediInboundQueue = ingressQueue('EdiInboundQueue', this.ediInboundDlq);
    this.wmsEventsDlq = dlq('WmsEventsDlq', 'WMS inventory messages that failed 5 times', true);
    this.wmsEventsQueue = ingressQueue('WmsEventsQueue', this.wmsEventsDlq);
    this.vendorAsnDlq = dlq('VendorAsnDlq', 'vendor ship notices that failed 5 times', true);
    this.vendorAsnQueue = ingressQueue('VendorAsnQueue', this.vendorAsnDlq);
    const sources = new Map<sqs.Queue, sqs.Queue>([
      [this.erpIngressDlq, this.erpIngressQueue],
      [this.ediInboundDlq, this.ediInboundQueue],
      [this.wmsEventsDlq, this.wmsEventsQueue],
      [this.vendorAsnDlq, this.vendorAsnQueue],
    ]);
    for (const entry of this.deadLetterQueues) entry.source = sources.get(entry.queue);

    this.carrierWebhookSecret = new secretsmanager.Secret(this, 'CarrierWebhookSecret', {
      description: 'Handoff: HMAC-SHA256 key the TMS signs carrier tracking webhooks with',
      encryptionKey: this.dataKey,
      generateSecretString: { passwordLength: 48, excludePunctuation: true },
      removalPolicy,
    });
    Validations.of(this.carrierWebhookSecret).acknowledge({
      id: 'AwsSolutions-SMG4',
      reason:
        'The webhook key is shared with the TMS, which cannot take a new key on a schedule: it is rotated by hand with the carrier (secretsmanager:PutSecretValue, then the TMS), and CarrierWebhook functions reread it within 5 minutes.',
    });

    this.alertsTopic = new sns.Topic(this, 'OperationsAlerts', {
      displayName: 'Handoff operations alerts',
      masterKey: this.dataKey,
      enforceSSL: true,
    });
    // CloudWatch publishes alarm notifications to the encrypted topic with this key.
    this.dataKey.addToResourcePolicy(
      new iam.PolicyStatement({
        sid: 'CloudWatchAlarmsPublishToAlertsTopic',
        principals: [new iam.ServicePrincipal('cloudwatch.amazonaws.com')],
        actions: ['kms:Decrypt', 'kms:GenerateDataKey'],
        resources: ['*'],
        conditions: { StringEquals: { 'aws:SourceAccount': this.account } },
      }),
    );
    if (props.alertEmail)
      this.alertsTopic.addSubscription(new subscriptions.EmailSubscription(props.alertEmail));

    new CfnOutput(this, 'AlertsTopicArn', { value: this.alertsTopic.topicArn });
    new CfnOutput(this, 'EventBusName', { value: this.bus.eventBusName });
    new CfnOutput(this, 'EventBusArchiveName', { value: this.archive.archiveName });
    new CfnOutput(this, 'OrdersTableName', { value: this.ordersTable.tableName });
    new CfnOutput(this, 'ExceptionsTableName', { value: this.exceptionsTable.tableName });
    new CfnOutput(this, 'SlaClocksTableName', { value: this.slaClocksTable.tableName });
    new CfnOutput(this, 'ProcessLogTableName', { value: this.processLogTable.tableName });
    new CfnOutput(this, 'ErpIngressQueueUrl', { value: this.erpIngressQueue.queueUrl });
    new CfnOutput(this, 'CarrierWebhookSecretArn', { value: this.carrierWebhookSecret.secretArn });
    new CfnOutput(this, 'EdiInboundQueueUrl', { value: this.ediInboundQueue.queueUrl });
    new CfnOutput(this, 'WmsEventsQueueUrl', { value: this.wmsEventsQueue.queueUrl });
    new CfnOutput(this, 'VendorAsnQueueUrl', { value: this.vendorAsnQueue.queueUrl });
    // For the operator CLI: every DLQ, what lands in it, and where a redrive sends it back.
    new CfnOutput(this, 'DeadLetterQueues', {
      value: this.toJsonString(
        this.deadLetterQueues.map(({ name, queue, feeds, source }) => ({
          name,
          url: queue.queueUrl,
          feeds,
          ...(source ? { sourceUrl: source.queueUrl } : {}),
        })),
      ),
    });
  }
}
