import { describe, expect, it } from 'vitest';
import {
  type Definition,
  ENGINE_TASK_TIMEOUT_SECONDS,
  LOCAL_WAIT_RESOURCE,
  prepareDefinition,
  TASK_TOKEN_PLACEHOLDER,
  taskStates,
  waitStates,
} from '../../../local/stepfunctions/definition.ts';
import { UnsupportedTemplateFeature } from '../../../local/template/model.ts';

const MACHINE = 'Stack/Machine';
const FN = 'arn:aws:lambda:us-east-1:000000000000:function:Worker';

/** A one-state machine around `state`, named `S`. */
function single(state: Record<string, unknown>): Definition {
  return { StartAt: 'S', States: { S: { End: true, ...state } } };
}

function rejection(definition: Definition): UnsupportedTemplateFeature {
  try {
    prepareDefinition(MACHINE, definition);
  } catch (error) {
    expect(error).toBeInstanceOf(UnsupportedTemplateFeature);
    expect((error as Error).name).toBe('UnsupportedTemplateFeature');
    return error as UnsupportedTemplateFeature;
  }
  throw new Error('prepareDefinition accepted the definition');
}

/** A Map (ItemProcessor) and a Parallel state, each wrapping `inner` as state `Inner`. */
function nested(inner: Record<string, unknown>): Definition {
  return {
    StartAt: 'Fan',
    States: {
      Fan: {
        Type: 'Map',
        ItemsPath: '$.items',
        ItemProcessor: { StartAt: 'Inner', States: { Inner: { End: true, ...inner } } },
        Next: 'Both',
      },
      Both: {
        Type: 'Parallel',
        Branches: [
          { StartAt: 'Left', States: { Left: { Type: 'Pass', End: true } } },
          { StartAt: 'Inner', States: { Inner: { End: true, ...inner } } },
        ],
        End: true,
      },
    },
  };
}

