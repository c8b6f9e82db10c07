import { describe, expect, it } from 'vitest';
import { InvalidAllocationInput } from '../../../lambdas/core/allocation.ts';
import { InvalidCreditInput } from '../../../lambdas/core/credit.ts';
import { DomainError, InvalidInputError } from '../../../lambdas/core/errors.ts';
import { InvalidReleaseInput } from '../../../lambdas/core/release.ts';
import { InvalidRoutingInput, NoDeployedPath } from '../../../lambdas/core/routing.ts';

describe('domain errors', () => {
  it.each([
    ['InvalidCreditInput', new InvalidCreditInput('orderValue', 'must not be negative')],
    ['InvalidAllocationInput', new InvalidAllocationInput('lines[0].quantity', 'must be a positive integer')],
    ['InvalidReleaseInput', new InvalidReleaseInput('now', 'must be an ISO datetime')],
    ['InvalidRoutingInput', new InvalidRoutingInput('lines', 'must contain at least one line')],
  ])('%s is a permanent input error named after its class, carrying field and rule', (name, error) => {
    expect(error).toBeInstanceOf(Error);
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe(name);
    expect(error.constructor.name).toBe(name);
    expect(error.retryable).toBe(false);
    expect(error.message).toBe(`${error.field} ${error.rule}`);
    expect(String(error)).toBe(`${name}: ${error.message}`);
  });

  it('NoDeployedPath is a permanent domain error named after its class', () => {
    const error = new NoDeployedPath('expedited');
    expect(error).toBeInstanceOf(DomainError);
    expect(error).not.toBeInstanceOf(InvalidInputError);
    expect(error.name).toBe('NoDeployedPath');
    expect(error.retryable).toBe(false);
    expect(error.requestedPath).toBe('expedited');
  });

  it('keeps a stack trace for debugging', () => {
    expect(new InvalidCreditInput('orderValue', 'x').stack).toContain('InvalidCreditInput');
  });
});
