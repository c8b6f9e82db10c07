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

/** The longest exception id (the events' contract): `EXC-`, an order id of up to 80 characters and a suffix do not fit. */
export const MAX_EXCEPTION_ID_LENGTH = 80;

/**
 * An order's exception id: `EXC-<orderId>-<suffix>`, readable in a queue, or, when that passes the 80
 * characters an exception id may have (an order id over about 70 characters), `EXC-<tag>-` and 24 hex
 * characters of a SHA-256 of the order id and the suffix. Either way one order and suffix give one id.
 */
export function orderExceptionId(orderId: string, suffix: string, tag: string): string {
  const readable = `EXC-${orderId}-${suffix}`;
  return readable.length <= MAX_EXCEPTION_ID_LENGTH
    ? readable
    : `EXC-${tag}-${sha256(`${orderId}|${suffix}`).slice(0, 24)}`;
}
