/**
 * One error family for everything that reaches a client. `expose` errors show their message;
 * anything else becomes a generic 500 and is logged.
 */
export class HttpError extends Error {
  readonly expose: boolean;
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Readonly<Record<string, string>> = {},
  ) {
    super(message);
    this.expose = status < 500 || status === 503;
  }
}
