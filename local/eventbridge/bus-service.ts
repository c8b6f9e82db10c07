import { randomUUID } from 'node:crypto';
import type { LocalClock } from '../clock/clock.ts';
import { keyedJitter } from '../clock/jitter.ts';
import type { LambdaRuntime } from '../lambda/runtime.ts';
import type { SqsService } from '../sqs/sqs-service.ts';
import type { SfnService } from '../stepfunctions/sfn-service.ts';
import type { CloudModel, TemplateResource } from '../template/model.ts';
import { UnsupportedTemplateFeature } from '../template/model.ts';
import { compilePattern } from './pattern.ts';

/** An event as EventBridge delivers it to targets. */
export interface BusEvent {
  version: '0';
  id: string;
  'detail-type': string;
  source: string;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: unknown;
  'replay-name'?: string;
}

export interface PutEventsEntry {
  Source?: string;
  DetailType?: string;
  Detail?: string;
  EventBusName?: string;
  Resources?: string[];
  Time?: string | Date;
}

export interface PutEventsResultEntry {
  EventId?: string;
  ErrorCode?: string;
  ErrorMessage?: string;
}

interface Target {
  readonly id: string;
  readonly arn: string;
  readonly input?: string;
  readonly inputPath?: string;
  readonly inputTransformer?: { InputPathsMap?: Record<string, string>; InputTemplate: string };
  readonly maximumRetryAttempts: number;
  readonly maximumEventAgeSeconds: number;
  readonly deadLetterArn?: string;
}

export interface LocalRule {
  readonly resource: TemplateResource;
  readonly name: string;
  readonly arn: string;
  readonly busName: string;
  readonly pattern?: unknown;
  readonly schedule?: string;
  enabled: boolean;
  readonly matches: (event: unknown) => boolean;
  readonly targets: readonly Target[];
}

export interface LocalArchive {
  readonly name: string;
  readonly arn: string;
  readonly busName: string;
  readonly matches: (event: unknown) => boolean;
  readonly retentionDays: number;
  readonly events: { event: BusEvent; archivedAt: Date }[];
}

export interface DeliveryRecord {
  readonly eventId: string;
  readonly ruleName: string;
  readonly targetId: string;
  readonly attempts: number;
  readonly outcome: 'delivered' | 'dead-lettered' | 'dropped';
  readonly error?: string;
}

/** What the usage meter (local/usage-meter.ts) is told of the bus's billable work. */
export interface BusUsageHooks {
  /** A PutEvents entry accepted onto a bus, with its size as AWS counts it (source, detail-type, detail, resources, time). */
  accepted(sizeBytes: number): void;
  /** An accepted event stored by an archive (`sizeBytes` as for `accepted`). */
  archived(event: BusEvent, sizeBytes: number): void;
  /** A rule invoking one target (each attempt, retries included; replays and schedules too). */
  invoked(rule: LocalRule, targetArn: string): void;
  /** Archived events sent again by a replay. */
  replayed(events: number): void;
}

/** 256 KB: the PutEvents entry limit, counted as AWS does over source, detail-type, detail and resources. */
export const MAX_ENTRY_BYTES = 256 * 1024;

/** A JSONPath of dotted names and array indices (`$.detail.lines[0].sku`), as EventBridge accepts. */
function valueAt(document: unknown, path: string): unknown {
  if (path === '$') return document;
  if (!path.startsWith('$.') && !path.startsWith('$[')) return undefined;
  let current: unknown = document;
  for (const [, name, index] of path.slice(1).matchAll(/\.([^.[\]]+)|\[(\d+)\]/g)) {
    if (current === null || typeof current !== 'object') return undefined;
    current =
      index !== undefined
        ? Array.isArray(current)
          ? current[Number(index)]
          : undefined
        : (current as Record<string, unknown>)[name ?? ''];
  }
  return current;
}

