import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';

/**
 * SDK clients, created lazily once per process and reused across invocations. They take region, credentials
 * and endpoint (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) from the standard settings, so the same code
 * runs on AWS and locally. `cacheMiddleware` resolves each command's middleware stack once instead of on
 * every call: the largest CPU cost of a small SDK request.
 */
const shared = { cacheMiddleware: true } as const;

let documentClient: DynamoDBDocumentClient | undefined;
let eventBridgeClient: EventBridgeClient | undefined;
let sfnClient: SFNClient | undefined;

export function dynamoDocumentClient(): DynamoDBDocumentClient {
  documentClient ??= DynamoDBDocumentClient.from(new DynamoDBClient({}), {
    marshallOptions: { removeUndefinedValues: true },
  });
  return documentClient;
}

export function eventBridge(): EventBridgeClient {
  eventBridgeClient ??= new EventBridgeClient(shared);
  return eventBridgeClient;
}

export function stepFunctions(): SFNClient {
  sfnClient ??= new SFNClient(shared);
  return sfnClient;
}
