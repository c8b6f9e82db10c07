import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import type { DecisionCallbacks } from '../../ports/index.ts';

/** Step Functions' limits on a task failure's error name and cause. */
const MAX_ERROR_CHARS = 256;
const MAX_CAUSE_CHARS = 32_768;

/**
 * Resumes a workflow task waiting on a person. A token Step Functions no longer knows (the task timed out
 * and escalated, or the execution ended) is reported as 'expired' rather than thrown: the decision is
 * already recorded, and the next waiting task picks it up.
 */
export class SfnDecisionCallbacks implements DecisionCallbacks {
  constructor(private readonly client: SFNClient) {}

  async succeed(taskToken: string, output: object): Promise<'delivered' | 'expired'> {
    try {
      await this.client.send(new SendTaskSuccessCommand({ taskToken, output: JSON.stringify(output) }));
      return 'delivered';
    } catch (error) {
      return expiredOrThrow(error);
    }
  }

  async fail(taskToken: string, error: string, cause: string): Promise<'delivered' | 'expired'> {
    try {
      await this.client.send(
        new SendTaskFailureCommand({
          taskToken,
          error: error.slice(0, MAX_ERROR_CHARS),
          cause: cause.slice(0, MAX_CAUSE_CHARS),
        }),
      );
      return 'delivered';
    } catch (failure) {
      return expiredOrThrow(failure);
    }
  }
}

function expiredOrThrow(error: unknown): 'expired' {
  if (error instanceof TaskTimedOut || error instanceof TaskDoesNotExist || error instanceof InvalidToken) {
    return 'expired';
  }
  throw error;
}
