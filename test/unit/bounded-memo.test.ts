import { describe, expect, it } from 'vitest';
import { boundedMemo } from '../../src/util/bounded-memo.js';

describe('boundedMemo', () => {
  it('computes each input once and gives every caller the same answer', () => {
    const computed: string[] = [];
    const length = boundedMemo((s: string) => {
      computed.push(s);
      return { length: s.length };
    });
    const first = length('app.example.com');
    expect(length('app.example.com')).toBe(first);
    expect(length('nvr.example.com')).toEqual({ length: 15 });
    expect(computed).toEqual(['app.example.com', 'nvr.example.com']);
  });

  it('remembers a null answer too', () => {
    let calls = 0;
    const parse = boundedMemo((s: string) => (calls++, s === 'bad' ? null : s));
    expect(parse('bad')).toBeNull();
    expect(parse('bad')).toBeNull();
    expect(calls).toBe(1);
  });

  it('forgets everything when full, so distinct inputs cannot grow it past maxEntries', () => {
    let calls = 0;
    const id = boundedMemo((s: string) => (calls++, { s }), 3);
    for (const s of ['a', 'b', 'c']) id(s);
    id('a');
    expect(calls).toBe(3);
    id('d'); // full: forgets a, b and c, then keeps d
    id('a');
    expect(calls).toBe(5);
    id('d');
    expect(calls).toBe(5);
  });

  it('refuses a size that is not a positive integer', () => {
    expect(() => boundedMemo((s: string) => s, 0)).toThrow('maxEntries must be a positive integer, got 0');
  });
});
