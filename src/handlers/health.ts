import type { Context } from 'koa';

export interface ReadinessCheck {
  readonly name: string;
  ready(): Promise<boolean>;
}

export interface ReadinessDeps {
  /** Without these this replica cannot decide verify requests (the session store): any one failing is 503. */
  readonly required: readonly ReadinessCheck[];
  /** These take down only a part (an OIDC provider's button): failing ones are listed under `degraded`, still 200. */
  readonly degradable: readonly ReadinessCheck[];
  /** True from SIGTERM on: the load balancer should stop sending traffic before the listener closes. */
  readonly shuttingDown: () => boolean;
}

/** Liveness: the process answers. */
export async function healthz(ctx: Context): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { status: 'ok' };
}

async function failing(checks: readonly ReadinessCheck[]): Promise<string[]> {
  const results = await Promise.all(checks.map(async (c) => [c.name, await c.ready()] as const));
  return results.filter(([, ok]) => !ok).map(([name]) => name);
}

/**
 * Readiness means "send me traffic": 503 only while this replica cannot decide verify requests (a
 * required dependency is unreachable) or is shutting down. A provider that is down degrades only its
 * button, so it is named under `degraded` and the answer stays 200: taking every replica out of the
 * load balancer because one provider is down would stop password sign-ins and verify too.
 */
export function createReadyz(deps: ReadinessDeps) {
  return async function readyz(ctx: Context): Promise<void> {
    ctx.set('Cache-Control', 'no-store');
    if (deps.shuttingDown()) {
      ctx.status = 503;
      ctx.body = { status: 'shutting down' };
      return;
    }
    const [down, degraded] = await Promise.all([failing(deps.required), failing(deps.degradable)]);
    ctx.status = down.length ? 503 : 200;
    ctx.body = { status: down.length ? 'unavailable' : 'ready', ...(down.length ? { failing: down } : {}), ...(degraded.length ? { degraded } : {}) };
  };
}
