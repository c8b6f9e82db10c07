import { ExecutionAlreadyExists, type SFNClient, StartExecutionCommand } from '@aws-sdk/client-sfn';
import type { ExecutionStarter } from '../../ports/index.ts';

/**
 * Starts a Standard execution named after the order. Step Functions refuses a second execution with the
 * same name, which makes a redelivered `order.received` harmless: we find the first one and carry on.
 */
export class SfnExecutionStarter implements ExecutionStarter {
  constructor(private readonly client: SFNClient) {}

  async start(
    stateMachineArn: string,
    name: string,
    input: object,
  ): Promise<{ executionArn: string; alreadyStarted: boolean }> {
    try {
      const result = await this.client.send(
        new StartExecutionCommand({ stateMachineArn, name, input: JSON.stringify(input) }),
      );
      return { executionArn: result.executionArn ?? '', alreadyStarted: false };
    } catch (error) {
      if (!(error instanceof ExecutionAlreadyExists)) throw error;
      // Execution ARNs are the state machine ARN with `execution` and the name: no read needed.
      return {
        executionArn: `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`,
        alreadyStarted: true,
      };
    }
  }
}
