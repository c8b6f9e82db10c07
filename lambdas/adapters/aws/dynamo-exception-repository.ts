import { gunzipSync, gzipSync } from 'node:zlib';
import {
  type AttributeValue,
  ConditionalCheckFailedException,
  type DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  UpdateItemCommand,
} from '@aws-sdk/client-dynamodb';
import { marshall, unmarshall } from '@aws-sdk/util-dynamodb';
import type {
  AuditEntry,
  AwaitPatch,
  ExceptionRepository,
  ExceptionResolution,
  OwnedException,
} from '../../ports/index.ts';

/** Largest raw payload kept inline with an exception; DynamoDB items stop at 400 KB. */
export const MAX_INLINE_PAYLOAD_BYTES = 256 * 1024;
/** An exception record larger than this (as JSON) has its payload stored beside it, in parts. */
export const MAX_EXCEPTION_RECORD_BYTES = 300 * 1024;
/** Bytes of gzip per payload part item: well under the 400 KB item limit. */
const PAYLOAD_PART_BYTES = 300 * 1024;
/** What the record keeps of a payload stored beside it: its start, for a person to recognise it. */
const PAYLOAD_PREVIEW_CHARS = 4096;

/** Where a payload too large for its exception record is kept: `parts` items keyed `<keyPrefix><n>` (1-based). */
export interface StoredPayload {
  readonly encoding: 'gzip';
  readonly parts: number;
  readonly keyPrefix: string;
  /** Bytes of the gzip stream, all parts together. */
  readonly storedBytes: number;
}

/** The key of part `n` (1-based) of an exception's stored payload. */
export const payloadPartKey = (exceptionId: string, n: number) => `${exceptionId}#payload#${n}`;

/** The start of `text`, never ending inside a surrogate pair. */
function preview(text: string): string {
  if (text.length <= PAYLOAD_PREVIEW_CHARS) return text;
  const end = /[\uD800-\uDBFF]/.test(text.charAt(PAYLOAD_PREVIEW_CHARS - 1))
    ? PAYLOAD_PREVIEW_CHARS - 1
    : PAYLOAD_PREVIEW_CHARS;
  return text.slice(0, end);
}

function toException(item: Record<string, unknown>): OwnedException {
  const { pk: _pk, ownerState: _ownerState, ...exception } = item;
  return exception as unknown as OwnedException;
}

/** The stored item of an exception: keyed by its id, with the by-owner index's `<team>#<state>`. */
export function exceptionItem(exception: OwnedException): Record<string, AttributeValue> {
  return marshall(
    { pk: exception.exceptionId, ...exception, ownerState: `${exception.ownerTeam}#${exception.state}` },
    { removeUndefinedValues: true },
  );
}

/**
 * Owned exceptions in DynamoDB (pk = exceptionId). The `ownerState` attribute feeds the by-owner index
 * that team queues read; `orderId` feeds the by-order index used for an order's timeline.
 */
export class DynamoExceptionRepository implements ExceptionRepository {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async raiseIfAbsent(exception: OwnedException): Promise<{ created: boolean }> {
    const fitted = await this.fitted(exception);
    try {
      await this.client.send(
        new PutItemCommand({
          TableName: this.tableName,
          Item: exceptionItem(fitted),
          ConditionExpression: 'attribute_not_exists(pk)',
        }),
      );
      return { created: true };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return { created: false };
      throw error;
    }
  }

  /**
   * The exception as it is stored: a payload that would take the record over MAX_EXCEPTION_RECORD_BYTES (a
   * rejected message can be up to 1 MiB) is written beside it first, gzipped in parts, and the record keeps
   * its start (`payload`), `payloadTruncated` and where the rest is (`payloadStored`). The parts are the same
   * bytes on every attempt (gzip of the same text), so a redelivery rewrites them harmlessly.
   */
  private async fitted(exception: OwnedException): Promise<OwnedException> {
    const payload = exception.context.payload;
    if (typeof payload !== 'string') return exception;
    if (Buffer.byteLength(JSON.stringify(exception)) <= MAX_EXCEPTION_RECORD_BYTES) return exception;
    const gzip = gzipSync(Buffer.from(payload, 'utf8'));
    const parts = Math.max(1, Math.ceil(gzip.length / PAYLOAD_PART_BYTES));
    await Promise.all(
      Array.from({ length: parts }, (_, i) =>
        this.client.send(
          new PutItemCommand({
            TableName: this.tableName,
            Item: marshall({
              pk: payloadPartKey(exception.exceptionId, i + 1),
              exceptionId: exception.exceptionId,
              part: i + 1,
              parts,
              data: gzip.subarray(i * PAYLOAD_PART_BYTES, (i + 1) * PAYLOAD_PART_BYTES),
            }),
          }),
        ),
      ),
    );
    const stored: StoredPayload = {
      encoding: 'gzip',
      parts,
      keyPrefix: `${exception.exceptionId}#payload#`,
      storedBytes: gzip.length,
    };
    return {
      ...exception,
      context: {
        ...exception.context,
        payload: preview(payload),
        payloadTruncated: true,
        payloadStored: stored,
      },
    };
  }

