/**
 * Freezes a value built once at start-up (the configuration, the compiled access rules) together
 * with every plain object and array it holds, so no module can change what another relies on.
 *
 * Only plain data is frozen: Sets, Maps, RegExps and class instances are left as they are (freezing
 * a Set does not stop `add`, and a frozen RegExp leaves V8's fast path). An object that is already
 * frozen is still walked: its children may not be.
 */
export function deepFreeze<T>(value: T): T {
  freeze(value, new WeakSet());
  return value;
}

function freeze(value: unknown, seen: WeakSet<object>): void {
  if (typeof value !== 'object' || value === null || seen.has(value) || !isPlainData(value)) return;
  seen.add(value);
  for (const item of Object.values(value)) freeze(item, seen);
  Object.freeze(value);
}

function isPlainData(value: object): boolean {
  if (Array.isArray(value)) return true;
  const proto: unknown = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}
