/**
 * Base for every error raised by the domain core. `retryable` tells the orchestration layer
 * whether re-running the same input could succeed; every validation error is permanent.
 * Subclasses set `name` to their class name so `error.name` survives serialisation
 * (e.g. Step Functions `Catch` on `States.ErrorEquals`).
 */
export abstract class DomainError extends Error {
  abstract readonly retryable: boolean;
}

/**
 * Shared shape for "the input is wrong" errors: the offending field path
 * (e.g. `lines[2].quantity`) and the rule it broke, both also in the message.
 */
export abstract class InvalidInputError extends DomainError {
  readonly retryable = false;
  readonly field: string;
  readonly rule: string;

  constructor(field: string, rule: string) {
    super(`${field} ${rule}`);
    this.field = field;
    this.rule = rule;
  }
}
