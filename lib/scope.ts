/**
 * Deterministic freeing: `scope(fn)` disposes every tensor created while fn runs (awaited work
 * included, tracked through AsyncLocalStorage) except what fn returns and what was kept with
 * `keep()`. The garbage collector is only the safety net.
 */
import { AsyncLocalStorage } from 'node:async_hooks';

/** What a scope tracks: anything with an idempotent dispose(). */
export interface Disposable {
  dispose(): void;
  /** @internal the scope that will dispose it, if any */
  _scope: Set<Disposable> | null;
}

const storage = new AsyncLocalStorage<Set<Disposable>>();

/** Registers a new tensor with the scope that is running, if any. */
export function track(t: Disposable): void {
  const s = storage.getStore();
  if (s) {
    s.add(t);
    t._scope = s;
  }
}

/** Takes a tensor out of its scope, so that it outlives it. Returns it. */
export function keep<T extends Disposable>(t: T): T {
  if (t._scope) {
    t._scope.delete(t);
    t._scope = null;
  }
  return t;
}

function collect(value: unknown, out: Set<Disposable>, depth = 0): void {
  if (value === null || typeof value !== 'object' || depth > 3) return;
  if (typeof (value as Disposable).dispose === 'function' && '_scope' in (value as object)) {
    out.add(value as Disposable);
    return;
  }
  if (Array.isArray(value)) for (const v of value) collect(v, out, depth + 1);
  else if (Object.getPrototypeOf(value) === Object.prototype) for (const v of Object.values(value)) collect(v, out, depth + 1);
}

function close(set: Set<Disposable>, result: unknown, parent: Set<Disposable> | undefined): void {
  const returned = new Set<Disposable>();
  collect(result, returned);
  for (const t of set) {
    if (returned.has(t)) {
      t._scope = null;
      if (parent) {
        parent.add(t);
        t._scope = parent;
      }
    } else {
      t._scope = null;
      t.dispose();
    }
  }
  set.clear();
}

/**
 * Runs fn and disposes the tensors it created, except those it returns (directly, or inside an array
 * or plain object), which move to the enclosing scope. Works with async functions.
 */
export function scope<T>(fn: () => T): T {
  const parent = storage.getStore();
  const set = new Set<Disposable>();
  let result: T;
  try {
    result = storage.run(set, fn);
  } catch (err) {
    close(set, undefined, parent);
    throw err;
  }
  if (result instanceof Promise) {
    return result.then(
      (v) => {
        close(set, v, parent);
        return v;
      },
      (err) => {
        close(set, undefined, parent);
        throw err;
      },
    ) as T;
  }
  close(set, result, parent);
  return result;
}
