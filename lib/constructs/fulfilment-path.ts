import { Duration, Validations } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import * as iam from 'aws-cdk-lib/aws-iam';
import type * as lambda from 'aws-cdk-lib/aws-lambda';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import { Construct } from 'constructs';
import type { FulfilmentPath as PathName } from '../../contracts/vocabulary.ts';
import { stateMachineFile } from '../paths.ts';

/** A workflow that is not a fulfilment path of its own: it follows one (post-shipment after the handoff). */
export type FollowOnWorkflow = 'post-shipment';

export interface FulfilmentPathProps {
  /** The path or follow-on workflow; its ASL is `statemachines/<path>.asl.json`. */
  readonly path: PathName | FollowOnWorkflow;
  /** Each `${Name}` placeholder in the ASL, mapped to the function whose ARN fills it; each is invokable. */
  readonly functions: Readonly<Record<string, lambda.IFunction>>;
  /** Further substitutions that are not functions (bus names, table names, …). @default {} */
  readonly substitutions?: Readonly<Record<string, string>>;
  /** @default sfn.StateMachineType.STANDARD */
  readonly type?: sfn.StateMachineType;
}

/**
 * One fulfilment path: its ASL file loaded as written (readable in the console), every ARN substituted,
 * invoke rights on exactly its functions, full execution logging without payloads, tracing, and an alarm
 * on failed executions.
 */
export class FulfilmentPath extends Construct {
  public readonly stateMachine: sfn.StateMachine;
  public readonly failedExecutionsAlarm: cloudwatch.Alarm;
  public readonly path: PathName | FollowOnWorkflow;
  /** Express workflows alarm on timed-out executions too: one that times out raises no owned exception. */
  public readonly timedOutExecutionsAlarm: cloudwatch.Alarm | undefined;

  constructor(scope: Construct, id: string, props: FulfilmentPathProps) {
    super(scope, id);
    this.path = props.path;
    const functions = Object.entries(props.functions);
    const logGroup = new logs.LogGroup(this, 'ExecutionLogs', { retention: logs.RetentionDays.ONE_MONTH });
    const role = new iam.Role(this, 'Role', {
      assumedBy: new iam.ServicePrincipal('states.amazonaws.com'),
      description: `Fulfilment path ${props.path}: invokes its step functions only`,
    });
    if (functions.length > 0) {
      // The ASL calls unqualified function ARNs, so versions and aliases (`:*`) are not granted.
      role.addToPrincipalPolicy(
        new iam.PolicyStatement({
          actions: ['lambda:InvokeFunction'],
          resources: functions.map(([, fn]) => fn.functionArn),
        }),
      );
    }

    this.stateMachine = new sfn.StateMachine(this, 'StateMachine', {
      definitionBody: sfn.DefinitionBody.fromFile(stateMachineFile(props.path)),
      definitionSubstitutions: {
        ...Object.fromEntries(functions.map(([name, fn]) => [name, fn.functionArn])),
        ...props.substitutions,
      },
      stateMachineType: props.type ?? sfn.StateMachineType.STANDARD,
      role,
      tracingEnabled: true,
      logs: { destination: logGroup, level: sfn.LogLevel.ALL, includeExecutionData: false },
    });

    this.failedExecutionsAlarm = new cloudwatch.Alarm(this, 'FailedExecutions', {
      alarmDescription: `Executions of the ${props.path} path failed: an order left its path without an owned exception.`,
      metric: this.stateMachine.metricFailed({ period: Duration.minutes(5), statistic: 'Sum' }),
      threshold: 0,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
      evaluationPeriods: 1,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
    });

    this.timedOutExecutionsAlarm =
      props.type === sfn.StateMachineType.EXPRESS
        ? new cloudwatch.Alarm(this, 'TimedOutExecutions', {
            alarmDescription: `Executions of the ${props.path} workflow timed out before they could raise an owned exception.`,
            metric: this.stateMachine.metricTimedOut({ period: Duration.minutes(5), statistic: 'Sum' }),
            threshold: 0,
            comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            evaluationPeriods: 1,
            treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
          })
        : undefined;

    Validations.of(role).acknowledge({
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'CloudWatch Logs delivery (logs:CreateLogDelivery, PutResourcePolicy, DescribeLogGroups…) and X-Ray trace APIs that Step Functions logging and tracing need support no resource-level permissions.',
    });
  }
}
