/** A field of a parsed form body as a string, or undefined when absent or not a single string (a repeated field is an array). */
export function formField(body: unknown, name: string): string | undefined {
  const value = (body as Record<string, unknown> | undefined)?.[name];
  return typeof value === 'string' ? value : undefined;
}
