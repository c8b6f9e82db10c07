import {
  type AttributeDefinition,
  CreateTableCommand,
  type CreateTableCommandInput,
  type DynamoDBClient,
  type KeySchemaElement,
  type Projection,
  UpdateTimeToLiveCommand,
} from '@aws-sdk/client-dynamodb';
import type { CloudModel, TemplateResource } from '../template/model.ts';
import { UnsupportedTemplateFeature } from '../template/model.ts';

interface TableProperties {
  KeySchema: KeySchemaElement[];
  AttributeDefinitions: AttributeDefinition[];
  GlobalSecondaryIndexes?: { IndexName: string; KeySchema: KeySchemaElement[]; Projection: Projection }[];
  LocalSecondaryIndexes?: unknown[];
  TimeToLiveSpecification?: { AttributeName?: string; Enabled?: boolean };
  StreamSpecification?: { StreamViewType?: string };
}

/** The CreateTable input for a template table (`AWS::DynamoDB::GlobalTable` or `Table`). */
export function createTableInput(
  name: string,
  resource: TemplateResource,
  p: TableProperties,
): CreateTableCommandInput {
  if (p.LocalSecondaryIndexes) {
    throw new UnsupportedTemplateFeature(`${resource.stack}/${resource.logicalId}`, 'LocalSecondaryIndexes');
  }
  return {
    TableName: name,
    KeySchema: p.KeySchema,
    AttributeDefinitions: p.AttributeDefinitions,
    BillingMode: 'PAY_PER_REQUEST',
    ...(p.GlobalSecondaryIndexes
      ? {
          GlobalSecondaryIndexes: p.GlobalSecondaryIndexes.map((g) => ({
            IndexName: g.IndexName,
            KeySchema: g.KeySchema,
            Projection: g.Projection,
          })),
        }
      : {}),
    ...(p.StreamSpecification?.StreamViewType
      ? {
          StreamSpecification: {
            StreamEnabled: true,
            StreamViewType: p.StreamSpecification.StreamViewType as 'NEW_AND_OLD_IMAGES',
          },
        }
      : {}),
  };
}

export interface LocalTable {
  readonly resource: TemplateResource;
  readonly name: string;
  readonly ttlAttribute?: string;
}

/** Creates every table of the cloud model in DynamoDB Local: keys, GSIs, stream and TTL as declared. */
export async function createTables(client: DynamoDBClient, model: CloudModel): Promise<LocalTable[]> {
  const tables = [...model.ofType('AWS::DynamoDB::GlobalTable'), ...model.ofType('AWS::DynamoDB::Table')];
  return Promise.all(
    tables.map(async (resource) => {
      const name = model.physicalName(resource);
      const p = model.resolvedProperties(resource) as unknown as TableProperties;
      await client.send(new CreateTableCommand(createTableInput(name, resource, p)));
      const ttl = p.TimeToLiveSpecification;
      if (ttl?.AttributeName && ttl.Enabled !== false) {
        await client.send(
          new UpdateTimeToLiveCommand({
            TableName: name,
            TimeToLiveSpecification: { AttributeName: ttl.AttributeName, Enabled: true },
          }),
        );
      }
      return { resource, name, ...(ttl?.AttributeName ? { ttlAttribute: ttl.AttributeName } : {}) };
    }),
  );
}
