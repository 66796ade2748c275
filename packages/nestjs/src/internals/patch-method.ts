/** A method replaced by xrayjs, shared by every application that asked for it. @internal */
interface Patch {
  readonly original: (...args: unknown[]) => unknown;
  readonly wrapper: (...args: unknown[]) => unknown;
  users: number;
  /** `false` once released while someone else's wrapper sat on top: ours then only passes through. */
  state: { active: boolean };
}

/** Patches by target and method name; process-wide, like the prototypes they change. @internal */
const patches: Map<object, Map<PropertyKey, Patch>> = ((globalThis as Record<symbol, unknown>)[Symbol.for('xrayjs.nestjs.patches')] ??= new Map()) as Map<object, Map<PropertyKey, Patch>>;

/**
 * Replaces `target[key]` with `makeWrapper(original, isActive)` for as long as someone holds it:
 * - idempotent: a second application gets the same patch (counted), not a wrapper around a wrapper;
 * - undoable: the returned function releases it, and the last release puts the original back (or,
 *   when another library has wrapped the method since, leaves its wrapper and makes ours pass
 *   through: `isActive()` is `false` from then on).
 * Throws when `target[key]` is not a function (the caller falls back).
 * @internal
 */
export function acquirePatch(
  target: object,
  key: PropertyKey,
  makeWrapper: (original: (...args: unknown[]) => unknown, isActive: () => boolean) => (...args: unknown[]) => unknown,
): () => void {
  const holder = target as Record<PropertyKey, unknown>;
  let byKey = patches.get(target);
  let patch = byKey?.get(key);
  if (patch === undefined) {
    const original = holder[key];
    if (typeof original !== 'function') throw new TypeError(`${String(key)} is not a method here`);
    const state = { active: true };
    const wrapper = makeWrapper(original as (...args: unknown[]) => unknown, () => state.active);
    holder[key] = wrapper;
    patch = { original: original as (...args: unknown[]) => unknown, wrapper, users: 0, state };
    if (byKey === undefined) patches.set(target, (byKey = new Map()));
    byKey.set(key, patch);
  }
  const held = patch;
  held.users++;
  let released = false;
  return () => {
    if (released) return;
    released = true;
    if (--held.users > 0) return;
    if (holder[key] === held.wrapper) holder[key] = held.original;
    else held.state.active = false;
    byKey!.delete(key);
    if (byKey!.size === 0) patches.delete(target);
  };
}

/** Whether `target[key]` is currently patched by xrayjs (tests, diagnostics). @internal */
export function isPatched(target: object, key: PropertyKey): boolean {
  return patches.get(target)?.has(key) === true;
}

/** How many applications hold the patch of `target[key]` (0 when it is not patched). @internal */
export function patchHolders(target: object, key: PropertyKey): number {
  return patches.get(target)?.get(key)?.users ?? 0;
}
