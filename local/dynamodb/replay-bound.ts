import type { LocalCloud } from '../cloud.ts';

/** One DynamoDB request a run made, as the SDK sent it (command class and input). */
export interface RecordedRequest {
  readonly command: new (input: object) => object;
  readonly input: Record<string, unknown>;
}

/**
 * Records the DynamoDB requests the cloud's clients make from now on (up to `limit`), through the meter's
 * recorder: handlers on the main thread only (worker threads' requests are counted, not recorded), those
 * `keep` accepts (a sample of partition keys keeps each key's requests whole, in order). Inputs are built
 * afresh for every call and not changed after it, so a reference is enough.
 */
export function recordDynamoRequests(
  cloud: Pick<LocalCloud, 'meter'>,
  limit = Number.POSITIVE_INFINITY,
  keep: (input: Record<string, unknown>) => boolean = () => true,
): { readonly requests: RecordedRequest[]; stop(): void } {
  const requests: RecordedRequest[] = [];
  const previous = cloud.meter.recorder;
  cloud.meter.recorder = (service, command) => {
    previous?.(service, command);
    if (service !== 'DynamoDB' || requests.length >= limit) return;
    const input = (command as { input: Record<string, unknown> }).input;
    if (!keep(input)) return;
    requests.push({ command: command.constructor as RecordedRequest['command'], input });
  };
  return {
    requests,
    stop: () => {
      cloud.meter.recorder = previous;
    },
  };
}

let replayRound = 0;

/**
 * Operations/s DynamoDB Local sustains for this very workload: every recorded request replayed straight at
 * the emulator with its partition key suffixed (so conditions hold as they did), one key's requests in
 * order, `concurrency` keys at a time. The bound an end-to-end run is compared against.
 */
export async function replayBound(
  cloud: Pick<LocalCloud, 'dynamodb'>,
  requests: readonly RecordedRequest[],
  concurrency = 32,
): Promise<number> {
  replayRound++;
  const suffix = `#replay${replayRound}`;
  const rekey = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(rekey);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) =>
        k === 'pk' && v && typeof v === 'object' && 'S' in v
          ? [k, { S: `${(v as { S: string }).S}${suffix}` }]
          : [k, rekey(v)],
      ),
    );
  };
  const byKey = new Map<string, RecordedRequest[]>();
  for (const request of requests) {
    const key =
      JSON.stringify((request.input.Key ?? request.input.Item) as object)?.match(
        /"pk":\{"S":"([^"]+)"/,
      )?.[1] ?? 'unknown';
    const list = byKey.get(key) ?? [];
    list.push({ command: request.command, input: rekey(request.input) as Record<string, unknown> });
    byKey.set(key, list);
  }
  const queues = [...byKey.values()];
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    for (;;) {
      const queue = queues[next++];
      if (!queue) return;
      for (const { command, input } of queue) {
        await cloud.dynamodb.client.send(new command(input) as never).catch(() => undefined);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  return requests.length / ((performance.now() - started) / 1000);
}
