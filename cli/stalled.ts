import { BatchGetCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { ORDER_STAGES, type OrderStage } from '../contracts/vocabulary.ts';
import { STAGE_INDEX_SHARDS } from '../lambdas/adapters/aws/dynamo-order-repository.ts';
import type { Clients } from './commands.ts';
import { ago, json, type Output, paint, table } from './format.ts';
import { CliError, type Resources } from './resources.ts';

/** Stages an order can stall in: every stage but the terminal ones. */
export const STALLABLE: readonly OrderStage[] = ORDER_STAGES.filter(
  (s) => !['closed', 'rejected', 'delivered', 'invoiced'].includes(s),
);

/** `30m`, `4h`, `2d` → milliseconds. */
export function parseDuration(text: string): number {
  const m = /^(\d+)\s*(m|min|h|d)$/.exec(text.trim());
  if (!m) throw new CliError(`--older-than must be a duration like 30m, 4h or 2d (got ${text})`);
  const n = Number(m[1]);
  return n * (m[2] === 'd' ? 86_400_000 : m[2] === 'h' ? 3_600_000 : 60_000);
}

interface Stalled {
  readonly orderId: string;
  readonly stage: string;
  readonly since: string;
  readonly reasonCodes: readonly string[];
  readonly openExceptions: readonly string[];
  readonly path?: string;
}

/**
 * `orders stalled`: orders that entered a non-terminal stage more than `--older-than` ago and are still
 * there, read from the by-stage index (16 shards per stage, sorted by entry time: only the stalled ones are
 * read), with why they stopped: the reasons the stage was entered for, and the order's open exceptions.
 */
export async function stalledOrders(
  resources: Resources,
  clients: Clients,
  options: { stage?: string; olderThan?: string; limit?: number; json?: boolean },
  out: Output,
): Promise<void> {
  if (options.stage && !STALLABLE.includes(options.stage as OrderStage)) {
    throw new CliError(`--stage must be one of ${STALLABLE.join(', ')} (got ${options.stage})`);
  }
  const olderThan = parseDuration(options.olderThan ?? '1h');
  const before = new Date(out.now().getTime() - olderThan).toISOString();
  const limit = options.limit ?? 50;
  const stages = options.stage ? [options.stage as OrderStage] : STALLABLE;
  const counts = new Map<string, number>();
  const keys: { pk: string; sk: string; stageEnteredAt: string }[] = [];
  await Promise.all(
    stages.flatMap((stage) =>
      Array.from({ length: STAGE_INDEX_SHARDS }, async (_, shard) => {
        let startKey: Record<string, unknown> | undefined;
        do {
          const page = await clients.documents.send(
            new QueryCommand({
              TableName: resources.ordersTable,
              IndexName: 'byStage',
              KeyConditionExpression: 'stageShard = :shard AND stageEnteredAt < :before',
              ExpressionAttributeValues: { ':shard': `${stage}#${shard}`, ':before': before },
              ExclusiveStartKey: startKey,
            }),
          );
          const items = (page.Items ?? []) as { pk: string; sk: string; stageEnteredAt: string }[];
          counts.set(stage, (counts.get(stage) ?? 0) + items.length);
          keys.push(...items);
          startKey = page.LastEvaluatedKey;
        } while (startKey);
      }),
    ),
  );
  keys.sort((a, b) => a.stageEnteredAt.localeCompare(b.stageEnteredAt));
  const oldest = keys.slice(0, limit);
  const orders: Stalled[] = [];
  for (let i = 0; i < oldest.length; i += 100) {
    const batch = oldest.slice(i, i + 100);
    const items: Record<string, unknown>[] = [];
    let keys: Record<string, unknown>[] = batch.map(({ pk, sk }) => ({ pk, sk }));
    // DynamoDB may leave keys unprocessed (throttling, 16 MB): ask again for those, with a short backoff.
    for (let attempt = 0; keys.length > 0; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, Math.min(1000, 25 * 2 ** attempt)));
      if (attempt > 6) throw new CliError(`DynamoDB kept ${keys.length} orders unread: retry the command`);
      const got = await clients.documents.send(
        new BatchGetCommand({
          RequestItems: {
            [resources.ordersTable]: {
              Keys: keys,
              // What the listing shows, not the whole order (its lines, addresses and partner references).
              ProjectionExpression: 'orderId, #stage, stageHistory, updatedAt, exceptionIds, #path',
              ExpressionAttributeNames: { '#stage': 'stage', '#path': 'path' },
            },
          },
        }),
      );
      items.push(...(got.Responses?.[resources.ordersTable] ?? []));
      keys = (got.UnprocessedKeys?.[resources.ordersTable]?.Keys ?? []) as Record<string, unknown>[];
    }
    for (const item of items) {
      const history = (item.stageHistory ?? []) as { stage: string; at: string; reasonCodes: string[] }[];
      const last = history.at(-1);
      orders.push({
        orderId: String(item.orderId),
        stage: String(item.stage),
        since: last?.at ?? String(item.updatedAt),
        reasonCodes: last?.reasonCodes ?? [],
        openExceptions: (item.exceptionIds ?? []) as string[],
        ...(item.path ? { path: String(item.path) } : {}),
      });
    }
  }
  orders.sort((a, b) => a.since.localeCompare(b.since));
  if (options.json) {
    out.write(json({ olderThan: options.olderThan ?? '1h', counts: Object.fromEntries(counts), orders }));
    return;
  }
  const total = [...counts.values()].reduce((a, b) => a + b, 0);
  if (total === 0) {
    out.write(
      `No order has been in ${options.stage ?? 'any open stage'} for more than ${options.olderThan ?? '1h'}.`,
    );
    return;
  }
  const summary = [...counts]
    .filter(([, n]) => n > 0)
    .map(([stage, n]) => `${stage} ${paint(out, 'bold', String(n))}`);
  out.write(`${total} order(s) stalled for more than ${options.olderThan ?? '1h'}: ${summary.join(', ')}`);
  out.write(
    table(
      out,
      ['ORDER', 'STAGE', 'SINCE', 'WHY', 'EXCEPTIONS'],
      orders.map((o) => [
        o.orderId,
        o.stage,
        ago(out, o.since),
        o.reasonCodes.join(', ') || '—',
        o.openExceptions.join(', ') || '—',
      ]),
    ),
  );
  if (total > orders.length) out.write(`… oldest ${orders.length} shown; use --stage or --limit for more.`);
}