  /** The whole payload an exception kept, inline or stored beside it; undefined when it kept none. */
  async payloadOf(exceptionId: string): Promise<string | undefined> {
    const exception = await this.get(exceptionId);
    const { payload, payloadStored } = (exception?.context ?? {}) as {
      payload?: unknown;
      payloadStored?: StoredPayload;
    };
    if (!payloadStored) return typeof payload === 'string' ? payload : undefined;
    const parts = await Promise.all(
      Array.from({ length: payloadStored.parts }, async (_, i) => {
        const { Item } = await this.client.send(
          new GetItemCommand({
            TableName: this.tableName,
            Key: marshall({ pk: payloadPartKey(exceptionId, i + 1) }),
            ConsistentRead: true,
          }),
        );
        const data = Item ? unmarshall(Item).data : undefined;
        if (!(data instanceof Uint8Array))
          throw new Error(`payload part ${i + 1} of ${exceptionId} is missing`);
        return data;
      }),
    );
    return gunzipSync(Buffer.concat(parts)).toString('utf8');
  }

  async get(exceptionId: string): Promise<OwnedException | undefined> {
    const { Item } = await this.client.send(
      new GetItemCommand({
        TableName: this.tableName,
        Key: marshall({ pk: exceptionId }),
        ConsistentRead: true,
      }),
    );
    return Item ? toException(unmarshall(Item)) : undefined;
  }

  async awaitDecision(exceptionId: string, patch: AwaitPatch): Promise<OwnedException | undefined> {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: exceptionId }),
          UpdateExpression:
            'SET awaiting = :awaiting, ownerTeam = :owner, priority = :priority, slaDueAt = :due, ownerState = :ownerState, audit = list_append(audit, :audit)',
          ConditionExpression: 'attribute_exists(pk) AND #state = :open',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall(
            {
              ':awaiting': patch.awaiting,
              ':owner': patch.ownerTeam,
              ':priority': patch.priority,
              ':due': patch.slaDueAt,
              ':ownerState': `${patch.ownerTeam}#open`,
              ':audit': [patch.audit],
              ':open': 'open',
            },
            { removeUndefinedValues: true },
          ),
          ReturnValues: 'ALL_NEW',
        }),
      );
      return Attributes ? toException(unmarshall(Attributes)) : undefined;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return undefined;
      throw error;
    }
  }

  /**
   * The one write that decides an exception: conditional on the item still being open, so of two decisions
   * racing (two operators, or an operator and the SLA fallback) exactly one is stored; the other gets the
   * stored exception back, with the winner's resolution, and applies nothing.
   */
  async resolve(
    current: OwnedException,
    resolution: ExceptionResolution,
    audit: AuditEntry,
  ): Promise<
    { resolved: true; exception: OwnedException } | { resolved: false; existing: OwnedException | undefined }
  > {
    try {
      const { Attributes } = await this.client.send(
        new UpdateItemCommand({
          TableName: this.tableName,
          Key: marshall({ pk: current.exceptionId }),
          UpdateExpression:
            'SET resolution = :resolution, #state = :resolved, ownerState = :ownerState, audit = list_append(audit, :audit)',
          ConditionExpression: 'attribute_exists(pk) AND #state = :open',
          ExpressionAttributeNames: { '#state': 'state' },
          ExpressionAttributeValues: marshall(
            {
              ':resolution': resolution,
              ':resolved': 'resolved',
              ':open': 'open',
              ':audit': [audit],
              // The team keeps the record; its open queue no longer lists it.
              ':ownerState': `${current.ownerTeam}#resolved`,
            },
            { removeUndefinedValues: true },
          ),
          ReturnValues: 'ALL_NEW',
        }),
      );
      if (!Attributes) return { resolved: false, existing: await this.get(current.exceptionId) };
      return { resolved: true, exception: toException(unmarshall(Attributes)) };
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) {
        return { resolved: false, existing: await this.get(current.exceptionId) };
      }
      throw error;
    }
  }
}
