import { Stack } from 'aws-cdk-lib';
import type * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as kms from 'aws-cdk-lib/aws-kms';

export type TableAction =
  | 'GetItem'
  | 'BatchGetItem'
  | 'PutItem'
  | 'BatchWriteItem'
  | 'UpdateItem'
  | 'Query'
  | 'ConditionCheckItem';

export interface TableBinding {
  readonly table: dynamodb.ITableV2;
  readonly key: kms.IKey;
  /** The exact data-plane actions the function uses. */
  readonly actions: readonly TableAction[];
  /** GSIs the function queries; each is granted by its own ARN. */
  readonly indexes?: readonly string[];
}

/**
 * Grants a role exactly the DynamoDB actions it uses on one table (and named indexes), plus the KMS
 * actions DynamoDB needs on the table's customer-managed key, only when called through DynamoDB.
 * CDK's `grantReadWriteData` would add `kms:ReEncrypt*` and `kms:GenerateDataKey*` wildcards.
 */
export function bindTable(role: iam.IRole, binding: TableBinding): void {
  const { table, key, actions, indexes = [] } = binding;
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: [...new Set(actions)].map((action) => `dynamodb:${action}`),
      resources: [table.tableArn],
    }),
  );
  // An index is only ever queried: item reads and writes go to the table.
  if (indexes.length > 0) {
    if (!actions.includes('Query')) {
      throw new Error(
        `bindTable: indexes ${indexes.join(', ')} are granted but Query is not among the actions`,
      );
    }
    role.addToPrincipalPolicy(
      new iam.PolicyStatement({
        actions: ['dynamodb:Query'],
        resources: indexes.map((index) => `${table.tableArn}/index/${index}`),
      }),
    );
  }
  const writes = actions.some((action) => action === 'PutItem' || action === 'UpdateItem');
  role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: writes
        ? ['kms:Decrypt', 'kms:DescribeKey', 'kms:Encrypt', 'kms:GenerateDataKey']
        : ['kms:Decrypt', 'kms:DescribeKey'],
      resources: [key.keyArn],
      conditions: { StringEquals: { 'kms:ViaService': `dynamodb.${Stack.of(role).region}.amazonaws.com` } },
    }),
  );
}