describe('prepareDefinition: what it refuses', () => {
  it('refuses a JSONata state machine, naming the machine and the query language', () => {
    const error = rejection({
      QueryLanguage: 'JSONata',
      StartAt: 'P',
      States: { P: { Type: 'Pass', End: true } },
    });
    expect(error.resource).toBe(MACHINE);
    expect(error.feature).toBe('QueryLanguage JSONata');
    expect(error.message).toBe(`${MACHINE}: QueryLanguage JSONata is not supported by the local cloud`);
  });

  it('accepts an explicit JSONPath state machine', () => {
    const prepared = prepareDefinition(MACHINE, {
      QueryLanguage: 'JSONPath',
      StartAt: 'P',
      States: { P: { Type: 'Pass', End: true } },
    });
    expect(prepared.QueryLanguage).toBe('JSONPath');
    expect(Object.keys(prepared.States)).toEqual(['P']);
  });

  it('refuses a JSONata state inside a JSONPath machine, naming the state', () => {
    const error = rejection(single({ Type: 'Pass', QueryLanguage: 'JSONata' }));
    expect(error.resource).toBe(`${MACHINE}/S`);
    expect(error.feature).toContain('QueryLanguage');
  });

  it('refuses a JSONata item processor inside a Map, naming the Map', () => {
    const error = rejection({
      StartAt: 'Fan',
      States: {
        Fan: {
          Type: 'Map',
          ItemProcessor: {
            QueryLanguage: 'JSONata',
            StartAt: 'I',
            States: { I: { Type: 'Pass', End: true } },
          },
          End: true,
        },
      },
    });
    expect(error.resource).toBe(`${MACHINE}/Fan`);
    expect(error.feature).toBe('QueryLanguage JSONata');
  });

  it.each([
    ['Assign', { Assign: { orderId: '$.id' } }],
    ['Arguments', { Arguments: { a: 1 } }],
    ['Output', { Output: { a: 1 } }],
    ['HeartbeatSeconds', { HeartbeatSeconds: 60 }],
    ['HeartbeatSecondsPath', { HeartbeatSecondsPath: '$.beat' }],
  ])('refuses %s, naming the state and the field', (field, extra) => {
    const error = rejection(
      single({ Type: 'Task', Resource: 'arn:aws:states:::lambda:invoke', Parameters: {}, ...extra }),
    );
    expect(error.resource).toBe(`${MACHINE}/S`);
    expect(error.feature).toBe(field);
    expect(error.message).toContain(`${MACHINE}/S`);
    expect(error.message).toContain(field);
  });

  it('refuses Assign on a state nested in a Map, with the nested path', () => {
    const error = rejection(nested({ Type: 'Pass', Assign: { x: 1 } }));
    expect(error.resource).toBe(`${MACHINE}/Fan/Inner`);
    expect(error.feature).toBe('Assign');
  });

  it('names the branch of a Parallel state in the path', () => {
    const error = rejection({
      StartAt: 'Both',
      States: {
        Both: {
          Type: 'Parallel',
          Branches: [
            { StartAt: 'Ok', States: { Ok: { Type: 'Pass', End: true } } },
            {
              StartAt: 'Beat',
              States: { Beat: { Type: 'Task', Resource: FN, HeartbeatSeconds: 5, End: true } },
            },
          ],
          End: true,
        },
      },
    });
    expect(error.resource).toBe(`${MACHINE}/Both[1]/Beat`);
    expect(error.feature).toBe('HeartbeatSeconds');
  });

  it.each([
    'arn:aws:states:::ecs:runTask.sync',
    'arn:aws:states:::aws-sdk:s3:getObject',
    'arn:aws:states:::dynamodb:query',
    'arn:aws:states:::states:startExecution.sync:2',
    'arn:aws:states:::lambda:invoke.sync',
  ])('refuses the Task resource %s, naming the state and the resource', (resource) => {
    const error = rejection(single({ Type: 'Task', Resource: resource }));
    expect(error.resource).toBe(`${MACHINE}/S`);
    expect(error.feature).toBe(`Task resource ${resource}`);
  });

  it('refuses an unsupported Task resource inside a Map item processor', () => {
    const error = rejection(nested({ Type: 'Task', Resource: 'arn:aws:states:::ecs:runTask.sync' }));
    expect(error.resource).toBe(`${MACHINE}/Fan/Inner`);
    expect(error.feature).toContain('ecs:runTask.sync');
  });

  it.each([
    'arn:aws:states:::lambda:invoke',
    'arn:aws:states:::lambda:invoke.waitForTaskToken',
    FN,
    `${FN}:live`,
    'arn:aws:states:::events:putEvents',
    'arn:aws:states:::events:putEvents.waitForTaskToken',
    'arn:aws:states:::sqs:sendMessage',
    'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
    'arn:aws:states:::dynamodb:getItem',
    'arn:aws:states:::dynamodb:putItem',
    'arn:aws:states:::dynamodb:updateItem',
    'arn:aws:states:::dynamodb:deleteItem',
  ])('accepts the Task resource %s', (resource) => {
    const prepared = prepareDefinition(MACHINE, single({ Type: 'Task', Resource: resource }));
    expect(prepared.States.S?.Resource).toBe(resource);
  });

  it('refuses $$.Task.Token in a task that does not wait for a token', () => {
    const error = rejection(
      single({
        Type: 'Task',
        Resource: 'arn:aws:states:::lambda:invoke',
        Parameters: { FunctionName: FN, Payload: { 'token.$': '$$.Task.Token' } },
      }),
    );
    expect(error.resource).toBe(`${MACHINE}/S`);
    expect(error.feature).toContain('$$.Task.Token');
    expect(error.feature).toContain('.waitForTaskToken');
  });

  it('refuses $$.Task.Token outside a Task, and in the ResultSelector of a waiting task', () => {
    expect(rejection(single({ Type: 'Pass', Parameters: { 'token.$': '$$.Task.Token' } })).feature).toContain(
      '$$.Task.Token',
    );
    const selector = rejection(
      single({
        Type: 'Task',
        Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
        Parameters: { QueueUrl: 'q', MessageBody: { 'token.$': '$$.Task.Token' } },
        ResultSelector: { 'token.$': '$$.Task.Token' },
      }),
    );
    expect(selector.resource).toBe(`${MACHINE}/S`);
    expect(selector.feature).toContain('$$.Task.Token');
  });

  it.each(['$$.State.EnteredTime', '$$.State.RetryCount', '$$.Task.Anything'])(
    'refuses the context path %s, naming the state and the path',
    (path) => {
      const error = rejection(single({ Type: 'Pass', Parameters: { deep: [{ 'at.$': path }] } }));
      expect(error.resource).toBe(`${MACHINE}/S`);
      expect(error.feature).toBe(`context path ${path}`);
    },
  );

  it('refuses $$.State.EnteredTime in a Map item processor, with the nested path', () => {
    const error = rejection(
      nested({ Type: 'Task', Resource: FN, Parameters: { 'entered.$': '$$.State.EnteredTime' } }),
    );
    expect(error.resource).toBe(`${MACHINE}/Fan/Inner`);
    expect(error.feature).toContain('$$.State.EnteredTime');
  });

  // Found while writing these tests: a context path inside an intrinsic function is neither rewritten
  // nor refused, so start-up passes and the execution fails at run time ("Path expression
  // '$$.State.EnteredTime' does not point to a value"), against the promise that anything unsupported
  // stops start-up.
  it('refuses $$.State.EnteredTime used as an intrinsic-function argument', () => {
    const error = rejection(
      single({ Type: 'Pass', Parameters: { 'at.$': "States.Format('entered {}', $$.State.EnteredTime)" } }),
    );
    expect(error.resource).toBe(`${MACHINE}/S`);
    expect(error.feature).toContain('$$.State.EnteredTime');
  });
});

