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

/** A command as the SDK sends it: its input, and a document-client command's inner low-level command. */
export interface SdkCommand {
  input: Record<string, unknown>;
  clientCommand?: { input: Record<string, unknown> };
}

/**
 * Sees SDK calls as they go and as they settle (the usage meter, local/usage-meter.ts). `sending` runs before
 * the command is sent and may swap its input (it must give the caller back what it would have seen); it
 * returns a token to be handed the call's outcome in `settled`, or undefined when the outcome is not needed.
 * Calls made with a callback are not observed.
 */
export interface SdkCallObserver {
  sending(service: string, key: string, command: SdkCommand): object | undefined;
  /** Must settle as `sent` does (same output, same error), after looking at it. */
  settled(
    service: string,
    key: string,
    command: SdkCommand,
    token: object,
    sent: Promise<unknown>,
  ): Promise<unknown>;
}

export class SdkMeter {
  readonly calls = new Map<string, number>();
  /** When set, sees every command sent (benchmarks use it to replay a workload). */
  recorder: ((service: string, command: object) => void) | undefined;
  /** When set, sees calls and their outcomes (see {@link SdkCallObserver}). */
  observer: SdkCallObserver | undefined;
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
      const observer = meter.observer;
      if (observer === undefined || typeof rest[0] === 'function' || typeof rest[1] === 'function')
        return original.call(this, command, ...rest);
      const token = observer.sending(service, key, command as SdkCommand);
      const sent = original.call(this, command, ...rest) as Promise<unknown>;
      return token === undefined ? sent : observer.settled(service, key, command as SdkCommand, token, sent);
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
