/**
 * The sign-in throttle's default limits (auth/login-throttle.ts), in the config notation. Their own
 * module, without the throttle and its counters (rate-limiter-flexible), so that the config schema
 * can name them as its defaults without loading the throttle.
 *
 * Per-user limits stop distributed guessing but hand an attacker a way to throttle the owner: whoever
 * fills the per-user window blocks that username from every browser without device trust (see
 * device-trust.ts) until it expires. So the defaults keep ONE attacking address from ever filling
 * it: that address can spend at most perUserIp on one username per window, and windows are fixed
 * (they start at the first failure), so at most twice that across a window boundary: 2 x 5 = 10 < 20
 * a minute, 2 x 20 = 40 < 100 an hour. perIp caps the same address across all usernames (10/minute,
 * 50/hour). Keep 2 x perUserIp below perUser, unit by unit, when changing these.
 */
export const DEFAULT_THROTTLE_SPECS = Object.freeze({
  perIp: '10/minute;50/hour',
  perUser: '20/minute;100/hour',
  perUserIp: '5/minute;20/hour',
});

/** A trusted device's own limit: its owner mistyping, or a thief who took the cookie without the password. */
export const DEFAULT_DEVICE_SPEC = '5/minute;20/hour';
