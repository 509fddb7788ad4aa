import { expect } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';

/** The problems of the ConfigError that `fn` throws (its message lists them, one a line); fails when it throws anything else or nothing. */
export function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    expect(configError.message).toBe(configError.problems.join('\n'));
    return [...configError.problems];
  }
  throw new Error('expected a ConfigError');
}
