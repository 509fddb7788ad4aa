/** Builds verify's credential reader and authenticator from the configuration (used by app.ts). */
import type { LoginThrottle } from '../auth/login-throttle.js';
import type { PasswordHasher } from '../auth/passwords.js';
import type { User, UserDirectory } from '../auth/user.js';
import { createCredentialReader } from '../http/credentials.js';
import { createCredentialAuthenticator } from './authenticate.js';
import { createUseRecorder, type TokenUseStore } from './last-use.js';
import { createTokenLookup } from './token-lookup.js';

export interface VerifyCredentialOptions {
  readonly tokens: { readonly header: string; readonly basic_account_password: boolean; readonly basic_cache_ttl: number };
  readonly users: UserDirectory;
  readonly throttle: LoginThrottle;
  readonly hasher: PasswordHasher;
  readonly passwordFingerprint: (user: User) => string;
  readonly secret: string;
  readonly uses: TokenUseStore;
  readonly now: () => number;
  readonly onUseWriteError: (err: unknown) => void;
}

export function createVerifyCredentials(opts: VerifyCredentialOptions) {
  const { tokens } = opts;
  return {
    read: createCredentialReader({ tokenHeader: tokens.header, accountPasswords: tokens.basic_account_password }),
    ...createCredentialAuthenticator({
      lookup: createTokenLookup(opts.users),
      throttle: opts.throttle,
      now: opts.now,
      used: createUseRecorder(opts.uses, opts.now, opts.onUseWriteError),
      usersGeneration: () => opts.users.all(),
      ...(tokens.basic_account_password
        ? {
            account: {
              users: opts.users,
              hasher: opts.hasher,
              passwordFingerprint: opts.passwordFingerprint,
              secret: opts.secret,
              cacheTtlMs: tokens.basic_cache_ttl,
            },
          }
        : {}),
    }),
  };
}
