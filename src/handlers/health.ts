import type { Context } from 'koa';

export interface ReadinessCheck {
  readonly name: string;
  ready(): Promise<boolean>;
}

/** Liveness: the process answers. */
export async function healthz(ctx: Context): Promise<void> {
  ctx.set('Cache-Control', 'no-store');
  ctx.body = { status: 'ok' };
}

/** Readiness: 503 while a dependency (a configured Redis) is unreachable, naming which. */
export function createReadyz(checks: readonly ReadinessCheck[]) {
  return async function readyz(ctx: Context): Promise<void> {
    const results = await Promise.all(checks.map(async (c) => [c.name, await c.ready()] as const));
    const failing = results.filter(([, ok]) => !ok).map(([name]) => name);
    ctx.set('Cache-Control', 'no-store');
    ctx.status = failing.length ? 503 : 200;
    ctx.body = failing.length ? { status: 'unavailable', failing } : { status: 'ready' };
  };
}
