import type { FieldViolation } from '../../contracts/validation.ts';
import type { CanonicalEvent, OwnedException } from '../ports/index.ts';
import { sha256 } from '../shared/ids.ts';

const MAX_VIOLATIONS_IN_EVENT = 50;

/**
 * Most violations an exception lists: a hostile 5,000-line document can break thousands of rules, and the
 * record must stay one DynamoDB item. `violationCount` on the context says how many there were.
 */
export const MAX_VIOLATIONS_KEPT = 100;

function clip(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

/** Violations trimmed to what an event may carry; the exception record keeps the full list. */
export function violationsForEvent(violations: readonly FieldViolation[]): FieldViolation[] {
  return violations.slice(0, MAX_VIOLATIONS_IN_EVENT).map((v) => ({
    path: clip(v.path, 300),
    rule: clip(v.rule, 200),
    message: clip(v.message, 500),
  }));
}

/** The violations an exception keeps (each clipped as in events, at most MAX_VIOLATIONS_KEPT), and their count. */
export function keptViolations(violations: readonly FieldViolation[]): {
  readonly violations: FieldViolation[];
  readonly violationCount: number;
} {
  return {
    violations: violations.slice(0, MAX_VIOLATIONS_KEPT).map((v) => ({
      path: clip(v.path, 300),
      rule: clip(v.rule, 200),
      message: clip(v.message, 500),
    })),
    violationCount: violations.length,
  };
}

/**
 * A rejected message as its exception keeps it: whole (once the message is acknowledged, the exception is the
 * only copy), with its size and digest. The exception repository stores a payload too large for one record
 * beside it and keeps the reference (see DynamoExceptionRepository).
 */
export function keptPayload(raw: string): {
  readonly payload: string;
  readonly payloadBytes: number;
  readonly payloadSha256: string;
} {
  return { payload: raw, payloadBytes: Buffer.byteLength(raw), payloadSha256: sha256(raw) };
}

export function addHours(at: Date, hours: number): string {
  return new Date(at.getTime() + hours * 3_600_000).toISOString();
}

export function addSeconds(at: Date, seconds: number): string {
  return new Date(at.getTime() + seconds * 1000).toISOString();
}

/** The `exception.raised` event announcing an owned exception to its team. */
export function exceptionRaisedEvent(
  exception: OwnedException,
  occurredAt: string,
): CanonicalEvent<'exception.raised'> {
  return {
    name: 'exception.raised',
    detail: {
      schemaVersion: 1,
      orderId: exception.orderId,
      correlationId: exception.correlationId,
      idempotencyKey: `${exception.exceptionId}:raised`,
      occurredAt,
      exceptionId: exception.exceptionId,
      type: exception.type,
      ownerTeam: exception.ownerTeam,
      priority: exception.priority,
      stage: exception.stage,
      slaDueAt: exception.slaDueAt,
      recommendedAction: clip(exception.recommendedAction, 500),
      reasonCodes: [...exception.reasonCodes],
    },
  };
}
