import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { DescribeExecutionCommand, SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';
import { DynamoDBDocumentClient, GetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { EXCEPTION_TYPES, OWNER_TEAMS } from '../contracts/vocabulary.ts';
import { ago, json, type Output, paint, table } from './format.ts';
import { CliError, type Resources } from './resources.ts';

/** The AWS clients a command uses, from the standard settings (profile, region, AWS_ENDPOINT_URL). */
export interface Clients {
  readonly dynamo: DynamoDBClient;
  readonly documents: DynamoDBDocumentClient;
  readonly events: EventBridgeClient;
  readonly lambda: LambdaClient;
  readonly sfn: SFNClient;
  readonly sqs: SQSClient;
}

export function defaultClients(): Clients {
  const dynamo = new DynamoDBClient({});
  return {
    dynamo,
    documents: DynamoDBDocumentClient.from(dynamo),
    events: new EventBridgeClient({}),
    lambda: new LambdaClient({}),
    sfn: new SFNClient({}),
    // Queue URLs name the regional endpoint the client resolves anyway; against a local endpoint
    // (AWS_ENDPOINT_URL) their host differs, and the SDK would warn on every call.
    sqs: new SQSClient({ useQueueUrlAsEndpoint: false }),
  };
}

interface ExceptionItem {
  readonly exceptionId: string;
  readonly type: string;
  readonly ownerTeam: string;
  readonly priority: string;
  readonly state: string;
  readonly stage: string;
  readonly orderId: string;
  readonly raisedAt: string;
  readonly slaDueAt: string;
  readonly recommendedAction: string;
  readonly reasonCodes?: string[];
  readonly context?: Record<string, unknown>;
  readonly audit?: { at: string; actor: string; action: string; why: string }[];
  readonly resolution?: {
    outcome: string;
    closedAs?: string;
    decidedBy: string;
    decidedAt: string;
    reason: string;
  };
  readonly awaiting?: { tier: number; role: string };
}

function oneOf<T extends string>(
  flag: string,
  value: string | undefined,
  allowed: readonly T[],
): T | undefined {
  if (value === undefined) return undefined;
  if (!allowed.includes(value as T))
    throw new CliError(`${flag} must be one of ${allowed.join(', ')} (got ${value})`);
  return value as T;
}

/** `exceptions list`: open exceptions by team (the byOwnerState index, newest first), optionally by type. */
export async function listExceptions(
  resources: Resources,
  clients: Clients,
  options: { team?: string; type?: string; state?: string; limit?: number; json?: boolean },
  out: Output,
): Promise<void> {
  const team = oneOf('--team', options.team, OWNER_TEAMS);
  const type = oneOf('--type', options.type, EXCEPTION_TYPES);
  const state = oneOf('--state', options.state ?? 'open', ['open', 'resolved'] as const) ?? 'open';
  const limit = options.limit ?? 50;
  const teams = team ? [team] : [...OWNER_TEAMS];
  // Every team's queue at once, each read newest first until it holds `limit` (or ends).
  const queues = await Promise.all(
    teams.map(async (owner) => {
      const items: ExceptionItem[] = [];
      let startKey: Record<string, unknown> | undefined;
      do {
        const page = await clients.documents.send(
          new QueryCommand({
            TableName: resources.exceptionsTable,
            IndexName: 'byOwnerState',
            KeyConditionExpression: 'ownerState = :owner',
            ...(type
              ? { FilterExpression: '#type = :type', ExpressionAttributeNames: { '#type': 'type' } }
              : {}),
            ExpressionAttributeValues: { ':owner': `${owner}#${state}`, ...(type ? { ':type': type } : {}) },
            ScanIndexForward: false,
            ExclusiveStartKey: startKey,
          }),
        );
        items.push(...((page.Items ?? []) as ExceptionItem[]));
        startKey = page.LastEvaluatedKey;
      } while (startKey && items.length < limit);
      return items;
    }),
  );
  const found = queues.flat();
  found.sort((a, b) => b.raisedAt.localeCompare(a.raisedAt));
  const shown = found.slice(0, limit);
  if (options.json) {
    out.write(json(shown));
    return;
  }
  if (shown.length === 0) {
    out.write(`No ${state} exceptions${team ? ` for ${team}` : ''}${type ? ` of type ${type}` : ''}.`);
    return;
  }
  const overdue = (e: ExceptionItem) => Date.parse(e.slaDueAt) < out.now().getTime();
  out.write(
    table(
      out,
      ['EXCEPTION', 'TYPE', 'TEAM', 'PRIORITY', 'ORDER', 'RAISED', 'SLA DUE', 'ACTION'],
      shown.map((e) => [
        e.exceptionId,
        e.type,
        e.ownerTeam,
        e.priority === 'critical' || e.priority === 'high' ? paint(out, 'red', e.priority) : e.priority,
        e.orderId,
        ago(out, e.raisedAt),
        overdue(e) && e.state === 'open'
          ? paint(out, 'red', `${ago(out, e.slaDueAt)} (overdue)`)
          : ago(out, e.slaDueAt),
        e.recommendedAction,
      ]),
    ),
  );
  if (found.length > shown.length)
    out.write(`… ${found.length - shown.length} more: use --limit or --team/--type.`);
}

async function exceptionById(resources: Resources, clients: Clients, id: string): Promise<ExceptionItem> {
  const { Item } = await clients.documents.send(
    new GetCommand({ TableName: resources.exceptionsTable, Key: { pk: id }, ConsistentRead: true }),
  );
  if (!Item) throw new CliError(`No exception ${id}. List them with \`handoff exceptions list\`.`);
  return Item as ExceptionItem;
}

export async function showException(
  resources: Resources,
  clients: Clients,
  id: string,
  options: { json?: boolean },
  out: Output,
): Promise<void> {
  const e = await exceptionById(resources, clients, id);
  if (options.json) {
    out.write(json(e));
    return;
  }
  const lines = [
    paint(out, 'bold', `${e.exceptionId}  ${e.type} · ${e.ownerTeam} · ${e.priority} · ${e.state}`),
    `order         ${e.orderId} (stage ${e.stage})`,
    `raised        ${e.raisedAt} (${ago(out, e.raisedAt)})`,
    `SLA due       ${e.slaDueAt} (${ago(out, e.slaDueAt)})`,
    `action        ${e.recommendedAction}`,
    `reasons       ${(e.reasonCodes ?? []).join(', ') || '—'}`,
  ];
  if (e.awaiting) lines.push(`awaiting      tier ${e.awaiting.tier} (${e.awaiting.role})`);
  if (e.resolution) {
    lines.push(
      `resolution    ${e.resolution.closedAs ?? e.resolution.outcome} by ${e.resolution.decidedBy} ${ago(out, e.resolution.decidedAt)}: ${e.resolution.reason}`,
    );
  }
  const context = Object.entries(e.context ?? {}).filter(([key]) => key !== 'payload');
  if (context.length > 0) {
    lines.push('context');
    for (const [key, value] of context)
      lines.push(`  ${key.padEnd(18)} ${typeof value === 'string' ? value : JSON.stringify(value)}`);
  }
  if (e.context?.payload !== undefined)
    lines.push(`payload       ${String(e.context.payload).slice(0, 400)}`);
  lines.push('audit');
  for (const a of e.audit ?? [])
    lines.push(`  ${a.at}  ${a.actor.padEnd(28)} ${a.action.padEnd(10)} ${a.why}`);
  out.write(lines.join('\n'));
}

/** What DecideException answers (DecisionResult in lambdas/use-cases/human-decision.ts), as the CLI reads it. */
interface DecisionAnswer {
  readonly exceptionId: string;
  readonly orderId: string;
  readonly closedAs: string;
  readonly decidedBy: string;
  readonly decidedAt: string;
  readonly replayed: boolean;
  readonly next: { readonly kind: string; readonly message: string };
}

/** A Lambda function error as Invoke returns it. */
interface FunctionFailure {
  readonly errorType?: string;
  readonly errorMessage?: string;
}

/**
 * `exceptions approve|reject|override`: any exception type, through the DecideException function, as the
 * console would. Says what was decided and what happens next; a decision on a resolved exception is refused
 * (exit 1) with the decision that stands.
 */
export async function decide(
  resources: Resources,
  clients: Clients,
  id: string,
  outcome: 'approve' | 'reject' | 'override',
  options: { reason?: string; by?: string; json?: boolean },
  out: Output,
): Promise<void> {
  if (!options.reason?.trim())
    throw new CliError('--reason is required: say why, it goes on the audit trail.');
  const decidedBy = options.by ?? process.env.HANDOFF_OPERATOR ?? process.env.USER ?? '';
  if (!decidedBy) throw new CliError('Who decides? Pass --by <name> or set HANDOFF_OPERATOR.');
  await exceptionById(resources, clients, id);
  const answer = await clients.lambda.send(
    new InvokeCommand({
      FunctionName: resources.decideExceptionFunction,
      Payload: Buffer.from(JSON.stringify({ exceptionId: id, outcome, decidedBy, reason: options.reason })),
    }),
  );
  const payload = JSON.parse(Buffer.from(answer.Payload ?? new Uint8Array()).toString('utf8') || 'null') as
    | (DecisionAnswer & FunctionFailure)
    | null;
  if (answer.FunctionError) {
    const hint: Record<string, string> = {
      ExceptionAlreadyResolved: '`handoff exceptions show` shows its audit trail.',
      DecisionNotApplicable: 'Work the order’s open exception instead (`handoff orders show`).',
      InvalidDecision: 'Fix the option named above and try again.',
    };
    const errorType = payload?.errorType ?? 'Error';
    if (options.json) out.write(json({ errorType, errorMessage: payload?.errorMessage }));
    throw new CliError(
      `${errorType}: ${payload?.errorMessage ?? 'the decision failed'}${hint[errorType] ? `\n${hint[errorType]}` : ''}`,
    );
  }
  if (options.json || !payload) {
    out.write(json(payload));
    return;
  }
  out.write(
    payload.replayed
      ? `${id}: already ${payload.closedAs} by ${payload.decidedBy} at ${payload.decidedAt} (this repeat changed nothing); ${payload.next.message}.`
      : `${id}: ${payload.closedAs} by ${payload.decidedBy}; ${payload.next.message}.`,
  );
}

interface OrderItem {
  readonly orderId: string;
  readonly stage: string;
  readonly path?: string;
  readonly executionName?: string;
  readonly receivedAt: string;
  readonly updatedAt: string;
  readonly stageHistory: { stage: string; at: string; reasonCodes: string[] }[];
  readonly order: { channel: string; serviceLevel: string; customer: { id: string; segment: string } };
  readonly exceptionIds?: string[];
}

/** `orders show`: the order's timeline across systems: stages, execution, SLA clocks and exceptions. */
export async function showOrder(
  resources: Resources,
  clients: Clients,
  orderId: string,
  options: { json?: boolean },
  out: Output,
): Promise<void> {
  const { Item } = await clients.documents.send(
    new GetCommand({ TableName: resources.ordersTable, Key: { pk: orderId, sk: 'ORDER' } }),
  );
  if (!Item) {
    throw new CliError(
      `No order ${orderId}. Order ids are <source>-<reference>, e.g. ERP-4500012345 or EDI-<partner>-<PO>; a rejected message may be under UNIDENTIFIED-… in \`handoff exceptions list --team integration\`.`,
    );
  }
  const order = Item as OrderItem;
  const [clocks, exceptions, execution] = await Promise.all([
    clients.documents
      .send(
        new QueryCommand({
          TableName: resources.slaClocksTable,
          KeyConditionExpression: 'pk = :pk AND begins_with(sk, :clock)',
          ExpressionAttributeValues: { ':pk': `ORDER#${orderId}`, ':clock': 'CLOCK#' },
        }),
      )
      .then((r) => (r.Items ?? []) as { clock: Record<string, unknown> }[]),
    clients.documents
      .send(
        new QueryCommand({
          TableName: resources.exceptionsTable,
          IndexName: 'byOrder',
          KeyConditionExpression: 'orderId = :order',
          ExpressionAttributeValues: { ':order': orderId },
        }),
      )
      .then(async (r) =>
        Promise.all((r.Items ?? []).map((k) => exceptionById(resources, clients, String(k.pk)))),
      ),
    executionOf(resources, clients, order),
  ]);
  if (options.json) {
    out.write(json({ order, execution, clocks: clocks.map((c) => c.clock), exceptions }));
    return;
  }
  const lines = [
    paint(out, 'bold', `${order.orderId}  ${order.stage}${order.path ? ` · ${order.path}` : ''}`),
    `customer      ${order.order.customer.id} (${order.order.customer.segment}) · ${order.order.channel} · ${order.order.serviceLevel}`,
    `received      ${order.receivedAt} (${ago(out, order.receivedAt)}); last change ${ago(out, order.updatedAt)}`,
    '',
    table(
      out,
      ['WHEN', 'STAGE', 'WHY'],
      order.stageHistory.map((h) => [`${h.at} (${ago(out, h.at)})`, h.stage, h.reasonCodes.join(', ')]),
      90,
    ),
  ];
  if (execution) {
    lines.push(
      '',
      `execution     ${execution.name}: ${execution.status}, started ${ago(out, execution.startDate)}`,
    );
  }
  if (clocks.length > 0) {
    lines.push(
      '',
      table(
        out,
        ['SLA STAGE', 'TEAM', 'TARGET', 'STARTED', 'STOPPED', 'STATE'],
        clocks.map(({ clock }) => {
          const target = clock.target as { ownerTeam: string; targetSeconds: number };
          const state = clock.cancelledAt
            ? 'cancelled'
            : clock.breachedAt
              ? paint(out, 'red', 'breached')
              : clock.stoppedAt
                ? 'met'
                : clock.jeopardyRaisedAt
                  ? paint(out, 'yellow', 'in jeopardy')
                  : 'running';
          return [
            `${String(clock.stage)}${clock.instance ? ` #${String(clock.instance)}` : ''}`,
            target.ownerTeam,
            `${Math.round(target.targetSeconds / 60)} min`,
            ago(out, clock.startedAt as string | undefined),
            ago(out, clock.stoppedAt as string | undefined),
            state,
          ];
        }),
      ),
    );
  }
  if (exceptions.length > 0) {
    lines.push(
      '',
      table(
        out,
        ['EXCEPTION', 'TYPE', 'TEAM', 'STATE', 'RAISED', 'ACTION'],
        exceptions.map((e) => [
          e.exceptionId,
          e.type,
          e.ownerTeam,
          e.state,
          ago(out, e.raisedAt),
          e.recommendedAction,
        ]),
      ),
    );
  }
  out.write(lines.join('\n'));
}

async function executionOf(
  resources: Resources,
  clients: Clients,
  order: OrderItem,
): Promise<{ name: string; status: string; startDate?: string } | undefined> {
  const machine = order.path ? resources.stateMachines[order.path] : undefined;
  if (!machine || !order.executionName) return undefined;
  const executionArn = `${machine.replace(':stateMachine:', ':execution:')}:${order.executionName}`;
  try {
    const described = await clients.sfn.send(new DescribeExecutionCommand({ executionArn }));
    return {
      name: order.executionName,
      status: described.status ?? 'UNKNOWN',
      ...(described.startDate ? { startDate: described.startDate.toISOString() } : {}),
    };
  } catch {
    return { name: order.executionName, status: 'not found' };
  }
}
