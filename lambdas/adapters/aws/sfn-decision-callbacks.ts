import {
  InvalidToken,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import type { DecisionCallbacks } from '../../ports/index.ts';

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
      if (
        error instanceof TaskTimedOut ||
        error instanceof TaskDoesNotExist ||
        error instanceof InvalidToken
      ) {
        return 'expired';
      }
      throw error;
    }
  }
}
