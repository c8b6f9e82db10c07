import { CreateTableCommand } from '@aws-sdk/client-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DynamoExceptionRepository } from '../../lambdas/adapters/aws/dynamo-exception-repository.ts';
import {
  BY_OWNER_STATE_INDEX,
  DynamoOpenExceptionQueues,
} from '../../lambdas/adapters/aws/dynamo-open-exception-queues.ts';
import type { OwnedException } from '../../lambdas/ports/index.ts';
import { buildApp } from '../../lib/app.ts';
import { type DynamoDbLocal, startDynamoDbLocal } from '../../local/dynamodb/dynamodb-local.ts';
import { createTableInput } from '../../local/dynamodb/tables.ts';

/**
 * The oldest open exception of a team, read from the exceptions table the stateful stack declares (its
 * by-owner index), with exceptions written and decided by the exception repository: one Query, Limit 1.
 */
let ddb: DynamoDbLocal;
let repository: DynamoExceptionRepository;
let queues: DynamoOpenExceptionQueues;
const sent: { name: string; input: Record<string, unknown> }[] = [];

beforeAll(async () => {
  ddb = await startDynamoDbLocal();
  const { stateful } = buildApp(new App({ context: { 'aws:cdk:bundling-stacks': [] } }));
  const found = Object.entries(Template.fromStack(stateful).findResources('AWS::DynamoDB::GlobalTable')).find(
    ([logicalId]) => logicalId.startsWith('ExceptionsTable'),
  );
  if (!found) throw new Error('no ExceptionsTable in the stateful template');
  const [logicalId, table] = found as [string, { Type: string; Properties: Record<string, unknown> }];
  await ddb.client.send(
    new CreateTableCommand(
      createTableInput(
        'test-exceptions',
        { stack: 'test', logicalId, type: table.Type, properties: table.Properties, metadata: {} },
        table.Properties as unknown as Parameters<typeof createTableInput>[2],
      ),
    ),
  );
  const send = ddb.client.send.bind(ddb.client);
  ddb.client.send = ((command: { constructor: { name: string }; input: Record<string, unknown> }) => {
    sent.push({ name: command.constructor.name, input: command.input });
    return send(command as unknown as Parameters<typeof send>[0]);
  }) as typeof ddb.client.send;
  repository = new DynamoExceptionRepository(ddb.client, 'test-exceptions');
  queues = new DynamoOpenExceptionQueues(ddb.client, 'test-exceptions');
}, 120_000);

afterAll(async () => {
  await ddb?.stop();
});

const exception = (id: string, ownerTeam: OwnedException['ownerTeam'], raisedAt: string): OwnedException => ({
  exceptionId: id,
  type: ownerTeam === 'finance' ? 'credit-hold' : 'integration-failure',
  ownerTeam,
  priority: 'normal',
  state: 'open',
  stage: 'credit-hold',
  orderId: `ERP-${id}`,
  correlationId: `ERP-${id}`,
  raisedAt,
  slaDueAt: raisedAt,
  recommendedAction: 'decide',
  reasonCodes: [],
  context: {},
  audit: [],
});

describe('DynamoOpenExceptionQueues', () => {
  it('finds each team’s oldest open exception with one Query of the by-owner index, Limit 1', async () => {
    for (const [id, team, raisedAt] of [
      ['F-2', 'finance', '2026-12-05T09:00:00.000Z'],
      ['F-1', 'finance', '2026-12-05T07:00:00.000Z'],
      ['F-3', 'finance', '2026-12-05T11:00:00.000Z'],
      ['I-1', 'integration', '2026-12-05T06:00:00.000Z'],
    ] as const) {
      await repository.raiseIfAbsent(exception(id, team, raisedAt));
    }
    sent.length = 0;
    expect(await queues.oldestOpenRaisedAt('finance')).toBe('2026-12-05T07:00:00.000Z');
    expect(await queues.oldestOpenRaisedAt('integration')).toBe('2026-12-05T06:00:00.000Z');
    expect(await queues.oldestOpenRaisedAt('logistics')).toBeUndefined();
    expect(sent.map((c) => c.name)).toEqual(['QueryCommand', 'QueryCommand', 'QueryCommand']);
    expect(sent[0]?.input).toMatchObject({
      IndexName: BY_OWNER_STATE_INDEX,
      KeyConditionExpression: 'ownerState = :queue',
      ExpressionAttributeValues: { ':queue': { S: 'finance#open' } },
      ScanIndexForward: true,
      Limit: 1,
    });
  });

  it('a decided exception leaves the open queue: the next oldest is the oldest now', async () => {
    const oldest = await repository.get('F-1');
    if (!oldest) throw new Error('F-1 was not stored');
    const decidedAt = '2026-12-05T12:00:00.000Z';
    const result = await repository.resolve(
      oldest,
      { outcome: 'release', decidedBy: 'pat', decidedAt, reason: 'ok', tier: 1 },
      { at: decidedAt, actor: 'pat', action: 'released', why: 'ok' },
    );
    expect(result.resolved).toBe(true);
    expect(await queues.oldestOpenRaisedAt('finance')).toBe('2026-12-05T09:00:00.000Z');
  });
});
