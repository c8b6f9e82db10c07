import { Metrics } from '@aws-lambda-powertools/metrics';
import { DynamoOpenExceptionQueues } from '../adapters/aws/dynamo-open-exception-queues.ts';
import { DynamoSlaClockStore } from '../adapters/aws/dynamo-sla-clock-store.ts';
import { exceptionMetrics } from '../adapters/aws/powertools-exception-metrics.ts';
import {
  METRICS_NAMESPACE,
  PowertoolsSlaMetrics,
  SLA_METRICS_SERVICE,
} from '../adapters/aws/powertools-sla-metrics.ts';
import { parseSlaPolicy } from '../core/sla.ts';
import type { ExceptionAgeDeps, SlaDeps } from '../use-cases/sla-clocks.ts';
import { dynamoDb } from './aws-clients.ts';
import { systemClock } from './clock.ts';
import { readConfig } from './config.ts';
import { ConfigurationError } from './errors.ts';
import { eventPublisher, exceptionRepository, orderRepository } from './wiring.ts';

/** What the SLA tracker and detector share: the clock store, the policy from SLA_POLICY, the metrics. */
export function slaDeps(): SlaDeps {
  const config = readConfig([
    'ORDERS_TABLE_NAME',
    'EXCEPTIONS_TABLE_NAME',
    'SLA_CLOCKS_TABLE_NAME',
    'EVENT_BUS_NAME',
  ]);
  let policy: ReturnType<typeof parseSlaPolicy>;
  try {
    policy = parseSlaPolicy(process.env.SLA_POLICY ? JSON.parse(process.env.SLA_POLICY) : undefined);
  } catch (error) {
    throw new ConfigurationError(`SLA_POLICY: ${(error as Error).message}`);
  }
  return {
    clocks: new DynamoSlaClockStore(dynamoDb(), config.SLA_CLOCKS_TABLE_NAME),
    orders: orderRepository(config.ORDERS_TABLE_NAME),
    exceptions: exceptionRepository(config.EXCEPTIONS_TABLE_NAME),
    events: eventPublisher(config.EVENT_BUS_NAME),
    clock: systemClock,
    policy,
    metrics: new PowertoolsSlaMetrics(
      new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SLA_METRICS_SERVICE }),
    ),
  };
}

/** What the detector's oldest-open-exception figures use: the team queues of the exceptions table. */
export function exceptionAgeDeps(): ExceptionAgeDeps {
  const config = readConfig(['EXCEPTIONS_TABLE_NAME']);
  return {
    queues: new DynamoOpenExceptionQueues(dynamoDb(), config.EXCEPTIONS_TABLE_NAME),
    metrics: exceptionMetrics(),
    clock: systemClock,
  };
}
