import type { Context, Next } from 'koa';
import { looksLikeDeviceCookie, type DeviceTrust } from '../auth/device-trust.js';
import type { LoginThrottle, ThrottleCheck } from '../auth/login-throttle.js';
import type { User } from '../auth/user.js';
import type { Logger } from '../log/logger.js';

/** Trusted devices and their cookie: host-only on the portal, sent only to the sign-in path. */
export interface DeviceCookie {
  readonly trust: DeviceTrust;
  readonly cookie: { readonly name: string; readonly path: string; readonly maxAgeMs: number };
}

export interface AdmissionDeps {
  readonly throttle: LoginThrottle;
  readonly logger: Logger;
  readonly devices?: DeviceCookie;
}

/**
 * Who may spend a password check, and what an attempt's outcome gives back: the throttle's side of
 * POST /login. A browser that proves it is a trusted device for the username it names is judged by
 * that device's own limit alone; anyone else by the address and username limits.
 */
export function createAdmission(deps: AdmissionDeps) {
  const devices = deps.devices;

  function setDeviceCookie(ctx: Context, value: string | null): void {
    ctx.cookies.set(devices!.cookie.name, value, {
      httpOnly: true,
      secure: ctx.state.facts.https,
      sameSite: 'lax',
      path: devices!.cookie.path,
      // No domain: host-only, the portal's own.
      maxAge: value === null ? 0 : devices!.cookie.maxAgeMs,
      overwrite: true,
    });
  }

  return {
    /** Before the body is read: whether the browser shows a device cookie (not yet checked). */
    mayBeTrusted(ctx: Context): boolean {
      return devices !== undefined && looksLikeDeviceCookie(ctx.cookies.get(devices.cookie.name));
    },

    /**
     * Before any hashing, the attempt takes its point: a throttled attempt costs next to nothing, and
     * concurrent attempts cannot all pass one check before any of them is counted. A device that
     * reaches its own limit loses its trust, and the attempt goes on as anyone else's.
     */
    async admit(ctx: Context, clientIp: string, username: string): Promise<{ gate: ThrottleCheck; deviceId: string | undefined }> {
      const deviceId = devices && (await devices.trust.recognise(ctx.cookies.get(devices.cookie.name), username));
      if (deviceId !== undefined) {
        const gate = await deps.throttle.takeDevice(deviceId);
        if (gate.allowed) return { gate, deviceId };
        await devices!.trust.forget(deviceId);
        setDeviceCookie(ctx, null);
        deps.logger.info({ event: 'login.device_untrusted', user: username, client: clientIp }, 'a trusted device reached its own limit and is no longer trusted');
      }
      return { gate: await deps.throttle.take(clientIp, username), deviceId: undefined };
    },

    /** After the right password: the counters give back what they should, and a new browser becomes a trusted device. */
    async succeeded(ctx: Context, clientIp: string, user: User, deviceId: string | undefined): Promise<void> {
      if (deviceId !== undefined) {
        await deps.throttle.deviceSuccess(deviceId);
        return;
      }
      await deps.throttle.recordSuccess(clientIp, user.username);
      // This browser has proven it knows the password: from now on it is judged by its own limit.
      const cookie = await devices?.trust.issue(user);
      if (cookie !== undefined) setDeviceCookie(ctx, cookie);
    },

    /** Around the body parser: a form it refuses (too large, not a form) is a failure for the address too. */
    async countUnreadable(ctx: Context, next: Next): Promise<void> {
      try {
        await next();
      } catch (err) {
        const status = (err as { status?: unknown } | null)?.status;
        if (typeof status === 'number' && status >= 400 && status < 500 && ctx.request.body === undefined) {
          await deps.throttle.takeAddress(ctx.state.facts.clientIp);
        }
        throw err;
      }
    },
  };
}
