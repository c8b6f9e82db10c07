import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VirtualClock } from '../../../local/clock/clock.ts';
import { batchesOf, SqsService } from '../../../local/sqs/sqs-service.ts';
import { CloudModel } from '../../../local/template/model.ts';

describe('batchesOf (SQS SendMessageBatch limits)', () => {
  it('cuts at ten entries, keeping order', () => {
    const bodies = Array.from({ length: 23 }, (_, i) => `m${i}`);
    const batches = batchesOf(bodies);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 3]);
    expect(batches.flat()).toEqual(bodies);
  });

  it('cuts before a body that would take the request over 256 KB, and sends an oversized body alone', () => {
    const big = 'x'.repeat(100 * 1024);
    const huge = 'y'.repeat(300 * 1024);
    const batches = batchesOf(['a', big, big, big, 'b', huge, 'c']);
    expect(batches.map((b) => b.map((body) => body.length))).toEqual([
      [1, big.length, big.length],
      [big.length, 1],
      [huge.length],
      [1],
    ]);
  });

  it('counts bytes, not characters: 100,000 three-byte characters are 300,000 bytes', () => {
    const wide = '€'.repeat(100_000);
    expect(batchesOf(['a', wide]).map((b) => b.length)).toEqual([1, 1]);
  });

  it('makes no request for no messages', () => {
    expect(batchesOf([])).toEqual([]);
  });
});

describe('SqsService.sendBatch on fauxqs', () => {
  const dir = mkdtempSync(join(tmpdir(), 'handoff-sqs-batch-'));
  writeFileSync(
    join(dir, 'manifest.json'),
    JSON.stringify({
      artifacts: { S: { type: 'aws:cloudformation:stack', properties: { templateFile: 'S.template.json' } } },
    }),
  );
  writeFileSync(
    join(dir, 'S.template.json'),
    JSON.stringify({ Resources: { Feed: { Type: 'AWS::SQS::Queue', Properties: { QueueName: 'feed' } } } }),
  );
  const clock = new VirtualClock(new Date('2030-01-02T03:04:05.678Z'));
  const sqs = new SqsService(new CloudModel(dir, { sqsQueueUrl: (name) => name }), clock);
  beforeAll(() => sqs.start());
  afterAll(async () => {
    await sqs.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('delivers every body once, in order, and counts as plumbing work while it runs', async () => {
    const queue = sqs.byUrlOrName('feed');
    if (!queue) throw new Error('queue not created');
    const bodies = Array.from({ length: 25 }, (_, i) => JSON.stringify({ seq: i }));
    const sending = sqs.sendBatch(queue.arn, bodies);
    expect(clock.working).toBe(1);
    await sending;
    expect(clock.working).toBe(0);
    const received: string[] = [];
    for (let i = 0; i < 5 && received.length < bodies.length; i += 1) {
      const { Messages = [] } = await sqs.client.send(
        new ReceiveMessageCommand({ QueueUrl: queue.url, MaxNumberOfMessages: 10 }),
      );
      received.push(...Messages.map((m) => m.Body ?? ''));
    }
    expect(received).toEqual(bodies);
  });

  it('names a queue it does not have', async () => {
    await expect(sqs.sendBatch('arn:aws:sqs:us-east-1:000000000000:nope', ['x'])).rejects.toThrow(
      'no local queue arn:aws:sqs:us-east-1:000000000000:nope',
    );
  });
});
