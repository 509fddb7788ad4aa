import { describe, expect, it } from 'vitest';
import { deepFreeze } from '../../src/util/deep-freeze.js';

describe('deepFreeze', () => {
  it('freezes every plain object and array, at any depth, and returns the same value', () => {
    const value = { a: { b: [{ c: 1 }] }, d: [[2]] };
    expect(deepFreeze(value)).toBe(value);
    for (const part of [value, value.a, value.a.b, value.a.b[0], value.d, value.d[0]]) expect(Object.isFrozen(part)).toBe(true);
  });

  it('walks into an object that is already frozen', () => {
    const inner = { list: [1] };
    const value = Object.freeze({ inner });
    deepFreeze(value);
    expect(Object.isFrozen(inner)).toBe(true);
    expect(Object.isFrozen(inner.list)).toBe(true);
  });

  it.each([
    ['a Set', new Set([1])],
    ['a Map', new Map([[1, 2]])],
    ['a RegExp', /^a$/],
    ['a class instance', new (class Point { x = 1 })()],
  ])('leaves %s as it is', (_name, held) => {
    deepFreeze({ held });
    expect(Object.isFrozen(held)).toBe(false);
  });

  it('takes objects without a prototype, primitives and cycles', () => {
    const bare = Object.assign(Object.create(null) as Record<string, unknown>, { a: [1] });
    const cyclic: Record<string, unknown> = { bare };
    cyclic.self = cyclic;
    expect(deepFreeze(cyclic)).toBe(cyclic);
    expect(Object.isFrozen(bare)).toBe(true);
    expect(deepFreeze(3)).toBe(3);
    expect(deepFreeze(null)).toBe(null);
  });
});
