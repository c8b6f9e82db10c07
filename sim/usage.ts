/**
 * What one run used of each AWS service, as AWS would bill and throttle it. The local cloud's usage meter
 * (local/usage-meter.ts) fills it from what actually ran; the cost model (sim/cost.ts) prices it and the
 * capacity plan (sim/capacity.ts) compares its peaks with the default quotas.
 *
 * Counts are totals over the run. Peaks are the busiest rate seen in any one window of *virtual* time (the
 * simulated week's clock), per second, averaged over `peakWindowSeconds`: a simulation that runs a week in
 * minutes still reports the rates the week would have had.
 */
export interface AwsUsage {
  /** Virtual time the run covered. */
  readonly window: { readonly from: string; readonly to: string; readonly seconds: number };
  /** Orders accepted at an ingress in this run (the cost model's denominator). */
  readonly orders: number;
  readonly stepFunctions: {
    /** Standard workflows: executions started and state transitions (billed per transition). */
    readonly standardExecutions: number;
    readonly standardTransitions: number;
    /** Transitions per Standard execution by state machine name (for the per-path figure). */
    readonly standardTransitionsByMachine: Readonly<
      Record<string, { executions: number; transitions: number }>
    >;
    /** Express workflows: requests (executions started) and billed duration. */
    readonly expressRequests: number;
    /** Sum over Express executions of duration × memory, billed in 100 ms steps at 64 MB (GB-seconds). */
    readonly expressGbSeconds: number;
  };
  readonly lambda: {
    readonly requests: number;
    /** Sum of billed duration (1 ms granularity) × configured memory (GB-seconds). */
    readonly gbSeconds: number;
    readonly byFunction: Readonly<Record<string, { requests: number; gbSeconds: number; memoryMb: number }>>;
  };
  readonly eventBridge: {
    /** Custom events put on buses, billed per 64 KB chunk (entries put by functions, state machines, pipes). */
    readonly events: number;
    /** Rule target invocations (free for AWS service targets; counted for the quota). */
    readonly invocations: number;
    /** Events archived and replayed. */
    readonly archivedEvents: number;
    readonly archivedBytes: number;
    readonly replayedEvents: number;
  };
  readonly dynamodb: {
    /** On-demand read and write request units, as DynamoDB bills them (item size rounding, eventually consistent halves, transactions doubled). */
    readonly readRequestUnits: number;
    readonly writeRequestUnits: number;
    /** Stored bytes at the end of the run (all tables), for the storage line. */
    readonly storedBytes: number;
    readonly byTable: Readonly<
      Record<string, { readRequestUnits: number; writeRequestUnits: number; storedBytes: number }>
    >;
  };
  readonly sqs: {
    /** API requests, each 64 KB chunk of payload a request (Send, Receive, Delete, ChangeVisibility, batches count once per call). */
    readonly requests: number;
  };
  readonly logs: {
    /** Bytes of log lines written by functions and state machines (CloudWatch Logs ingestion). */
    readonly bytesIngested: number;
  };
  readonly peaks: UsagePeaks;
}

/** Busiest rates (per second, over `peakWindowSeconds` of virtual time) and the high-water marks. */
export interface UsagePeaks {
  readonly peakWindowSeconds: number;
  readonly standardStartExecutionPerSecond: number;
  readonly standardTransitionsPerSecond: number;
  /** Most Standard executions open (RUNNING) at one time. */
  readonly openStandardExecutions: number;
  readonly expressStartExecutionPerSecond: number;
  readonly putEventsEntriesPerSecond: number;
  readonly ruleInvocationsPerSecond: number;
  readonly lambdaInvocationsPerSecond: number;
  /** Peak concurrent executions by Little's law: invocations/s in the peak window × mean duration in seconds (AWS durations are not the local ones; the local mean is the estimate). */
  readonly lambdaConcurrency: number;
  /** Busiest single partition (table + partition key value) in write and read units per second. */
  readonly dynamodbHottestPartition: {
    readonly table: string;
    readonly partitionKey: string;
    readonly writeUnitsPerSecond: number;
    readonly readUnitsPerSecond: number;
  };
  readonly sqsRequestsPerSecond: number;
}
