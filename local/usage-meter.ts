import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { AwsUsage } from '../sim/usage.ts';
import { type LocalClock, realClock } from './clock/clock.ts';
import type { BusEvent, EventBridgeService, LocalRule } from './eventbridge/bus-service.ts';
import type { InvocationRecord, LambdaRuntime, LocalFunction, LogLine } from './lambda/runtime.ts';
import type { SdkCallObserver, SdkCommand, SdkMeter } from './metering.ts';
import { pollersOf, type SqsService } from './sqs/sqs-service.ts';
import type {
  HistoryEvent,
  LocalExecution,
  LocalStateMachine,
  SfnService,
} from './stepfunctions/sfn-service.ts';
import type { CloudModel, TemplateResource } from './template/model.ts';

// ─── Billing rules (pure) ────────────────────────────────────────────────────────────────────────────────

/** 64 KB: EventBridge bills each started 64 KB of an entry as one event, SQS each 64 KB of payload as a request. */
export const CHUNK_BYTES = 64 * 1024;

/** Billed 64 KB chunks of a payload of `bytes` (at least one). */
export function chunks64k(bytes: number): number {
  return bytes <= CHUNK_BYTES ? 1 : Math.ceil(bytes / CHUNK_BYTES);
}

/** Billed 64 KB chunks of a UTF-8 text, without measuring it when it cannot be over 64 KB (3 bytes a UTF-16 unit at most). */
export function textChunks64k(text: string | undefined): number {
  if (text === undefined || text.length * 3 <= CHUNK_BYTES) return 1;
  return chunks64k(Buffer.byteLength(text));
}

/** DynamoDB write request units for an item of `bytes`: 1 per started KB (1 at least), doubled in a transaction. */
export function writeUnits(bytes: number, transactional = false): number {
  return Math.max(1, Math.ceil(bytes / 1024)) * (transactional ? 2 : 1);
}

/** DynamoDB read request units for `bytes` read: 1 per started 4 KB strongly consistent, half eventually, double in a transaction. */
export function readUnits(bytes: number, mode: 'strong' | 'eventual' | 'transactional'): number {
  const blocks = Math.max(1, Math.ceil(bytes / 4096));
  return mode === 'eventual' ? blocks / 2 : mode === 'transactional' ? blocks * 2 : blocks;
}

/** Lambda GB-seconds of one invocation: duration rounded up to the millisecond (1 ms at least) × memory. */
export function lambdaGbSeconds(durationMs: number, memoryMb: number): number {
  return (Math.max(1, Math.ceil(durationMs)) / 1000) * (memoryMb / 1024);
}

/** Express GB-seconds of one execution: duration rounded up to 100 ms (100 ms at least) at 64 MB. */
export function expressGbSeconds(durationMs: number): number {
  return Math.max(1, Math.ceil(durationMs / 100)) * 0.1 * (64 / 1024);
}

const NUMBER_SIGNIFICANT = /[1-9](?:[0-9]*[1-9])?/;

/**
 * The size of an attribute value as DynamoDB counts it: strings and binaries their bytes; numbers about one
 * byte per two significant digits plus one; null and booleans one; lists and maps three plus one a member;
 * sets the sum of their members. `marshalled`: the value is an AttributeValue (`{ S: 'x' }`), not native.
 */
export function attributeSize(value: unknown, marshalled: boolean): number {
  if (marshalled) {
    const v = value as Record<string, unknown>;
    if (v.S !== undefined) return Buffer.byteLength(String(v.S));
    if (v.N !== undefined) return numberSize(String(v.N));
    if (v.B !== undefined) return binarySize(v.B);
    if (v.BOOL !== undefined || v.NULL !== undefined) return 1;
    if (v.SS !== undefined) return (v.SS as string[]).reduce((n, s) => n + Buffer.byteLength(s), 0);
    if (v.NS !== undefined) return (v.NS as string[]).reduce((n, s) => n + numberSize(s), 0);
    if (v.BS !== undefined) return (v.BS as unknown[]).reduce<number>((n, b) => n + binarySize(b), 0);
    if (v.L !== undefined)
      return (v.L as unknown[]).reduce<number>((n, e) => n + 1 + attributeSize(e, true), 3);
    if (v.M !== undefined) return 3 + itemSize(v.M as Record<string, unknown>, true, 1);
    return 0;
  }
  if (value === null || value === undefined || typeof value === 'boolean') return 1;
  if (typeof value === 'string') return Buffer.byteLength(value);
  if (typeof value === 'number' || typeof value === 'bigint') return numberSize(String(value));
  if (value instanceof Uint8Array) return value.byteLength;
  if (value instanceof Set) {
    let n = 0;
    for (const member of value) n += attributeSize(member, false);
    return n;
  }
  if (Array.isArray(value)) return value.reduce<number>((n, e) => n + 1 + attributeSize(e, false), 3);
  if (typeof value === 'object') {
    const text = (value as { value?: unknown }).value;
    // lib-dynamodb's NumberValue keeps the number as text.
    if (typeof text === 'string' && Object.keys(value).length === 1) return numberSize(text);
    return 3 + itemSize(value as Record<string, unknown>, false, 1);
  }
  return 0;
}

function numberSize(text: string): number {
  const digits = NUMBER_SIGNIFICANT.exec(text.replace('.', ''))?.[0].length ?? 1;
  return Math.ceil(digits / 2) + 1;
}

function binarySize(value: unknown): number {
  if (value instanceof Uint8Array) return value.byteLength;
  return typeof value === 'string' ? Buffer.byteLength(value, 'base64') : 0;
}

/** An item's size as DynamoDB counts it: each attribute's name bytes plus its value (`perMember` more in a map). */
export function itemSize(
  item: Record<string, unknown> | undefined,
  marshalled: boolean,
  perMember = 0,
): number {
  if (!item) return 0;
  let bytes = 0;
  for (const name in item) {
    const value = item[name];
    if (value === undefined) continue;
    bytes += Buffer.byteLength(name) + attributeSize(value, marshalled) + perMember;
  }
  return bytes;
}

/** A partition key value as text (native or AttributeValue). */
export function partitionKeyText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  if (value instanceof Uint8Array) return Buffer.from(value).toString('base64');
  if (value && typeof value === 'object') {
    const v = value as { S?: unknown; N?: unknown; B?: unknown; value?: unknown };
    if (typeof v.S === 'string') return v.S;
    if (typeof v.N === 'string') return v.N;
    if (v.B !== undefined) return partitionKeyText(v.B);
    if (typeof v.value === 'string') return v.value;
  }
  return undefined;
}

