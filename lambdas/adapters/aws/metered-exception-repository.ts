import type { ExceptionMetrics, ExceptionRepository } from '../../ports/index.ts';

/**
 * The exception repository, reporting what it did: an exception created (`raiseIfAbsent` that created it,
 * never a redelivery) and an exception decided (`resolve` that resolved it, with how long it was open).
 * These are the only two places exceptions come and go, whichever use case raises or decides them.
 *
 * A proxy, not a re-implementation: every other method (today's and any added later) is the repository's
 * own, called on the repository itself. Reporting never changes an outcome: a metric that cannot be
 * written is dropped.
 */
export function withExceptionMetrics<R extends ExceptionRepository>(
  repository: R,
  metrics: ExceptionMetrics,
): R {
  const raiseIfAbsent: ExceptionRepository['raiseIfAbsent'] = async (exception) => {
    const result = await repository.raiseIfAbsent(exception);
    if (result.created) report(() => metrics.raised(exception));
    return result;
  };
  const resolve: ExceptionRepository['resolve'] = async (current, resolution, audit) => {
    const result = await repository.resolve(current, resolution, audit);
    const openMs = Date.parse(resolution.decidedAt) - Date.parse(current.raisedAt);
    if (result.resolved && Number.isFinite(openMs)) {
      report(() => metrics.resolved(result.exception, Math.max(0, openMs / 1000)));
    }
    return result;
  };
  return new Proxy(repository, {
    get(target, property) {
      if (property === 'raiseIfAbsent') return raiseIfAbsent;
      if (property === 'resolve') return resolve;
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

function report(write: () => void): void {
  try {
    write();
  } catch {
    // A metric must never break the write it describes.
  }
}