describe('prepareDefinition: what it rewrites', () => {
  it("drops the execution's TimeoutSeconds, which the service times on the local clock", () => {
    const prepared = prepareDefinition(MACHINE, {
      ...single({ Type: 'Pass', End: true }),
      TimeoutSeconds: 90 * 86_400,
    } as Parameters<typeof prepareDefinition>[1]);
    expect(prepared).not.toHaveProperty('TimeoutSeconds');
  });

  it('replaces "x.$": "$$.State.Name" with the static state name, dropping the .$', () => {
    const prepared = prepareDefinition(
      MACHINE,
      single({
        Type: 'Task',
        Resource: FN,
        Parameters: {
          'step.$': '$$.State.Name',
          nested: { 'where.$': '$$.State.Name', list: [{ 'n.$': '$$.State.Name' }] },
          'order.$': '$.order',
          'execution.$': '$$.Execution.Id',
          literal: '$$.State.Name',
        },
        ResultSelector: { 'from.$': '$$.State.Name', 'body.$': '$.Payload' },
      }),
    );
    expect(prepared.States.S?.Parameters).toEqual({
      step: 'S',
      nested: { where: 'S', list: [{ n: 'S' }] },
      'order.$': '$.order',
      'execution.$': '$$.Execution.Id',
      literal: '$$.State.Name',
    });
    expect(prepared.States.S?.ResultSelector).toEqual({ from: 'S', 'body.$': '$.Payload' });
  });

  it('uses each nested state’s own name inside Map item processors and Parallel branches', () => {
    const prepared = prepareDefinition(MACHINE, {
      StartAt: 'Fan',
      States: {
        Fan: {
          Type: 'Map',
          Parameters: { 'mapName.$': '$$.State.Name', 'item.$': '$$.Map.Item.Value' },
          ItemProcessor: {
            StartAt: 'PerItem',
            States: { PerItem: { Type: 'Pass', Parameters: { 'name.$': '$$.State.Name' }, End: true } },
          },
          Next: 'Legacy',
        },
        Legacy: {
          Type: 'Map',
          Iterator: {
            StartAt: 'Old',
            States: {
              Old: { Type: 'Task', Resource: FN, Parameters: { 'name.$': '$$.State.Name' }, End: true },
            },
          },
          Next: 'Both',
        },
        Both: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'Left',
              States: { Left: { Type: 'Pass', Parameters: { 'name.$': '$$.State.Name' }, End: true } },
            },
            {
              StartAt: 'Right',
              States: { Right: { Type: 'Pass', Parameters: { 'name.$': '$$.State.Name' }, End: true } },
            },
          ],
          End: true,
        },
      },
    });
    expect(prepared.States.Fan?.Parameters).toEqual({ mapName: 'Fan', 'item.$': '$$.Map.Item.Value' });
    expect(prepared.States.Fan?.ItemProcessor?.States.PerItem?.Parameters).toEqual({ name: 'PerItem' });
    expect(prepared.States.Legacy?.Iterator?.States.Old?.Parameters).toEqual({ name: 'Old' });
    expect(prepared.States.Both?.Branches?.[0]?.States.Left?.Parameters).toEqual({ name: 'Left' });
    expect(prepared.States.Both?.Branches?.[1]?.States.Right?.Parameters).toEqual({ name: 'Right' });
  });

  // Found while writing these tests: ItemSelector (the current name of a Map's Parameters) is not
  // rewritten, so `$$.State.Name` there passes start-up and fails the execution at run time, while the
  // same field under the legacy name Parameters works.
  it('rewrites $$.State.Name in a Map ItemSelector as it does in the legacy Map Parameters', () => {
    const prepared = prepareDefinition(MACHINE, {
      StartAt: 'Fan',
      States: {
        Fan: {
          Type: 'Map',
          ItemSelector: { 'mapName.$': '$$.State.Name', 'item.$': '$$.Map.Item.Value' },
          ItemProcessor: { StartAt: 'I', States: { I: { Type: 'Pass', End: true } } },
          End: true,
        },
      },
    });
    expect(prepared.States.Fan?.ItemSelector).toEqual({ mapName: 'Fan', 'item.$': '$$.Map.Item.Value' });
  });

  it('replaces $$.Task.Token with the placeholder in waitForTaskToken tasks, at any depth', () => {
    const prepared = prepareDefinition(MACHINE, {
      StartAt: 'Ask',
      States: {
        Ask: {
          Type: 'Task',
          Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
          Parameters: {
            FunctionName: FN,
            Payload: { 'token.$': '$$.Task.Token', 'state.$': '$$.State.Name', 'input.$': '$' },
          },
          Next: 'Fan',
        },
        Fan: {
          Type: 'Map',
          ItemProcessor: {
            StartAt: 'Queue',
            States: {
              Queue: {
                Type: 'Task',
                Resource: 'arn:aws:states:::sqs:sendMessage.waitForTaskToken',
                Parameters: { QueueUrl: 'q', MessageBody: { 'tokens.$': '$$.Task.Token' } },
                End: true,
              },
            },
          },
          End: true,
        },
      },
    });
    expect(prepared.States.Ask?.Parameters).toEqual({
      FunctionName: FN,
      Payload: { token: TASK_TOKEN_PLACEHOLDER, state: 'Ask', 'input.$': '$' },
    });
    expect(prepared.States.Fan?.ItemProcessor?.States.Queue?.Parameters).toEqual({
      QueueUrl: 'q',
      MessageBody: { tokens: TASK_TOKEN_PLACEHOLDER },
    });
  });

  it('keeps every other field and state, and leaves the input definition untouched', () => {
    const definition: Definition = {
      Comment: 'c',
      TimeoutSeconds: 30,
      StartAt: 'A',
      States: {
        A: {
          Type: 'Task',
          Resource: FN,
          Parameters: { 'n.$': '$$.State.Name' },
          Retry: [{ ErrorEquals: ['States.ALL'], MaxAttempts: 2 }],
          ResultPath: '$.a',
          Next: 'W',
        },
        W: { Type: 'Wait', Seconds: 5, Next: 'C' },
        C: { Type: 'Choice', Choices: [{ Variable: '$.a', IsPresent: true, Next: 'Done' }], Default: 'Done' },
        Done: { Type: 'Succeed' },
      },
    };
    const before = structuredClone(definition);
    const prepared = prepareDefinition(MACHINE, definition);
    expect(definition).toEqual(before);
    const { TimeoutSeconds: _timedByTheService, ...rest } = before;
    expect(prepared).toEqual({
      ...rest,
      States: {
        ...before.States,
        // Tasks are timed on the local clock; the engine's own (real-time) limit is set out of reach.
        A: { ...before.States.A, Parameters: { n: 'A' }, TimeoutSeconds: ENGINE_TASK_TIMEOUT_SECONDS },
        // Wait states become tasks on the local clock (see the next test).
        W: {
          Type: 'Task',
          Resource: LOCAL_WAIT_RESOURCE,
          Next: 'C',
          TimeoutSeconds: ENGINE_TASK_TIMEOUT_SECONDS,
        },
      },
    });
  });

  it('turns Wait states into pass-through tasks on the local clock and keeps their wait spec aside', () => {
    const definition: Definition = {
      StartAt: 'Hold',
      States: {
        Hold: {
          Type: 'Wait',
          TimestampPath: '$.release.releaseAt',
          InputPath: '$',
          OutputPath: '$',
          Next: 'Sleep',
        },
        Sleep: { Type: 'Wait', Seconds: 90, End: true },
      },
    };
    const prepared = prepareDefinition(MACHINE, definition);
    expect(prepared.States.Hold).toEqual({
      Type: 'Task',
      Resource: LOCAL_WAIT_RESOURCE,
      TimeoutSeconds: ENGINE_TASK_TIMEOUT_SECONDS,
      InputPath: '$',
      OutputPath: '$',
      Next: 'Sleep',
    });
    expect(taskStates(prepared).get('Sleep')).toBe(LOCAL_WAIT_RESOURCE);
    expect(waitStates(definition)).toEqual(
      new Map([
        ['Hold', { TimestampPath: '$.release.releaseAt' }],
        ['Sleep', { Seconds: 90 }],
      ]),
    );
  });
});

