import type { Context, Middleware, Next } from 'koa';

type Handler = (ctx: Context) => Promise<void>;

/**
 * GET/HEAD routes matched by exact path with one Map lookup, ahead of every other middleware but
 * the error handler. It serves the verify endpoints, which proxies call on every request: measured
 * under load, the router's matching and the page middleware it would otherwise pass through cost
 * more than the verify decision itself. Other methods on these paths get 405, as the router answers.
 */
export function exactGetRoutes(routes: ReadonlyMap<string, Handler>): Middleware {
  return function exactRoutes(ctx: Context, next: Next) {
    const handler = routes.get(ctx.path);
    if (handler === undefined) return next();
    if (ctx.method === 'GET' || ctx.method === 'HEAD') return handler(ctx);
    ctx.status = 405;
    ctx.set('Allow', 'HEAD, GET');
    return Promise.resolve();
  };
}
