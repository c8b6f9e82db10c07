import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { SQSClient } from '@aws-sdk/client-sqs';

/**
 * SDK clients, created lazily once per process and reused across invocations. They take region, credentials
 * and endpoint (AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_<SERVICE>) from the standard settings, so the same code
 * runs on AWS and locally. `cacheMiddleware` resolves each command's middleware stack once instead of on
 * every call: the largest CPU cost of a small SDK request.
 */
const shared = { cacheMiddleware: true } as const;

let dynamoClient: DynamoDBClient | undefined;
let eventBridgeClient: EventBridgeClient | undefined;
let sfnClient: SFNClient | undefined;
let sqsClient: SQSClient | undefined;

export function dynamoDb(): DynamoDBClient {
  dynamoClient ??= new DynamoDBClient(shared);
  return dynamoClient;
}

export function eventBridge(): EventBridgeClient {
  eventBridgeClient ??= new EventBridgeClient(shared);
  return eventBridgeClient;
}

export function stepFunctions(): SFNClient {
  sfnClient ??= new SFNClient(shared);
  return sfnClient;
}

export function sqs(): SQSClient {
  sqsClient ??= new SQSClient(shared);
  return sqsClient;
}
