/**
 * Test helper: break a JSON payload at named paths (`lines[1].quantity`, `ShipTo.City`) without typing the
 * payload as `any`. The payload is deep-copied first, so a factory's result is never shared between tests.
 */

/** Put this as the value to delete the field instead of setting it. */
export const REMOVE = Symbol('remove field');

export type Edits = Readonly<Record<string, unknown>>;

function segments(path: string): (string | number)[] {
  const out: (string | number)[] = [];
  for (const match of path.matchAll(/([^.[\]]+)|\[(\d+)\]/g)) {
    if (match[2] !== undefined) out.push(Number(match[2]));
    else if (match[1] !== undefined) out.push(match[1]);
  }
  return out;
}

type Container = Record<string | number, unknown>;

function isContainer(value: unknown): value is Container {
  return typeof value === 'object' && value !== null;
}

/** A deep copy of `payload` with every edit applied in order. */
export function edited<T>(payload: T, edits: Edits): unknown {
  const copy: unknown = structuredClone(payload);
  for (const [path, value] of Object.entries(edits)) {
    const keys = segments(path);
    const last = keys.pop();
    if (last === undefined) throw new Error(`empty path ${JSON.stringify(path)}`);
    let target: unknown = copy;
    for (const key of keys) {
      if (!isContainer(target)) throw new Error(`cannot walk into ${path}`);
      target = target[key];
    }
    if (!isContainer(target)) throw new Error(`cannot edit ${path}: its parent is not an object or array`);
    if (value === REMOVE) delete target[last];
    else target[last] = value;
  }
  return copy;
}
