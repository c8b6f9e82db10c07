import { Client } from '@smithy/core/client';

/**
 * Counts every AWS SDK v3 call made in this process, by `<service>.<Command>`, whatever endpoint it goes to:
 * the local cloud's Lambda handlers call DynamoDB and SQS directly, so the endpoint alone cannot meter them.
 */
const keys = new Map<string, WeakMap<object, string>>();

/** `<service>.<Operation>`, built once per command class (this runs on every SDK call in the process). */
function keyOf(service: string, command: { name: string }): string {
  let byCommand = keys.get(service);
  if (!byCommand) {
    byCommand = new WeakMap();
    keys.set(service, byCommand);
  }
  let key = byCommand.get(command);
  if (key === undefined) {
    key = `${service}.${command.name.replace(/Command$/, '')}`;
    byCommand.set(command, key);
  }
  return key;
}

export class SdkMeter {
  readonly calls = new Map<string, number>();
  /** When set, sees every command sent (benchmarks use it to replay a workload). */
  recorder: ((service: string, command: object) => void) | undefined;
  private restore: (() => void) | undefined;

  install(): void {
    if (this.restore) return;
    const prototype = Client.prototype as unknown as {
      send: (this: { config?: { serviceId?: string } }, command: object, ...rest: unknown[]) => unknown;
    };
    const original = prototype.send;
    const calls = this.calls;
    const meter = this;
    prototype.send = function send(
      this: { config?: { serviceId?: string } },
      command: object,
      ...rest: unknown[]
    ) {
      const service = this.config?.serviceId ?? 'unknown';
      const key = keyOf(service, command.constructor);
      calls.set(key, (calls.get(key) ?? 0) + 1);
      meter.recorder?.(service, command);
      return original.call(this, command, ...rest);
    };
    this.restore = () => {
      prototype.send = original;
    };
  }

  /** Adds calls counted elsewhere (a worker thread's meter). */
  add(calls: Iterable<[string, number]>): void {
    for (const [key, n] of calls) this.calls.set(key, (this.calls.get(key) ?? 0) + n);
  }

  uninstall(): void {
    this.restore?.();
    this.restore = undefined;
  }

  /** Calls to one service (`DynamoDB`, `SQS`, `EventBridge`, `SFN`) since a snapshot. */
  count(service: string, since: ReadonlyMap<string, number> = new Map()): number {
    let total = 0;
    for (const [key, value] of this.calls)
      if (key.startsWith(`${service}.`)) total += value - (since.get(key) ?? 0);
    return total;
  }
}
