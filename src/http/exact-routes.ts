import type { IncomingMessage, ServerResponse } from 'node:http';
import Koa, { type Context, type Middleware, type Next } from 'koa';

/**
 * Answers on the raw request and response, and never throws or rejects (it answers its own errors):
 * within the call when it can, else by the promise it returns.
 */
export type RawHandler = (req: IncomingMessage, res: ServerResponse) => void | Promise<void>;

const NOT_ALLOWED = ['Allow', 'HEAD, GET', 'Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '18'];

const ANSWERED = Promise.resolve();

function dispatch(handler: RawHandler, req: IncomingMessage, res: ServerResponse): void | Promise<void> {
  if (req.method === 'GET' || req.method === 'HEAD') return handler(req, res);
  // As the router answers a known path with another method.
  res.writeHead(405, NOT_ALLOWED);
  res.end('Method Not Allowed');
}

/**
 * A Koa app with a few GET/HEAD routes matched by exact path with one Map lookup, answered from
 * the server's request listener before Koa creates a context, composes the middleware or attaches
 * its finish listeners. It serves the verify endpoints, which proxies call on every request:
 * measured under load, Koa's per-request work, the router's matching and the page middleware cost
 * more than the verify decision itself. Other methods on these paths get 405, as the router answers.
 *
 * `callback()` is the one entry, used by main.ts and by the tests' servers alike, so the tests
 * exercise the dispatch production runs. A request target that only Koa's URL parsing reads as one
 * of these paths (`/verify/nginx#x`, absolute-form) reaches the same handler through `exactRoutes()`.
 */
export class KoaWithExactRoutes extends Koa {
  readonly #routes = new Map<string, RawHandler>();

  exactGet(path: string, handler: RawHandler): this {
    this.#routes.set(path, handler);
    return this;
  }

  override callback(): ReturnType<Koa['callback']> {
    const koa = super.callback();
    const routes = this.#routes;
    return (req, res) => {
      const url = req.url ?? '';
      const query = url.indexOf('?');
      const handler = routes.get(query < 0 ? url : url.slice(0, query));
      // Postern serves HTTP/1.1 only (node:http, main.ts): the request and response are node:http's.
      if (handler === undefined) return koa(req, res);
      // Koa's callback type promises a promise: an answer given within the call returns a settled one.
      return dispatch(handler, req as IncomingMessage, res as ServerResponse) ?? ANSWERED;
    };
  }

  /** The same routes for what reaches Koa: placed right after the error handler. */
  exactRoutes(): Middleware {
    const routes = this.#routes;
    return function exactRoutes(ctx: Context, next: Next) {
      const handler = routes.get(ctx.path);
      if (handler === undefined) return next();
      ctx.respond = false;
      return dispatch(handler, ctx.req, ctx.res);
    };
  }
}
