/**
 * One field of a parsed form body (koa-bodyparser's object, or anything else a client sent): its
 * value when it is a string, else undefined. A repeated field arrives as an array and is not a string.
 * Pure, no Koa: the form readers (admin/input.ts, the account handlers) build on it.
 */
export function formField(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}
