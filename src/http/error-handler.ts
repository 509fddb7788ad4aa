import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Context, Next } from 'koa';
import { HashBusyError } from '../auth/hash-limiter.js';
import type { Logger } from '../log/logger.js';
import { StoreUnavailableError } from '../store/session-store.js';
import { messagePage } from '../views/message-page.js';
import { HttpError } from './errors.js';

interface Answer {
  status: number;
  title: string;
  message: string;
  headers: Readonly<Record<string, string>>;
}

function answerFor(err: unknown): Answer | undefined {
  if (err instanceof StoreUnavailableError) {
    return { status: 503, title: 'Temporarily unavailable', message: 'The session store is not answering. Try again in a moment.', headers: { 'Retry-After': '1' } };
  }
  if (err instanceof HashBusyError) {
    return { status: 503, title: 'Busy', message: 'Too many sign-ins are being checked right now. Try again in a few seconds.', headers: { 'Retry-After': '2' } };
  }
  if (err instanceof HttpError && err.expose) {
    return { status: err.status, title: 'Request refused', message: err.message, headers: err.headers };
  }
  // A request target Node's URL parser refuses ('//=K(4[F^h'): koa's ctx.path throws on it.
  if ((err as { code?: unknown } | null)?.code === 'ERR_INVALID_URL') {
    return { status: 400, title: 'Bad request', message: 'The address of this request could not be read.', headers: {} };
  }
  // Errors raised by koa and its parsers carry a 4xx status for malformed requests (bad body, too large).
  const status = typeof err === 'object' && err !== null ? (err as { status?: unknown }).status : undefined;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    return { status, title: 'Bad request', message: 'The request could not be read. Go back and try again.', headers: {} };
  }
  return undefined;
}

/** The answer to an error, logged: an unexpected one in full (it becomes a generic 500), a 503 as a warning. */
function answerAndLog(err: unknown, logger: Logger, path: string, method: string | undefined): Answer {
  const answer = answerFor(err);
  if (!answer) {
    logger.error({ err, path, method }, 'unexpected error');
    return { status: 500, title: 'Something went wrong', message: 'Postern hit an unexpected error; the details are in its log.', headers: {} };
  }
  if (answer.status === 503) logger.warn({ path, reason: (err as Error).message }, 'answered 503');
  return answer;
}

/**
 * Verify's errors (it runs ahead of Koa, http/exact-routes.ts): the same status and headers as
 * below, with an empty body, as every verify reply has (proxies show their own page).
 */
export function errorReplyForVerify(logger: Logger, req: IncomingMessage, res: ServerResponse, err: unknown): void {
  const url = req.url ?? '';
  const query = url.indexOf('?');
  const answer = answerAndLog(err, logger, query < 0 ? url : url.slice(0, query), req.method);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const headers = ['Cache-Control', 'no-store'];
  for (const [k, v] of Object.entries(answer.headers)) headers.push(k, v);
  res.writeHead(answer.status, [...headers, 'Content-Type', 'text/plain; charset=utf-8', 'Content-Length', '0']);
  res.end();
}

/** ctx.path, or '' for a request target it cannot parse (that error is being answered here). */
function pathOf(ctx: Context): string {
  try {
    return ctx.path;
  } catch {
    return '';
  }
}

/**
 * The one try/catch of the app (verify answers its own errors the same way, above). Verify routes
 * answer with an empty body (proxies show their own page); pages get HTML or JSON by `Accept`.
 * Unexpected errors are logged and become a generic 500.
 */
export function errorHandler(logger: Logger) {
  return async function handleErrors(ctx: Context, next: Next): Promise<void> {
    try {
      await next();
    } catch (err) {
      const answer = answerAndLog(err, logger, pathOf(ctx), ctx.method);
      ctx.status = answer.status;
      ctx.set('Cache-Control', 'no-store');
      for (const [k, v] of Object.entries(answer.headers)) ctx.set(k, v);
      if (pathOf(ctx).startsWith('/verify/')) {
        ctx.body = '';
      } else if (ctx.accepts('html', 'json') === 'json') {
        ctx.body = { error: answer.title, message: answer.message };
      } else {
        ctx.type = 'html';
        ctx.body = messagePage(answer.title, answer.message);
      }
    }
  };
}
