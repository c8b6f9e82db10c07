import { createHash } from 'node:crypto';

export function sha256(text: string | Uint8Array): string {
  return createHash('sha256').update(text).digest('hex');
}

/** Idempotency key of a side effect: stable for one order and stage, so a retry is recognised. */
export function idempotencyKey(orderId: string, stage: string, discriminator?: string): string {
  return discriminator ? `${orderId}:${stage}:${discriminator}` : `${orderId}:${stage}`;
}

/** Spreads a low-cardinality index key (a stage) over shards so one hot stage does not hit one partition. */
export function shardOf(key: string, shards: number): number {
  return Number.parseInt(sha256(key).slice(0, 8), 16) % shards;
}