describe('taskStates', () => {
  it('lists every Task state with its resource, including those in Map and Parallel states', () => {
    const tasks = taskStates({
      StartAt: 'Top',
      States: {
        Top: { Type: 'Task', Resource: FN, Next: 'Fan' },
        Fan: {
          Type: 'Map',
          ItemProcessor: {
            StartAt: 'InMap',
            States: {
              InMap: { Type: 'Task', Resource: 'arn:aws:states:::dynamodb:putItem', Next: 'Skip' },
              Skip: { Type: 'Pass', End: true },
            },
          },
          Next: 'Old',
        },
        Old: {
          Type: 'Map',
          Iterator: {
            StartAt: 'InIterator',
            States: { InIterator: { Type: 'Task', Resource: 'arn:aws:states:::sqs:sendMessage', End: true } },
          },
          Next: 'Both',
        },
        Both: {
          Type: 'Parallel',
          Branches: [
            {
              StartAt: 'InBranch',
              States: {
                InBranch: { Type: 'Task', Resource: 'arn:aws:states:::events:putEvents', End: true },
              },
            },
            {
              StartAt: 'Deeper',
              States: {
                Deeper: {
                  Type: 'Map',
                  ItemProcessor: {
                    StartAt: 'Deepest',
                    States: {
                      Deepest: {
                        Type: 'Task',
                        Resource: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
                        End: true,
                      },
                    },
                  },
                  End: true,
                },
              },
            },
          ],
          End: true,
        },
      },
    });
    expect(Object.fromEntries(tasks)).toEqual({
      Top: FN,
      InMap: 'arn:aws:states:::dynamodb:putItem',
      InIterator: 'arn:aws:states:::sqs:sendMessage',
      InBranch: 'arn:aws:states:::events:putEvents',
      Deepest: 'arn:aws:states:::lambda:invoke.waitForTaskToken',
    });
  });

  it('is empty for a machine without Task states', () => {
    expect(taskStates(single({ Type: 'Pass' })).size).toBe(0);
  });
});
