import type { FieldViolation } from '../../contracts/validation.ts';
import type { CanonicalEvent, OwnedException } from '../ports/index.ts';

const MAX_VIOLATIONS_IN_EVENT = 50;

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