const ASSIGNMENT = /(?:^|[\s,(])([#A-Za-z_][\w.#-]*)\s*=\s*(:[\w-]+)|(:[\w-]+)\s*=\s*([#A-Za-z_][\w.#-]*)/g;
const assignmentsCache = new Map<string, readonly (readonly [string, string])[]>();

/**
 * The `name = :value` pairs of a key condition or update expression (names as written, `#n` unresolved),
 * cached by expression: a handful of distinct expressions serve a whole run.
 */
export function assignments(expression: string): readonly (readonly [string, string])[] {
  let pairs = assignmentsCache.get(expression);
  if (pairs === undefined) {
    const found: [string, string][] = [];
    for (const m of expression.matchAll(ASSIGNMENT)) {
      if (m[1] && m[2]) found.push([m[1], m[2]]);
      else if (m[3] && m[4]) found.push([m[4], m[3]]);
    }
    pairs = found;
    if (assignmentsCache.size < 10_000) assignmentsCache.set(expression, pairs);
  }
  return pairs;
}

/** The value an expression assigns (or compares) to `attribute`, if it does (`#n` resolved through `names`). */
export function assignedValue(
  expression: string | undefined,
  names: Record<string, string> | undefined,
  values: Record<string, unknown> | undefined,
  attribute: string,
): unknown {
  if (expression === undefined || values === undefined) return undefined;
  for (const [name, placeholder] of assignments(expression)) {
    const resolved = name.charCodeAt(0) === 35 /* # */ ? names?.[name] : name;
    if (resolved === attribute) return values[placeholder];
  }
  return undefined;
}

// ─── Windows of virtual time ─────────────────────────────────────────────────────────────────────────────

/** The rates whose busiest window is reported, as indices into the window counters. */
export const RATE = {
  standardStarts: 0,
  standardTransitions: 1,
  expressStarts: 2,
  putEventsEntries: 3,
  ruleInvocations: 4,
  lambdaInvocations: 5,
  sqsRequests: 6,
  /** Real milliseconds of Lambda invocations that ended in the window: ÷ window length = mean concurrency. */
  lambdaBusyMs: 7,
} as const;
const RATES = 8;

/** Per-partition limits: a partition serves at most 1,000 WCU and 3,000 RCU a second. */
const PARTITION_WRITE_LIMIT = 1000;
const PARTITION_READ_LIMIT = 3000;

export interface HotPartition {
  readonly table: string;
  readonly partitionKey: string;
  readonly writeUnits: number;
  readonly readUnits: number;
}

/**
 * Counters over tumbling windows of (virtual) time, aligned to multiples of the window: each add lands in the
 * window of its timestamp; when time moves into a new window the finished one's totals are folded into the
 * peaks and the counters restart. Only the current window is kept, so memory does not grow with the run.
 */
export class UsageWindows {
  readonly windowMs: number;
  private index = Number.NaN;
  private readonly current = new Float64Array(RATES);
  private readonly peaks = new Float64Array(RATES);
  /** Units per partition in the current window: `table` (or `table/index`) → partition key value. */
  private heat = new Map<string, Map<string, { read: number; write: number }>>();
  private hottest: HotPartition | undefined;
  private hottestScore = 0;

  constructor(windowSeconds: number) {
    if (!(windowSeconds > 0)) throw new Error(`peakWindowSeconds must be positive (${windowSeconds})`);
    this.windowMs = windowSeconds * 1000;
  }

  add(rate: number, amount: number, atMs: number): void {
    const index = Math.floor(atMs / this.windowMs);
    if (index !== this.index) this.roll(index);
    this.current[rate] = (this.current[rate] ?? 0) + amount;
  }

  /** Read or write units on one partition (table, or `table/index` for an index's partition). */
  addUnits(table: string, partitionKey: string, write: boolean, units: number, atMs: number): void {
    const index = Math.floor(atMs / this.windowMs);
    if (index !== this.index) this.roll(index);
    let partitions = this.heat.get(table);
    if (partitions === undefined) {
      partitions = new Map();
      this.heat.set(table, partitions);
    }
    const entry = partitions.get(partitionKey);
    if (entry === undefined)
      partitions.set(partitionKey, write ? { read: 0, write: units } : { read: units, write: 0 });
    else if (write) entry.write += units;
    else entry.read += units;
  }

  /** Busiest window's rate per second (the current window included). */
  perSecond(rate: number): number {
    return Math.max(this.peaks[rate] ?? 0, this.current[rate] ?? 0) / (this.windowMs / 1000);
  }

  /**
   * The partition nearest its limits in any window: the largest of write units ÷ 1,000 and read units ÷ 3,000
   * (the per-partition throughput), with its units per second in that window.
   */
  hottestPartition(): HotPartition | undefined {
    const [current, score] = this.hottestOfWindow();
    const best = current && score > this.hottestScore ? current : this.hottest;
    if (!best) return undefined;
    const seconds = this.windowMs / 1000;
    return { ...best, writeUnits: best.writeUnits / seconds, readUnits: best.readUnits / seconds };
  }

  reset(): void {
    this.index = Number.NaN;
    this.current.fill(0);
    this.peaks.fill(0);
    this.heat = new Map();
    this.hottest = undefined;
    this.hottestScore = 0;
  }

  private roll(index: number): void {
    for (let i = 0; i < RATES; i++) {
      if ((this.current[i] ?? 0) > (this.peaks[i] ?? 0)) this.peaks[i] = this.current[i] ?? 0;
    }
    this.current.fill(0);
    const [hot, score] = this.hottestOfWindow();
    if (hot && score > this.hottestScore) {
      this.hottest = hot;
      this.hottestScore = score;
    }
    if (this.heat.size > 0) this.heat = new Map();
    this.index = index;
  }

  private hottestOfWindow(): [HotPartition | undefined, number] {
    let best: HotPartition | undefined;
    let bestScore = 0;
    for (const [table, partitions] of this.heat) {
      for (const [partitionKey, units] of partitions) {
        const score = Math.max(units.write / PARTITION_WRITE_LIMIT, units.read / PARTITION_READ_LIMIT);
        if (score > bestScore) {
          bestScore = score;
          best = { table, partitionKey, writeUnits: units.write, readUnits: units.read };
        }
      }
    }
    return [best, bestScore];
  }
}

// ─── Logs ────────────────────────────────────────────────────────────────────────────────────────────────

/** CloudWatch Logs counts 26 bytes per log event on top of its message (PutLogEvents' batch size rule). */
export const LOG_EVENT_OVERHEAD_BYTES = 26;

const SAMPLE_REQUEST_ID = '8f5c2b1e-3a4d-4e6f-9a0b-1c2d3e4f5a6b';
const SAMPLE_TIME = '2026-11-23T09:00:00.000Z';
const SAMPLE_TRACE =
  ',"tracing":{"spanId":"0123456789abcdef","type":"X-Amzn-Trace-Id","value":"Root=1-67891233-abcdef012345678912345678;Parent=0123456789abcdef;Sampled=1"}';

/**
 * Bytes the Lambda service itself logs per invocation (the platform lines: START/END/REPORT in Text format,
 * platform.start and platform.report records in JSON format, with the X-Ray trace when tracing is active),
 * each with the per-event overhead. Typical figures, from the formats Lambda writes.
 */
export function platformLogBytes(format: 'JSON' | 'Text', tracing: boolean, memoryMb: number): number {
  const lines =
    format === 'JSON'
      ? [
          `{"time":"${SAMPLE_TIME}","type":"platform.start","record":{"requestId":"${SAMPLE_REQUEST_ID}","version":"$LATEST"}}`,
          `{"time":"${SAMPLE_TIME}","type":"platform.report","record":{"requestId":"${SAMPLE_REQUEST_ID}","metrics":{"durationMs":123.456,"billedDurationMs":124,"memorySizeMB":${memoryMb},"maxMemoryUsedMB":96}${tracing ? SAMPLE_TRACE : ''},"status":"success"}}`,
        ]
      : [
          `START RequestId: ${SAMPLE_REQUEST_ID} Version: $LATEST`,
          `END RequestId: ${SAMPLE_REQUEST_ID}`,
          `REPORT RequestId: ${SAMPLE_REQUEST_ID}\tDuration: 123.45 ms\tBilled Duration: 124 ms\tMemory Size: ${memoryMb} MB\tMax Memory Used: 96 MB\t${tracing ? '\nXRAY TraceId: 1-67891233-abcdef012345678912345678\tSegmentId: 0123456789abcdef\tSampled: true\t' : ''}`,
        ];
  return lines.reduce((n, line) => n + Buffer.byteLength(line) + LOG_EVENT_OVERHEAD_BYTES, 0);
}

export type StateMachineLogLevel = 'ALL' | 'ERROR' | 'FATAL' | 'OFF';

const FAILURE_EVENT = /Failed|TimedOut|Aborted/;
const FATAL_EVENT = /^Execution(Failed|TimedOut|Aborted)$/;
/** The JSON record of a history event without its details and variable parts (CloudWatch's Step Functions log format). */
const STATE_LOG_BASE = Buffer.byteLength(
  '{"id":"","type":"","details":{},"previous_event_id":"","event_timestamp":"1764000000000","execution_arn":"","redrive_count":"0"}',
);

/**
 * Estimated bytes a state machine's log group ingests for one execution's history at `level` (execution data
 * excluded): one record per history event, plus the TaskScheduled and TaskStarted events AWS writes for each
 * Task attempt (the local history keeps only the state's entry, exit and failure).
 */
export function stateMachineLogBytes(
  history: readonly HistoryEvent[],
  executionArn: string,
  level: StateMachineLogLevel,
): number {
  if (level === 'OFF') return 0;
  const arn = Buffer.byteLength(executionArn);
  let bytes = 0;
  const record = (type: string, id: number, detail: number) => {
    bytes += STATE_LOG_BASE + arn + type.length + 2 * String(id).length + detail + LOG_EVENT_OVERHEAD_BYTES;
  };
  for (const event of history) {
    if (level === 'ERROR' && !FAILURE_EVENT.test(event.type)) continue;
    if (level === 'FATAL' && !FATAL_EVENT.test(event.type)) continue;
    const details = (event.stateEnteredEventDetails ?? event.stateExitedEventDetails) as
      | { name?: string }
      | undefined;
    record(event.type, event.id, details?.name ? details.name.length + 10 : 40);
    if (level === 'ALL' && (event.type === 'TaskStateEntered' || event.type === 'TaskStateRetried')) {
      record('TaskScheduled', event.id, 120);
      record('TaskStarted', event.id, 40);
    }
  }
  return bytes;
}

// ─── DynamoDB operations ─────────────────────────────────────────────────────────────────────────────────

type Shape =
  | 'item'
  | 'query'
  | 'scan'
  | 'batchGet'
  | 'batchWrite'
  | 'transactGet'
  | 'transactWrite'
  | 'statement';

interface DynamoOp {
  readonly write: boolean;
  readonly shape: Shape;
  /** The item's place in the input: `Item` (Put) or `Key`. */
  readonly itemField?: 'Item' | 'Key';
  readonly update?: boolean;
}

/** Data-plane operations that return ConsumedCapacity, by `DynamoDB.<Command>` (low-level and document client). */
const DYNAMO_OPS = new Map<string, DynamoOp>();
for (const [low, doc, op] of [
  ['GetItem', 'Get', { write: false, shape: 'item', itemField: 'Key' }],
  ['PutItem', 'Put', { write: true, shape: 'item', itemField: 'Item' }],
  ['UpdateItem', 'Update', { write: true, shape: 'item', itemField: 'Key', update: true }],
  ['DeleteItem', 'Delete', { write: true, shape: 'item', itemField: 'Key' }],
  ['Query', 'Query', { write: false, shape: 'query' }],
  ['Scan', 'Scan', { write: false, shape: 'scan' }],
  ['BatchGetItem', 'BatchGet', { write: false, shape: 'batchGet' }],
  ['BatchWriteItem', 'BatchWrite', { write: true, shape: 'batchWrite' }],
  ['TransactGetItems', 'TransactGet', { write: false, shape: 'transactGet' }],
  ['TransactWriteItems', 'TransactWrite', { write: true, shape: 'transactWrite' }],
  ['ExecuteStatement', 'ExecuteStatement', { write: false, shape: 'statement' }],
  ['BatchExecuteStatement', 'BatchExecuteStatement', { write: false, shape: 'statement' }],
  ['ExecuteTransaction', 'ExecuteTransaction', { write: false, shape: 'statement' }],
] as const) {
  DYNAMO_OPS.set(`DynamoDB.${low}`, op);
  DYNAMO_OPS.set(`DynamoDB.${doc}`, op);
}

interface Consumed {
  TableName?: string;
  CapacityUnits?: number;
  Table?: { CapacityUnits?: number };
  GlobalSecondaryIndexes?: Record<string, { CapacityUnits?: number }>;
}

interface TableKeys {
  readonly partitionKey: string;
  /** Each global secondary index's partition key attribute. */
  readonly indexes: ReadonlyMap<string, string>;
}

/** One item an operation touches (its key, or its whole item for a put), with its table. */
interface Touch {
  readonly table: string;
  readonly item: Record<string, unknown> | undefined;
  readonly put: boolean;
}

type Dict = Record<string, unknown>;

/** Marks the ConsumedCapacity request as ours: the input the caller gave, to restore. */
const OURS = Symbol('usage-meter');
/** A watched call whose input was left as the caller gave it. */
const WATCH: object = Object.freeze({});

// ─── The meter ───────────────────────────────────────────────────────────────────────────────────────────

export interface UsageMeterServices {
  readonly model: CloudModel;
  readonly clock: LocalClock;
  readonly meter: SdkMeter;
  readonly lambda: LambdaRuntime;
  readonly sfn: SfnService;
  readonly events: EventBridgeService;
  readonly sqs: SqsService;
  /** Reads table sizes (DescribeTable) for the storage figure. */
  readonly dynamodb: DynamoDBClient;
  readonly tables: readonly { readonly resource: TemplateResource; readonly name: string }[];
}

export interface UsageMeterOptions {
  /** The window of virtual time peaks are averaged over. @default 60 */
  readonly peakWindowSeconds?: number;
}

/** Figures beside {@link AwsUsage}: what the estimates are made of. */
export interface UsageDetails {
  readonly lambda: {
    /** Busiest window's real invocation time ÷ window length (Little's law: rate × mean duration). */
    readonly littleConcurrency: number;
    /** Most invocations in flight at once in this process. */
    readonly observedConcurrency: number;
    /** Mean real duration of the invocations counted, ms. */
    readonly meanDurationMs: number;
  };
  readonly sqs: {
    /** Requests the SDK made (empty long polls left out: their number is wall-clock driven locally). */
    readonly metered: number;
    /** Empty long polls the local pollers made, left out of `requests`. */
    readonly localEmptyLongPolls: number;
    /** Idle long polls Lambda's pollers would make over the window (pollers × seconds ÷ 20 s per poll). */
    readonly modelledIdlePolls: number;
    /** Calls made by handlers on worker threads, counted one request each (payload sizes not seen). */
    readonly workerCalls: number;
  };
  readonly dynamodb: {
    /** Calls billed from the ConsumedCapacity DynamoDB returned. */
    readonly measuredCalls: number;
    /** Calls whose units were computed from item sizes instead: the sum of the three below. */
    readonly estimatedCalls: number;
    /** Conditional writes that failed (AWS bills them; DynamoDB answers without ConsumedCapacity). */
    readonly conditionalCheckFailures: number;
    /** Cancelled transactions. */
    readonly cancelledTransactions: number;
    /** Successful calls answered without ConsumedCapacity (none expected from DynamoDB Local). */
    readonly withoutConsumedCapacity: number;
    /** DynamoDB calls from worker-thread handlers, not metered for units. */
    readonly unmeteredWorkerCalls: number;
  };
  readonly logs: {
    readonly functionLines: number;
    readonly functionLineBytes: number;
    readonly lambdaPlatformBytes: number;
    readonly stateMachineBytes: number;
  };
}

interface FunctionCounter {
  readonly memoryMb: number;
  readonly platformLogBytes: number;
  requests: number;
  gbSeconds: number;
}

interface MachineInfo {
  readonly name: string;
  readonly express: boolean;
  readonly logLevel: StateMachineLogLevel;
  executions: number;
  transitions: number;
}

/**
 * Meters every AWS operation a local-cloud run performs, as AWS would bill and throttle it, on the cloud's
 * clock (virtual time under a simulation). Counts run from construction or the last {@link start}; see
 * {@link AwsUsage} for what each figure means. Hooks: the SDK meter (DynamoDB units, SQS requests), the
 * Lambda runtime (requests, real durations, log lines), Step Functions (executions, transitions), the
 * EventBridge service (entries, rule invocations, archive, replay). Existing hooks are chained, not replaced.
 *
 * DynamoDB units are what DynamoDB Local returns as ConsumedCapacity: the meter asks for it (`INDEXES`) on
 * every data-plane call whose caller did not, and removes it from the output again, so callers see what they
 * would have without the meter. Failed conditional writes and cancelled transactions (billed by AWS, answered
 * without ConsumedCapacity) are computed from item sizes.
 */
export class UsageMeter implements SdkCallObserver {
  readonly windows: UsageWindows;
  private readonly clock: LocalClock;
  private readonly services: UsageMeterServices;
  private readonly functions = new Map<string, FunctionCounter>();
  private readonly machines = new Map<string, MachineInfo>();
  private readonly keys = new Map<string, TableKeys>();
  private readonly tableUnits = new Map<string, { read: number; write: number }>();
  private readonly storage = new Map<string, number>();
  private readonly expressStarted = new WeakMap<LocalExecution, number>();
  private readonly idlePollers: number;
  /** The cloud runs on the real clock (in-flight invocations are then real concurrency). */
  private readonly realTime: boolean;
  private fromMs = 0;

  // Counters since start().
  private standardExecutions = 0;
  private standardTransitions = 0;
  private expressRequests = 0;
  private expressGbSecondsTotal = 0;
  private lambdaRequests = 0;
  private lambdaDurationMs = 0;
  private events = 0;
  private ruleInvocations = 0;
  private archivedEvents = 0;
  private archivedBytes = 0;
  private replayedEvents = 0;
  private readUnitsTotal = 0;
  private writeUnitsTotal = 0;
  private sqsRequests = 0;
  private sqsEmptyLongPolls = 0;
  private sqsWorkerCalls = 0;
  private dynamoMeasured = 0;
  private dynamoConditionFailures = 0;
  private dynamoCancelled = 0;
  private dynamoWithoutCapacity = 0;
  private dynamoWorkerCalls = 0;
  private logLines = 0;
  private logLineBytes = 0;
  private platformBytes = 0;
  private stateMachineBytes = 0;
  private observedInFlight = 0;
  private openStandard = 0;
  private openStandardPeak = 0;

  constructor(services: UsageMeterServices, options: UsageMeterOptions = {}) {
    this.services = services;
    this.clock = services.clock;
    this.realTime = services.clock === realClock;
    this.windows = new UsageWindows(options.peakWindowSeconds ?? 60);
    const { model, lambda, sfn, events, sqs, meter } = services;

    for (const fn of lambda.functions.values()) {
      const p = model.resolvedProperties(fn.resource);
      const memoryMb = Number(p.MemorySize ?? 128);
      const format =
        (p.LoggingConfig as { LogFormat?: string } | undefined)?.LogFormat === 'JSON' ? 'JSON' : 'Text';
      const tracing = (p.TracingConfig as { Mode?: string } | undefined)?.Mode === 'Active';
      this.functions.set(fn.name, {
        memoryMb,
        platformLogBytes: platformLogBytes(format, tracing, memoryMb),
        requests: 0,
        gbSeconds: 0,
      });
    }
    for (const machine of sfn.machines.values()) {
      const logging = model.resolvedProperties(machine.resource).LoggingConfiguration as
        | { Level?: string; Destinations?: unknown[] }
        | undefined;
      const level = (
        logging?.Destinations?.length ? (logging.Level ?? 'OFF') : 'OFF'
      ) as StateMachineLogLevel;
      this.machines.set(machine.arn, {
        name: machine.name,
        express: machine.type === 'EXPRESS',
        logLevel: level,
        executions: 0,
        transitions: 0,
      });
    }
    for (const table of services.tables) {
      const p = model.resolvedProperties(table.resource) as {
        KeySchema?: { AttributeName: string; KeyType: string }[];
        GlobalSecondaryIndexes?: {
          IndexName: string;
          KeySchema: { AttributeName: string; KeyType: string }[];
        }[];
      };
      const hash = (schema: { AttributeName: string; KeyType: string }[] | undefined) =>
        schema?.find((k) => k.KeyType === 'HASH')?.AttributeName ?? '';
      this.keys.set(table.name, {
        partitionKey: hash(p.KeySchema),
        indexes: new Map((p.GlobalSecondaryIndexes ?? []).map((g) => [g.IndexName, hash(g.KeySchema)])),
      });
    }
    this.idlePollers = sqs.mappings.reduce((n, mapping) => n + pollersOf(mapping), 0);

    // Hooks: chained after whatever is there (CloudWatch's), never replacing it.
    const onLog = lambda.onLog;
    lambda.onLog = (line) => {
      onLog?.(line);
      this.logged(line);
    };
    const onInvocation = lambda.onInvocation;
    lambda.onInvocation = (record) => {
      onInvocation?.(record);
      this.invoked(record);
    };
    const onInvocationStart = lambda.onInvocationStart;
    lambda.onInvocationStart = (fn) => {
      onInvocationStart?.(fn);
      this.invocationStarted(fn);
    };
    const onExecution = sfn.onExecution;
    sfn.onExecution = (execution) => {
      onExecution?.(execution);
      this.execution(execution);
    };
    const onTransition = sfn.onTransition;
    sfn.onTransition = (machine, execution, retry) => {
      onTransition?.(machine, execution, retry);
      this.transition(machine);
    };
    const busUsage = events.usage;
    events.usage = {
      accepted: (bytes) => {
        busUsage?.accepted(bytes);
        this.busAccepted(bytes);
      },
      archived: (event, bytes) => {
        busUsage?.archived(event, bytes);
        this.busArchived(event, bytes);
      },
      invoked: (rule, arn) => {
        busUsage?.invoked(rule, arn);
        this.ruleInvoked(rule);
      },
      replayed: (n) => {
        busUsage?.replayed(n);
        this.replayedEvents += n;
      },
    };
    if (meter.observer) throw new Error('the SDK meter already has an observer');
    meter.observer = this;
    this.start();
  }

  /** Starts a new measurement: every count and peak back to zero, the window opening now (virtual time). */
  start(): void {
    this.fromMs = this.now();
    this.windows.reset();
    this.standardExecutions = 0;
    this.standardTransitions = 0;
    this.expressRequests = 0;
    this.expressGbSecondsTotal = 0;
    this.lambdaRequests = 0;
    this.lambdaDurationMs = 0;
    this.events = 0;
    this.ruleInvocations = 0;
    this.archivedEvents = 0;
    this.archivedBytes = 0;
    this.replayedEvents = 0;
    this.readUnitsTotal = 0;
    this.writeUnitsTotal = 0;
    this.sqsRequests = 0;
    this.sqsEmptyLongPolls = 0;
    this.sqsWorkerCalls = 0;
    this.dynamoMeasured = 0;
    this.dynamoConditionFailures = 0;
    this.dynamoCancelled = 0;
    this.dynamoWithoutCapacity = 0;
    this.dynamoWorkerCalls = 0;
    this.logLines = 0;
    this.logLineBytes = 0;
    this.platformBytes = 0;
    this.stateMachineBytes = 0;
    this.observedInFlight = this.services.lambda.inFlight;
    this.openStandardPeak = this.openStandard;
    for (const fn of this.functions.values()) {
      fn.requests = 0;
      fn.gbSeconds = 0;
    }
    for (const machine of this.machines.values()) {
      machine.executions = 0;
      machine.transitions = 0;
    }
    this.tableUnits.clear();
  }

  /** Same as {@link start}. */
  reset(): void {
    this.start();
  }

  /**
   * The usage since {@link start}, without ending the measurement (counting goes on). Storage is as last read
   * by {@link refreshStorage} (0 for a table never read): {@link measure} reads it first.
   */
  snapshot(orders = 0): AwsUsage {
    const nowMs = this.now();
    const seconds = Math.max(0, (nowMs - this.fromMs) / 1000);
    const w = this.windows;
    const byMachine: Record<string, { executions: number; transitions: number }> = {};
    for (const m of this.machines.values())
      if (!m.express) byMachine[m.name] = { executions: m.executions, transitions: m.transitions };
    const byFunction: Record<string, { requests: number; gbSeconds: number; memoryMb: number }> = {};
    let gbSeconds = 0;
    for (const [name, fn] of this.functions) {
      byFunction[name] = { requests: fn.requests, gbSeconds: fn.gbSeconds, memoryMb: fn.memoryMb };
      gbSeconds += fn.gbSeconds;
    }
    const byTable: Record<
      string,
      { readRequestUnits: number; writeRequestUnits: number; storedBytes: number }
    > = {};
    const tableNames = new Set([...this.keys.keys(), ...this.tableUnits.keys(), ...this.storage.keys()]);
    let storedBytes = 0;
    for (const name of tableNames) {
      const units = this.tableUnits.get(name);
      const stored = this.storage.get(name) ?? 0;
      storedBytes += stored;
      byTable[name] = {
        readRequestUnits: units?.read ?? 0,
        writeRequestUnits: units?.write ?? 0,
        storedBytes: stored,
      };
    }
    const hot = w.hottestPartition();
    const details = this.details();
    return {
      window: { from: new Date(this.fromMs).toISOString(), to: new Date(nowMs).toISOString(), seconds },
      orders,
      stepFunctions: {
        standardExecutions: this.standardExecutions,
        standardTransitions: this.standardTransitions,
        standardTransitionsByMachine: byMachine,
        expressRequests: this.expressRequests,
        expressGbSeconds: this.expressGbSecondsTotal,
      },
      lambda: { requests: this.lambdaRequests, gbSeconds, byFunction },
      eventBridge: {
        events: this.events,
        invocations: this.ruleInvocations,
        archivedEvents: this.archivedEvents,
        archivedBytes: this.archivedBytes,
        replayedEvents: this.replayedEvents,
      },
      dynamodb: {
        readRequestUnits: this.readUnitsTotal,
        writeRequestUnits: this.writeUnitsTotal,
        storedBytes,
        byTable,
      },
      sqs: { requests: this.sqsRequests + this.sqsWorkerCalls + details.sqs.modelledIdlePolls },
      logs: {
        bytesIngested: this.logLineBytes + this.platformBytes + this.stateMachineBytes,
      },
      peaks: {
        peakWindowSeconds: w.windowMs / 1000,
        standardStartExecutionPerSecond: w.perSecond(RATE.standardStarts),
        standardTransitionsPerSecond: w.perSecond(RATE.standardTransitions),
        openStandardExecutions: this.openStandardPeak,
        expressStartExecutionPerSecond: w.perSecond(RATE.expressStarts),
        putEventsEntriesPerSecond: w.perSecond(RATE.putEventsEntries),
        ruleInvocationsPerSecond: w.perSecond(RATE.ruleInvocations),
        lambdaInvocationsPerSecond: w.perSecond(RATE.lambdaInvocations),
        lambdaConcurrency: this.realTime
          ? Math.max(details.lambda.littleConcurrency, details.lambda.observedConcurrency)
          : details.lambda.littleConcurrency,
        dynamodbHottestPartition: {
          table: hot?.table ?? '',
          partitionKey: hot?.partitionKey ?? '',
          writeUnitsPerSecond: hot?.writeUnits ?? 0,
          readUnitsPerSecond: hot?.readUnits ?? 0,
        },
        sqsRequestsPerSecond: w.perSecond(RATE.sqsRequests),
      },
    };
  }

  /**
   * The run's usage for `orders` accepted orders (the cost model's denominator): {@link snapshot}.
   *
   * `peaks.lambdaConcurrency` is Little's law: the busiest window's invocations per second × their mean real
   * duration (i.e. real invocation time in the window ÷ its length), the concurrency AWS would need at that
   * rate. Under a virtual clock that is all that is reported: the most invocations seen in flight at once then
   * measures how the simulation batches arrivals onto virtual instants (a minute's orders at one instant all
   * overlap locally) and the local engine's own limits (five pollers a mapping), not what AWS would run. On
   * the real clock in-flight invocations are real concurrency, and catch bursts shorter than a window that
   * Little's law averages away: the larger of the two is reported. Both are in {@link details}.
   */
  report(orders: number): AwsUsage {
    return this.snapshot(orders);
  }

  /** {@link report}, with every table's stored bytes read first. */
  async measure(orders: number): Promise<AwsUsage> {
    await this.refreshStorage();
    return this.report(orders);
  }

  /**
   * Reads every template table's size now (DescribeTable; DynamoDB Local keeps TableSizeBytes current, unlike
   * AWS's six-hourly figure), as AWS bills storage: the table's and each global secondary index's bytes plus
   * 100 bytes of overhead per item in each. DynamoDB Local sizes an index by whole items whatever its
   * projection, so KEYS_ONLY and INCLUDE indexes are overstated.
   */
  async refreshStorage(): Promise<void> {
    await Promise.all(
      this.services.tables.map(async ({ name }) => {
        const { Table } = await this.services.dynamodb.send(new DescribeTableCommand({ TableName: name }));
        let bytes = (Table?.TableSizeBytes ?? 0) + 100 * (Table?.ItemCount ?? 0);
        for (const index of Table?.GlobalSecondaryIndexes ?? [])
          bytes += (index.IndexSizeBytes ?? 0) + 100 * (index.ItemCount ?? 0);
        this.storage.set(name, bytes);
      }),
    );
  }

  /** What the estimates are made of (see {@link UsageDetails}). */
  details(): UsageDetails {
    const seconds = Math.max(0, (this.now() - this.fromMs) / 1000);
    return {
      lambda: {
        littleConcurrency: this.windows.perSecond(RATE.lambdaBusyMs) / 1000,
        observedConcurrency: this.observedInFlight,
        meanDurationMs: this.lambdaRequests ? this.lambdaDurationMs / this.lambdaRequests : 0,
      },
      sqs: {
        metered: this.sqsRequests,
        localEmptyLongPolls: this.sqsEmptyLongPolls,
        // Lambda's pollers long-poll for 20 s: an idle poller makes three requests a minute.
        modelledIdlePolls: Math.round((this.idlePollers * seconds) / 20),
        workerCalls: this.sqsWorkerCalls,
      },
      dynamodb: {
        measuredCalls: this.dynamoMeasured,
        estimatedCalls: this.dynamoConditionFailures + this.dynamoCancelled + this.dynamoWithoutCapacity,
        conditionalCheckFailures: this.dynamoConditionFailures,
        cancelledTransactions: this.dynamoCancelled,
        withoutConsumedCapacity: this.dynamoWithoutCapacity,
        unmeteredWorkerCalls: this.dynamoWorkerCalls,
      },
      logs: {
        functionLines: this.logLines,
        functionLineBytes: this.logLineBytes,
        lambdaPlatformBytes: this.platformBytes,
        stateMachineBytes: this.stateMachineBytes,
      },
    };
  }

  /** SDK calls counted on worker threads (no inputs or outputs seen): SQS a request each, DynamoDB noted as unmetered. */
  addWorkerCalls(calls: Iterable<[string, number]>): void {
    const at = this.now();
    for (const [key, n] of calls) {
      if (key.startsWith('SQS.')) {
        this.sqsWorkerCalls += n;
        this.windows.add(RATE.sqsRequests, n, at);
      } else if (DYNAMO_OPS.has(key)) this.dynamoWorkerCalls += n;
    }
  }

  // ─── SDK observer ──────────────────────────────────────────────────────────────────────────────────────

  sending(service: string, key: string, command: SdkCommand): object | undefined {
    if (service === 'DynamoDB') {
      if (!DYNAMO_OPS.has(key)) return undefined;
      const input = command.input;
      const asking = input.ReturnConsumedCapacity;
      if (asking === 'TOTAL' || asking === 'INDEXES') return WATCH;
      const asked = { ...input, ReturnConsumedCapacity: 'INDEXES', [OURS]: input };
      if (command.clientCommand) command.clientCommand.input = asked;
      else command.input = asked;
      return asked;
    }
    if (service === 'SQS') {
      let requests = 1;
      if (key === 'SQS.ReceiveMessage') return WATCH;
      if (key === 'SQS.SendMessage')
        requests = textChunks64k(command.input.MessageBody as string | undefined);
      else if (key === 'SQS.SendMessageBatch') requests = batchChunks(command.input.Entries);
      this.sqsCounted(requests);
    }
    return undefined;
  }

  settled(
    service: string,
    key: string,
    command: SdkCommand,
    token: object,
    sent: Promise<unknown>,
  ): Promise<unknown> {
    if (service === 'SQS') return this.settledReceive(command, sent);
    return this.settledDynamo(key, command, token, sent);
  }

  private async settledReceive(command: SdkCommand, sent: Promise<unknown>): Promise<unknown> {
    let output: { Messages?: { Body?: string }[] } | undefined;
    try {
      output = (await sent) as typeof output;
      return output;
    } finally {
      const messages = output?.Messages;
      if (messages?.length) {
        let chars = 0;
        for (const m of messages) chars += m.Body?.length ?? 0;
        this.sqsCounted(
          chars * 3 <= CHUNK_BYTES
            ? 1
            : chunks64k(messages.reduce((n, m) => n + Buffer.byteLength(m.Body ?? ''), 0)),
        );
      } else if (Number(command.input.WaitTimeSeconds ?? 0) > 0) {
        // An empty long poll: how many the local pollers make depends on wall time, not on the work.
        this.sqsEmptyLongPolls += 1;
      } else this.sqsCounted(1);
    }
  }

  private sqsCounted(requests: number): void {
    this.sqsRequests += requests;
    this.windows.add(RATE.sqsRequests, requests, this.now());
  }

  private async settledDynamo(
    key: string,
    command: SdkCommand,
    token: object,
    sent: Promise<unknown>,
  ): Promise<unknown> {
    const op = DYNAMO_OPS.get(key) as DynamoOp;
    const ours = token !== WATCH;
    const input = ours ? ((token as Record<symbol, Dict>)[OURS] as Dict) : command.input;
    const marshalled = command.clientCommand === undefined;
    try {
      const output = (await sent) as Dict & { ConsumedCapacity?: Consumed | Consumed[] };
      const consumed = output?.ConsumedCapacity;
      if (consumed !== undefined) {
        this.dynamoMeasured += 1;
        this.consumed(op, input, consumed);
        if (ours) delete output.ConsumedCapacity;
      } else {
        this.dynamoWithoutCapacity += 1;
        this.estimated(op, input, marshalled, output);
      }
      return output;
    } catch (error) {
      this.failed(op, input, marshalled, error as { name?: string; Item?: Dict });
      throw error;
    } finally {
      if (ours) {
        if (command.clientCommand) command.clientCommand.input = input;
        else command.input = input;
      }
    }
  }

  /** Units from the ConsumedCapacity DynamoDB returned, to the totals, each table and each partition touched. */
  private consumed(op: DynamoOp, input: Dict, consumed: Consumed | Consumed[]): void {
    const at = this.now();
    const write = op.shape === 'statement' ? isWriteStatement(input) : op.write;
    if (!Array.isArray(consumed)) {
      const units = consumed.CapacityUnits ?? 0;
      const table = tableNameOf(consumed.TableName ?? (input.TableName as string | undefined));
      this.tableTotal(table, write, units);
      if (op.shape === 'item') {
        const item = input[op.itemField ?? 'Key'] as Dict | undefined;
        this.itemHeat(table, item, input, op, write, consumed, at);
      } else if (op.shape === 'query') {
        const index = input.IndexName as string | undefined;
        const keys = this.keys.get(table);
        const attribute = index ? keys?.indexes.get(index) : keys?.partitionKey;
        if (attribute) {
          const value = partitionKeyText(
            assignedValue(
              input.KeyConditionExpression as string | undefined,
              input.ExpressionAttributeNames as Record<string, string> | undefined,
              input.ExpressionAttributeValues as Dict | undefined,
              attribute,
            ),
          );
          if (value !== undefined)
            this.windows.addUnits(index ? `${table}/${index}` : table, value, write, units, at);
        }
      }
      return;
    }
    // Several tables (batches, transactions): each table's units shared evenly by the items it touched.
    const touches = op.shape === 'statement' ? [] : touchesOf(op, input);
    for (const c of consumed) {
      const table = tableNameOf(c.TableName);
      this.tableTotal(table, write, c.CapacityUnits ?? 0);
      const mine = touches.filter((t) => tableNameOf(t.table) === table);
      if (mine.length === 0) continue;
      const keys = this.keys.get(table);
      const base = (c.Table?.CapacityUnits ?? c.CapacityUnits ?? 0) / mine.length;
      for (const t of mine) {
        const value = keys && partitionKeyText(t.item?.[keys.partitionKey]);
        if (value !== undefined) this.windows.addUnits(table, value, write, base, at);
      }
      for (const [index, units] of Object.entries(c.GlobalSecondaryIndexes ?? {})) {
        const attribute = keys?.indexes.get(index);
        if (!attribute) continue;
        const values = mine.map((t) => partitionKeyText(t.item?.[attribute])).filter((v) => v !== undefined);
        for (const value of values)
          this.windows.addUnits(
            `${table}/${index}`,
            value,
            write,
            (units.CapacityUnits ?? 0) / values.length,
            at,
          );
      }
    }
  }

  /** One item's units on its table partition, and each index's units on the index partition the item lands in. */
  private itemHeat(
    table: string,
    item: Dict | undefined,
    input: Dict,
    op: DynamoOp,
    write: boolean,
    consumed: Consumed,
    at: number,
  ): void {
    const keys = this.keys.get(table);
    if (!keys || !item) return;
    const value = partitionKeyText(item[keys.partitionKey]);
    if (value !== undefined)
      this.windows.addUnits(
        table,
        value,
        write,
        consumed.Table?.CapacityUnits ?? consumed.CapacityUnits ?? 0,
        at,
      );
    const indexes = consumed.GlobalSecondaryIndexes;
    if (!indexes) return;
    for (const index in indexes) {
      const attribute = keys.indexes.get(index);
      if (!attribute) continue;
      // The item's index key: in a Put's item, or what an update sets (a delete's old value is not known).
      const indexValue = partitionKeyText(
        op.itemField === 'Item'
          ? item[attribute]
          : op.update
            ? assignedValue(
                input.UpdateExpression as string | undefined,
                input.ExpressionAttributeNames as Record<string, string> | undefined,
                input.ExpressionAttributeValues as Dict | undefined,
                attribute,
              )
            : undefined,
      );
      if (indexValue !== undefined)
        this.windows.addUnits(`${table}/${index}`, indexValue, write, indexes[index]?.CapacityUnits ?? 0, at);
    }
  }

  private tableTotal(table: string, write: boolean, units: number): void {
    let totals = this.tableUnits.get(table);
    if (!totals) {
      totals = { read: 0, write: 0 };
      this.tableUnits.set(table, totals);
    }
    if (write) {
      totals.write += units;
      this.writeUnitsTotal += units;
    } else {
      totals.read += units;
      this.readUnitsTotal += units;
    }
  }

  /**
   * A call that failed. AWS bills a failed conditional write by the larger of the existing and the new item
   * (1 WCU at least): the new item for a put, the old one if the caller asked for it back, 1 otherwise. A
   * cancelled transaction is charged here for its prepare phase: each action's units once, not doubled.
   * Other errors (validation, missing table) consume nothing.
   */
  private failed(
    op: DynamoOp,
    input: Dict,
    marshalled: boolean,
    error: { name?: string; Item?: Dict },
  ): void {
    let units = 0;
    let table = tableNameOf(input.TableName as string | undefined);
    if (error?.name === 'ConditionalCheckFailedException' && op.shape === 'item' && op.write) {
      const item = op.itemField === 'Item' ? (input.Item as Dict | undefined) : undefined;
      units = Math.max(
        item ? writeUnits(itemSize(item, marshalled)) : 1,
        error.Item ? writeUnits(itemSize(error.Item, true)) : 1,
      );
      const keys = this.keys.get(table);
      const value =
        keys && partitionKeyText((input[op.itemField ?? 'Key'] as Dict | undefined)?.[keys.partitionKey]);
      if (value !== undefined) this.windows.addUnits(table, value, true, units, this.now());
      this.tableTotal(table, true, units);
      this.dynamoConditionFailures += 1;
    } else if (error?.name === 'TransactionCanceledException' && op.shape === 'transactWrite') {
      this.dynamoCancelled += 1;
      for (const t of touchesOf(op, input)) {
        table = tableNameOf(t.table);
        units = t.put ? writeUnits(itemSize(t.item, marshalled)) : 1;
        this.tableTotal(table, true, units);
      }
    }
  }

  /** No ConsumedCapacity in a successful answer: units from the item sizes, by the documented rules. */
  private estimated(op: DynamoOp, input: Dict, marshalled: boolean, output: Dict | undefined): void {
    const table = tableNameOf(input.TableName as string | undefined);
    const mode = input.ConsistentRead === true ? 'strong' : 'eventual';
    switch (op.shape) {
      case 'item':
        if (!op.write)
          this.tableTotal(table, false, readUnits(itemSize(output?.Item as Dict, marshalled), mode));
        else
          this.tableTotal(
            table,
            true,
            op.itemField === 'Item' ? writeUnits(itemSize(input.Item as Dict, marshalled)) : 1,
          );
        return;
      case 'query':
      case 'scan': {
        const items = (output?.Items as Dict[] | undefined) ?? [];
        this.tableTotal(
          table,
          false,
          readUnits(
            items.reduce((n, i) => n + itemSize(i, marshalled), 0),
            mode,
          ),
        );
        return;
      }
      default:
        for (const t of touchesOf(op, input)) {
          const transactional = op.shape === 'transactGet' || op.shape === 'transactWrite';
          this.tableTotal(
            tableNameOf(t.table),
            op.write,
            op.write
              ? writeUnits(t.put ? itemSize(t.item, marshalled) : 0, transactional)
              : readUnits(0, transactional ? 'transactional' : 'eventual'),
          );
        }
    }
  }

  // ─── Lambda, Step Functions, EventBridge, logs ─────────────────────────────────────────────────────────

  private invocationStarted(_fn: LocalFunction): void {
    const inFlight = this.services.lambda.inFlight;
    if (inFlight > this.observedInFlight) this.observedInFlight = inFlight;
  }

  private invoked(record: InvocationRecord): void {
    const fn = this.functions.get(record.functionName);
    const at = this.now();
    this.lambdaRequests += 1;
    this.lambdaDurationMs += record.realDurationMs;
    this.windows.add(RATE.lambdaInvocations, 1, at);
    this.windows.add(RATE.lambdaBusyMs, record.realDurationMs, at);
    if (fn) {
      fn.requests += 1;
      fn.gbSeconds += lambdaGbSeconds(record.realDurationMs, fn.memoryMb);
      this.platformBytes += fn.platformLogBytes;
    }
  }

  private logged(line: LogLine): void {
    this.logLines += 1;
    this.logLineBytes += Buffer.byteLength(line.text) + LOG_EVENT_OVERHEAD_BYTES;
  }

  private execution(execution: LocalExecution): void {
    const machine = this.machines.get(execution.stateMachineArn);
    if (!machine) return;
    if (execution.status === 'RUNNING') {
      const at = this.now();
      if (machine.express) {
        this.expressRequests += 1;
        this.expressStarted.set(execution, performance.now());
        this.windows.add(RATE.expressStarts, 1, at);
      } else {
        this.standardExecutions += 1;
        machine.executions += 1;
        this.windows.add(RATE.standardStarts, 1, at);
        this.openStandard += 1;
        if (this.openStandard > this.openStandardPeak) this.openStandardPeak = this.openStandard;
      }
      return;
    }
    // Terminal.
    if (machine.express) {
      const started = this.expressStarted.get(execution);
      if (started !== undefined) {
        this.expressStarted.delete(execution);
        // Real time for the work, virtual time for waits on the clock: the longer is what AWS would see.
        const virtualMs = (execution.stopDate?.getTime() ?? 0) - execution.startDate.getTime();
        this.expressGbSecondsTotal += expressGbSeconds(Math.max(performance.now() - started, virtualMs));
      }
    } else this.openStandard = Math.max(0, this.openStandard - 1);
    this.stateMachineBytes += stateMachineLogBytes(
      execution.history,
      execution.executionArn,
      machine.logLevel,
    );
  }

  /** Standard transitions: each state entered (Map and Parallel inner states too) and each retry, as AWS bills them. */
  private transition(machine: LocalStateMachine): void {
    const info = this.machines.get(machine.arn);
    if (!info || info.express) return;
    info.transitions += 1;
    this.standardTransitions += 1;
    this.windows.add(RATE.standardTransitions, 1, this.now());
  }

  private busAccepted(bytes: number): void {
    const events = chunks64k(bytes);
    this.events += events;
    this.windows.add(RATE.putEventsEntries, 1, this.now());
  }

  private busArchived(event: BusEvent, bytes: number): void {
    this.archivedEvents += 1;
    this.archivedBytes += archivedEventBytes(event, bytes);
  }

  private ruleInvoked(_rule: LocalRule): void {
    this.ruleInvocations += 1;
    this.windows.add(RATE.ruleInvocations, 1, this.now());
  }

  private now(): number {
    return this.clock.now().getTime();
  }
}

/**
 * An archived event's bytes: the whole event as EventBridge stores it, i.e. the entry's counted bytes plus
 * the envelope (version, id, account, time, region, JSON punctuation), measured without serializing the detail.
 */
export function archivedEventBytes(event: BusEvent, entryBytes: number): number {
  const resources = event.resources.length;
  // {"version":"0","id":"","detail-type":"","source":"","account":"","time":"","region":"","resources":[],"detail":}
  const envelope = 112 + event.id.length + event.account.length + event.time.length + event.region.length;
  return envelope + entryBytes + 3 * resources - (resources > 0 ? 1 : 0);
}

function tableNameOf(name: string | undefined): string {
  if (name === undefined) return '';
  if (name.charCodeAt(0) === 97 /* a */ && name.startsWith('arn:')) return name.split(':table/')[1] ?? name;
  return name;
}

function isWriteStatement(input: Dict): boolean {
  const statement =
    (input.Statement as string | undefined) ??
    ((input.Statements ?? input.TransactStatements) as { Statement?: string }[] | undefined)?.[0]
      ?.Statement ??
    '';
  return !/^\s*select\b/i.test(statement);
}

function batchChunks(entries: unknown): number {
  const list = (entries as { MessageBody?: string }[] | undefined) ?? [];
  let chars = 0;
  for (const e of list) chars += e.MessageBody?.length ?? 0;
  if (chars * 3 <= CHUNK_BYTES) return 1;
  return chunks64k(list.reduce((n, e) => n + Buffer.byteLength(e.MessageBody ?? ''), 0));
}

/** The items a batch or transaction touches, with their table. */
function touchesOf(op: DynamoOp, input: Dict): Touch[] {
  const touches: Touch[] = [];
  switch (op.shape) {
    case 'batchGet':
      for (const [table, request] of Object.entries(
        (input.RequestItems as Record<string, { Keys?: Dict[] }>) ?? {},
      ))
        for (const key of request.Keys ?? []) touches.push({ table, item: key, put: false });
      break;
    case 'batchWrite':
      for (const [table, requests] of Object.entries(
        (input.RequestItems as Record<
          string,
          { PutRequest?: { Item?: Dict }; DeleteRequest?: { Key?: Dict } }[]
        >) ?? {},
      ))
        for (const r of requests)
          touches.push({
            table,
            item: r.PutRequest?.Item ?? r.DeleteRequest?.Key,
            put: r.PutRequest !== undefined,
          });
      break;
    case 'transactGet':
      for (const t of (input.TransactItems as { Get?: { TableName?: string; Key?: Dict } }[]) ?? [])
        touches.push({ table: t.Get?.TableName ?? '', item: t.Get?.Key, put: false });
      break;
    case 'transactWrite':
      for (const t of (input.TransactItems as Record<
        string,
        { TableName?: string; Key?: Dict; Item?: Dict }
      >[]) ?? []) {
        const action = t.Put ?? t.Update ?? t.Delete ?? t.ConditionCheck;
        touches.push({
          table: action?.TableName ?? '',
          item: action?.Item ?? action?.Key,
          put: t.Put !== undefined,
        });
      }
      break;
    default:
      break;
  }
  return touches;
}