/** EventBridge InputTransformer: `<var>` inside quotes takes the raw string, outside it takes JSON. */
export function transformInput(
  transformer: { InputPathsMap?: Record<string, string>; InputTemplate: string },
  event: BusEvent,
  rule: { name: string; arn: string },
): string {
  const { detail: _detail, ...withoutDetail } = event;
  const values: Record<string, unknown> = {
    // The event without its detail; `.json` is the whole event.
    'aws.events.event': withoutDetail,
    'aws.events.event.json': event,
    'aws.events.rule-arn': rule.arn,
    'aws.events.rule-name': rule.name,
    'aws.events.event.ingestion-time': event.time,
  };
  for (const [name, path] of Object.entries(transformer.InputPathsMap ?? {}))
    values[name] = valueAt(event, path);
  let inQuotes = false;
  let out = '';
  const template = transformer.InputTemplate;
  for (let i = 0; i < template.length; i++) {
    const char = template[i];
    if (char === '"') {
      let backslashes = 0;
      for (let j = i - 1; j >= 0 && template[j] === '\\'; j--) backslashes += 1;
      if (backslashes % 2 === 0) inQuotes = !inQuotes;
    }
    if (char === '<') {
      const end = template.indexOf('>', i);
      const name = end > i ? template.slice(i + 1, end) : '';
      if (name && name in values) {
        const value = values[name];
        if (inQuotes)
          out +=
            typeof value === 'string'
              ? JSON.stringify(value).slice(1, -1)
              : JSON.stringify(value ?? null).replace(/"/g, '\\"');
        else out += value === undefined ? 'null' : JSON.stringify(value);
        i = end;
        continue;
      }
    }
    out += char;
  }
  return out;
}

/**
 * EventBridge: the template's buses, rules (pattern or schedule, ENABLED/DISABLED) and targets (Lambda,
 * Step Functions, SQS) with Input, InputPath, InputTransformer, RetryPolicy and DeadLetterConfig, plus
 * archives and replay. Patterns are matched by our own EventBridge matcher.
 */
export class EventBridgeService {
  readonly buses = new Set<string>(['default']);
  readonly rules: LocalRule[] = [];
  readonly archives: LocalArchive[] = [];
  readonly deliveries: DeliveryRecord[] = [];
  private readonly inFlight = new Set<Promise<void>>();

  /** Rule target deliveries under way (including those waiting out a retry backoff). */
  get deliveriesInFlight(): number {
    return this.inFlight.size;
  }
  private readonly stopping = new AbortController();
  private readonly schedules: Promise<void>[] = [];
  /** 1 = EventBridge-like backoff between target retries; tests shrink it. */
  retryScale = 1;
  /** Usage hooks (see {@link BusUsageHooks}). */
  usage: BusUsageHooks | undefined;

  constructor(
    private readonly model: CloudModel,
    private readonly targets: { lambda: LambdaRuntime; sfn: SfnService; sqs: SqsService },
    private readonly clock: LocalClock,
  ) {
    for (const bus of model.ofType('AWS::Events::EventBus')) this.buses.add(model.physicalName(bus));
    for (const archive of model.ofType('AWS::Events::Archive')) {
      const p = model.resolvedProperties(archive);
      const busArn = String(p.SourceArn);
      this.archives.push({
        name: model.physicalName(archive),
        arn: model.arn(archive),
        busName: busArn.split(':event-bus/')[1] ?? 'default',
        matches: p.EventPattern === undefined ? () => true : compilePattern(p.EventPattern),
        retentionDays: Number(p.RetentionDays ?? 0),
        events: [],
      });
    }
    for (const resource of model.ofType('AWS::Events::Rule')) this.rules.push(this.loadRule(resource));
  }

  private loadRule(resource: TemplateResource): LocalRule {
    const p = this.model.resolvedProperties(resource);
    const id = `${resource.stack}/${resource.logicalId}`;
    const busName =
      p.EventBusName === undefined
        ? 'default'
        : (String(p.EventBusName).split(':event-bus/').pop() ?? 'default');
    if (
      p.ScheduleExpression !== undefined &&
      !/^rate\(\d+ (minute|minutes|hour|hours|day|days)\)$/.test(String(p.ScheduleExpression))
    ) {
      throw new UnsupportedTemplateFeature(
        id,
        `ScheduleExpression ${String(p.ScheduleExpression)} (rate() only)`,
      );
    }
    const targets = ((p.Targets as Record<string, unknown>[] | undefined) ?? []).map((t): Target => {
      const arn = String(t.Arn);
      if (!/^arn:aws:(lambda|states|sqs):/.test(arn))
        throw new UnsupportedTemplateFeature(id, `target ${arn}`);
      const retry = t.RetryPolicy as
        | { MaximumRetryAttempts?: number; MaximumEventAgeInSeconds?: number }
        | undefined;
      const dlq = (t.DeadLetterConfig as { Arn?: string } | undefined)?.Arn;
      return {
        id: String(t.Id),
        arn,
        ...(t.Input !== undefined ? { input: String(t.Input) } : {}),
        ...(t.InputPath !== undefined ? { inputPath: String(t.InputPath) } : {}),
        ...(t.InputTransformer !== undefined
          ? {
              inputTransformer: t.InputTransformer as {
                InputPathsMap?: Record<string, string>;
                InputTemplate: string;
              },
            }
          : {}),
        maximumRetryAttempts: retry?.MaximumRetryAttempts ?? 185,
        maximumEventAgeSeconds: retry?.MaximumEventAgeInSeconds ?? 86_400,
        ...(dlq ? { deadLetterArn: dlq } : {}),
      };
    });
    return {
      resource,
      name: this.model.physicalName(resource),
      arn: this.model.arn(resource),
      busName,
      ...(p.EventPattern !== undefined ? { pattern: p.EventPattern } : {}),
      ...(p.ScheduleExpression !== undefined ? { schedule: String(p.ScheduleExpression) } : {}),
      enabled: p.State !== 'DISABLED',
      matches: p.EventPattern === undefined ? () => false : compilePattern(p.EventPattern),
      targets,
    };
  }

  /** PutEvents: validates each entry, archives it, and routes it to every matching enabled rule. */
  putEvents(entries: readonly PutEventsEntry[]): {
    FailedEntryCount: number;
    Entries: PutEventsResultEntry[];
  } {
    if (entries.length === 0 || entries.length > 10) {
      throw Object.assign(new Error('Entries must hold between 1 and 10 events'), {
        name: 'ValidationException',
      });
    }
    const results = entries.map((entry) => this.accept(entry));
    return { FailedEntryCount: results.filter((r) => r.ErrorCode).length, Entries: results };
  }

  private accept(entry: PutEventsEntry): PutEventsResultEntry {
    const busName = (entry.EventBusName ?? 'default').split(':event-bus/').pop() ?? 'default';
    if (!this.buses.has(busName))
      return { ErrorCode: 'ResourceNotFoundException', ErrorMessage: `Event bus ${busName} does not exist.` };
    if (!entry.Source || !entry.DetailType || entry.Detail === undefined) {
      return {
        ErrorCode: 'InvalidArgument',
        ErrorMessage: 'Parameters Source, DetailType and Detail are required.',
      };
    }
    let detail: unknown;
    try {
      detail = JSON.parse(entry.Detail);
    } catch {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail is malformed.' };
    }
    if (detail === null || typeof detail !== 'object' || Array.isArray(detail)) {
      return { ErrorCode: 'MalformedDetail', ErrorMessage: 'Detail must be a JSON object.' };
    }
    const size =
      Buffer.byteLength(entry.Source) +
      Buffer.byteLength(entry.DetailType) +
      Buffer.byteLength(entry.Detail) +
      (entry.Resources ?? []).reduce((n, r) => n + Buffer.byteLength(r), 0) +
      // AWS counts a Time as 14 bytes.
      (entry.Time ? 14 : 0);
    if (size > MAX_ENTRY_BYTES) {
      return {
        ErrorCode: 'ValidationException',
        ErrorMessage: `Total size of the entries in the request is over the limit (${size} bytes > ${MAX_ENTRY_BYTES}).`,
      };
    }
    const event: BusEvent = {
      version: '0',
      id: randomUUID(),
      'detail-type': entry.DetailType,
      source: entry.Source,
      account: this.model.account,
      time: (entry.Time ? new Date(entry.Time) : this.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z'),
      region: this.model.region,
      resources: entry.Resources ?? [],
      detail,
    };
    this.usage?.accepted(size);
    for (const archive of this.archives) {
      if (archive.busName === busName && archive.matches(event)) {
        archive.events.push({ event, archivedAt: this.clock.now() });
        this.usage?.archived(event, size);
      }
    }
    this.route(busName, event);
    return { EventId: event.id };
  }

  private route(busName: string, event: BusEvent, onlyRules?: ReadonlySet<string>): void {
    for (const rule of this.rules) {
      if (rule.busName !== busName || !rule.enabled || (onlyRules && !onlyRules.has(rule.arn))) continue;
      if (!rule.matches(event)) continue;
      for (const target of rule.targets) this.track(this.deliver(rule, target, event));
    }
  }

  private track(delivery: Promise<void>): void {
    this.inFlight.add(delivery);
    void delivery.finally(() => this.inFlight.delete(delivery));
  }

  /** Resolves once every delivery started so far (and any they started) has finished. */
  async idle(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
  }

  targetInput(rule: LocalRule, target: Target, event: BusEvent): unknown {
    if (target.input !== undefined) return JSON.parse(target.input);
    if (target.inputPath !== undefined) return valueAt(event, target.inputPath);
    if (target.inputTransformer) {
      const text = transformInput(target.inputTransformer, event, rule);
      try {
        return JSON.parse(text);
      } catch {
        return text;
      }
    }
    return event;
  }

  private async deliver(rule: LocalRule, target: Target, event: BusEvent): Promise<void> {
    const input = this.targetInput(rule, target, event);
    const started = this.clock.now().getTime();
    let attempt = 0;
    let lastError = '';
    for (;;) {
      attempt += 1;
      try {
        this.usage?.invoked(rule, target.arn);
        await this.invokeTarget(target.arn, input);
        this.deliveries.push({
          eventId: event.id,
          ruleName: rule.name,
          targetId: target.id,
          attempts: attempt,
          outcome: 'delivered',
        });
        return;
      } catch (error) {
        lastError = `${(error as Error).name}: ${(error as Error).message}`;
      }
      const age = (this.clock.now().getTime() - started) / 1000;
      if (
        attempt > target.maximumRetryAttempts ||
        age >= target.maximumEventAgeSeconds ||
        this.stopping.signal.aborted
      )
        break;
      const backoff = Math.min(60_000, 1000 * 2 ** (attempt - 1)) * this.retryScale;
      // Keyed by what is retried, not by the event's random id: a seeded run replays the same backoff.
      const share = keyedJitter(
        rule.arn,
        target.id,
        event['detail-type'],
        JSON.stringify(event.detail),
        attempt,
      );
      await this.clock.sleep(share * backoff, this.stopping.signal).catch(() => undefined);
    }
    if (target.deadLetterArn) {
      await this.targets.sqs.send(target.deadLetterArn, JSON.stringify(event), {
        RULE_ARN: rule.arn,
        TARGET_ARN: target.arn,
        ERROR_CODE: lastError.split(':')[0] ?? 'Error',
        ERROR_MESSAGE: lastError.slice(0, 1000),
      });
      this.deliveries.push({
        eventId: event.id,
        ruleName: rule.name,
        targetId: target.id,
        attempts: attempt,
        outcome: 'dead-lettered',
        error: lastError,
      });
    } else {
      this.deliveries.push({
        eventId: event.id,
        ruleName: rule.name,
        targetId: target.id,
        attempts: attempt,
        outcome: 'dropped',
        error: lastError,
      });
    }
  }

  private async invokeTarget(arn: string, input: unknown): Promise<void> {
    if (arn.startsWith('arn:aws:lambda:')) {
      // Asynchronous invocation: accepted now; Lambda's own retries and on-failure DLQ take it from here.
      const accepted = this.targets.lambda.invokeAsync(arn, input);
      this.track(accepted);
      return;
    }
    if (arn.startsWith('arn:aws:states:')) {
      this.targets.sfn.startExecution(arn, undefined, JSON.stringify(input));
      return;
    }
    await this.targets.sqs.send(arn, typeof input === 'string' ? input : JSON.stringify(input));
  }

  /** Replays started so far (DescribeReplay/ListReplays); a local replay completes before StartReplay returns. */
  readonly replays = new Map<
    string,
    {
      readonly name: string;
      readonly archiveArn: string;
      readonly busName: string;
      readonly from: Date;
      readonly to: Date;
      readonly ruleArns?: readonly string[];
      readonly startedAt: Date;
      readonly endedAt: Date;
      readonly events: number;
    }
  >();

  /** StartReplay: re-sends archived events in [from, to) to the bus, marked with `replay-name`. */
  replay(
    archiveName: string,
    from: Date,
    to: Date,
    options: { replayName?: string; ruleArns?: string[] } = {},
  ): number {
    const archive = this.archives.find((a) => a.name === archiveName || a.arn === archiveName);
    if (!archive)
      throw Object.assign(new Error(`Archive ${archiveName} does not exist.`), {
        name: 'ResourceNotFoundException',
      });
    const replayName = options.replayName || `replay-${randomUUID()}`;
    if (this.replays.has(replayName))
      throw Object.assign(new Error(`Replay ${replayName} already exists.`), {
        name: 'ResourceAlreadyExistsException',
      });
    const only = options.ruleArns ? new Set(options.ruleArns) : undefined;
    const startedAt = this.clock.now();
    let count = 0;
    for (const { event } of archive.events) {
      const at = new Date(event.time).getTime();
      if (at < from.getTime() || at >= to.getTime()) continue;
      this.route(archive.busName, { ...event, 'replay-name': replayName }, only);
      count += 1;
    }
    this.usage?.replayed(count);
    this.replays.set(replayName, {
      name: replayName,
      archiveArn: archive.arn,
      busName: archive.busName,
      from,
      to,
      ...(options.ruleArns ? { ruleArns: options.ruleArns } : {}),
      startedAt,
      endedAt: this.clock.now(),
      events: count,
    });
    return count;
  }

  /** Runs `rate()` rules on the clock until stopped. */
  startSchedules(): void {
    for (const rule of this.rules) {
      if (!rule.schedule || !rule.enabled) continue;
      const [, amount, unit] = rule.schedule.match(/^rate\((\d+) (\w+)\)$/) ?? [];
      const ms =
        Number(amount) *
        (unit?.startsWith('minute') ? 60_000 : unit?.startsWith('hour') ? 3_600_000 : 86_400_000);
      const tick = async () => {
        while (!this.stopping.signal.aborted) {
          await this.clock.sleep(ms, this.stopping.signal).catch(() => undefined);
          if (this.stopping.signal.aborted) return;
          const event: BusEvent = {
            version: '0',
            id: randomUUID(),
            'detail-type': 'Scheduled Event',
            source: 'aws.events',
            account: this.model.account,
            time: this.clock
              .now()
              .toISOString()
              .replace(/\.\d{3}Z$/, 'Z'),
            region: this.model.region,
            resources: [rule.arn],
            detail: {},
          };
          for (const target of rule.targets) this.track(this.deliver(rule, target, event));
        }
      };
      this.schedules.push(tick());
    }
  }

  stop(): void {
    this.stopping.abort();
  }
}
