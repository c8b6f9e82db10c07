import type {
  AuditEntry,
  AwaitPatch,
  ExceptionRepository,
  ExceptionResolution,
  OwnedException,
} from '../../lambdas/ports/index.ts';

/** The exceptions table's semantics: raised once per id, decided once, every change audited. */
export class InMemoryExceptions implements ExceptionRepository {
  readonly items = new Map<string, OwnedException>();

  async raiseIfAbsent(exception: OwnedException) {
    if (this.items.has(exception.exceptionId)) return { created: false };
    this.items.set(exception.exceptionId, exception);
    return { created: true };
  }

  async get(exceptionId: string) {
    return this.items.get(exceptionId);
  }

  async awaitDecision(exceptionId: string, patch: AwaitPatch) {
    const current = this.items.get(exceptionId);
    if (current?.state !== 'open') return undefined;
    const next = { ...current, ...patch, audit: [...current.audit, patch.audit] };
    this.items.set(exceptionId, next);
    return next;
  }

  async resolve(current: OwnedException, resolution: ExceptionResolution, audit?: AuditEntry) {
    const stored = this.items.get(current.exceptionId);
    if (!stored || stored.resolution) return { resolved: false as const, existing: stored };
    const exception: OwnedException = {
      ...stored,
      state: 'resolved',
      resolution,
      audit: audit ? [...stored.audit, audit] : stored.audit,
    };
    this.items.set(current.exceptionId, exception);
    return { resolved: true as const, exception };
  }

  /** The one exception raised; fails the test if there is not exactly one. */
  only(): OwnedException {
    const all = [...this.items.values()];
    const [exception] = all;
    if (all.length !== 1 || !exception)
      throw new Error(`expected exactly one exception, found ${all.length}`);
    return exception;
  }
}
