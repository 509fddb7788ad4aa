import type { z } from 'zod';
import type { ThrottleConfig } from '../auth/login-throttle.js';
import type { configSchema } from './schema.js';

/**
 * The validated, frozen configuration every module receives: the schema's output (config/schema.ts
 * documents every key), with `data_dir` and `users.file` resolved against the directory of the
 * config file. Durations are milliseconds. The YAML keys keep their snake_case names so that an
 * error message, the docs and the code all speak of the same `session.remember_me`.
 *
 * Only what the schema cannot say is written here: that the whole value is frozen (readonly at
 * every depth), and that `login.throttle` is handed to the throttle as its own ThrottleConfig.
 */
export type Config = DeepReadonly<Omit<Parsed, 'login'>> & {
  readonly login: DeepReadonly<Omit<Parsed['login'], 'throttle'>> & { readonly throttle: ThrottleConfig };
};

/** Single sign-on; `config.oidc` is undefined when the section is absent. */
export type OidcSection = NonNullable<Config['oidc']>;

export type OidcProviderSettings = OidcSection['providers'][number];

type Parsed = z.output<typeof configSchema>;

type DeepReadonly<T> = T extends readonly (infer Item)[]
  ? readonly DeepReadonly<Item>[]
  : T extends object
    ? { readonly [K in keyof T]: DeepReadonly<T[K]> }
    : T;

/** `session.redis`: at most one of `url` and `sentinels` is set (validated); neither means sessions in memory. */
export type RedisSettings = Config['session']['redis'];
