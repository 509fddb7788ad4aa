/**
 * The configuration cannot be used. Carries every problem found, not just the first, so that one
 * start-up attempt shows everything to fix. Each problem names the key path, the value seen
 * (never a secret's) and what is expected.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
  readonly problems: string[];

  constructor(problems: readonly string[]) {
    super(problems.join('\n'));
    this.problems = [...problems];
  }
}
