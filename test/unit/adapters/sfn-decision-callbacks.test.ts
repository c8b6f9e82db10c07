import {
  InvalidToken,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { describe, expect, it } from 'vitest';
import { SfnDecisionCallbacks } from '../../../lambdas/adapters/aws/sfn-decision-callbacks.ts';

/** An SFN client that records what is sent and answers with `reply` (an error to throw, or nothing). */
function client(reply?: Error) {
  const sent: unknown[] = [];
  const fake = {
    send: async (command: unknown) => {
      sent.push(command);
      if (reply) throw reply;
      return {};
    },
  };
  return { sent, callbacks: new SfnDecisionCallbacks(fake as unknown as SFNClient) };
}

const meta = { $metadata: {}, message: 'gone' };

describe('Step Functions decision callbacks', () => {
  it('answers a waiting task with SendTaskSuccess and the decision as JSON output', async () => {
    const { sent, callbacks } = client();
    expect(await callbacks.succeed('tok', { outcome: 'approve' })).toBe('delivered');
    expect(sent[0]).toBeInstanceOf(SendTaskSuccessCommand);
    expect((sent[0] as SendTaskSuccessCommand).input).toEqual({
      taskToken: 'tok',
      output: '{"outcome":"approve"}',
    });
  });

  it('fails a waiting task with SendTaskFailure, the error name and the cause, within Step Functions limits', async () => {
    const { sent, callbacks } = client();
    expect(await callbacks.fail('tok', 'ExceptionRejected', 'c'.repeat(40_000))).toBe('delivered');
    expect(sent[0]).toBeInstanceOf(SendTaskFailureCommand);
    const input = (sent[0] as SendTaskFailureCommand).input;
    expect(input).toMatchObject({ taskToken: 'tok', error: 'ExceptionRejected' });
    expect(input.cause).toHaveLength(32_768);
  });

  it.each([
    ['TaskTimedOut', new TaskTimedOut(meta)],
    ['TaskDoesNotExist', new TaskDoesNotExist(meta)],
    ['InvalidToken', new InvalidToken(meta)],
  ])(
    'reports a token that is no longer live (%s) as expired, for success and failure alike',
    async (_name, error) => {
      expect(await client(error).callbacks.succeed('tok', {})).toBe('expired');
      expect(await client(error).callbacks.fail('tok', 'ExceptionRejected', 'why')).toBe('expired');
    },
  );

  it('throws anything else: the decision is recorded, the answer is retried by the caller', async () => {
    const throttled = Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
    await expect(client(throttled).callbacks.fail('tok', 'ExceptionRejected', 'why')).rejects.toThrow(
      'Rate exceeded',
    );
  });
});
