import { type DynamoDBClient, QueryCommand } from '@aws-sdk/client-dynamodb';
import type { OwnerTeam } from '../../../contracts/vocabulary.ts';
import type { OpenExceptionQueues } from '../../ports/index.ts';

/** The exceptions table's team-queue index: partition `ownerState` (`<team>#<state>`), sorted by `raisedAt`. */
export const BY_OWNER_STATE_INDEX = 'byOwnerState';

/**
 * Team queues of open exceptions, read from the by-owner index: the oldest open exception of a team is the
 * first item of its `<team>#open` partition (ascending `raisedAt`), so one Query with Limit 1 finds it,
 * however many are open. A resolved exception has left the partition (`<team>#resolved`).
 */
export class DynamoOpenExceptionQueues implements OpenExceptionQueues {
  constructor(
    private readonly client: DynamoDBClient,
    private readonly tableName: string,
  ) {}

  async oldestOpenRaisedAt(team: OwnerTeam): Promise<string | undefined> {
    const { Items = [] } = await this.client.send(
      new QueryCommand({
        TableName: this.tableName,
        IndexName: BY_OWNER_STATE_INDEX,
        KeyConditionExpression: 'ownerState = :queue',
        ExpressionAttributeValues: { ':queue': { S: `${team}#open` } },
        ProjectionExpression: 'raisedAt',
        ScanIndexForward: true,
        Limit: 1,
      }),
    );
    return Items[0]?.raisedAt?.S;
  }
}
