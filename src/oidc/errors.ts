/**
 * A single sign-on that ends without a session. `message` is for the person (shown on the sign-in
 * page, non-technical); `reason` is for the log (technical, never a token, code or secret).
 */
export class SignInRefused extends Error {
  override readonly name = 'SignInRefused';

  constructor(
    /** 400 for a broken or stale flow, 403 for an identity that may not sign in, 502 for an unreachable provider. */
    readonly status: number,
    /** Shown on the sign-in page. */
    readonly userMessage: string,
    /** Logged. */
    readonly reason: string,
    /** `warn` for what may be an attack or a misconfiguration; `info` for the ordinary (cancelled, expired, not allowed). */
    readonly level: 'info' | 'warn' = 'info',
  ) {
    super(reason);
  }
}
