/**
 * The messages people read: each zod issue as `<dotted key> <what it must be>, got '<value>'`
 * (never a secret's value), and "did you mean" for a misspelt key at any depth.
 */
import type { z } from 'zod';
import { isSecretPath, knownKeysAt } from './keys.js';

const MAX_SHOWN = 60;

/**
 * One message per key for the schema's issues, in their order, leaving out keys for which
 * `reported(path)` says a problem was already found before validation.
 */
export function describeIssues(
  issues: readonly z.core.$ZodIssue[],
  input: unknown,
  fromEnv: ReadonlyMap<string, string>,
  reported: (path: string) => boolean,
): string[] {
  const messages: string[] = [];
  const seen = new Set<string>();
  for (const issue of issues) {
    for (const [path, message] of describeIssue(issue, input, fromEnv)) {
      if (reported(path) || seen.has(path)) continue;
      seen.add(path);
      messages.push(message);
    }
  }
  return messages;
}

/** [dotted path, message] pairs for one zod issue; several for an unrecognized_keys issue. */
function describeIssue(issue: z.core.$ZodIssue, input: unknown, fromEnv: ReadonlyMap<string, string>): [string, string][] {
  const dotted = formatPath(issue.path);
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(stripIndices(dotted)) ?? [];
    return issue.keys.map((key) => {
      const full = dotted === '' ? key : `${dotted}.${key}`;
      const guess = nearest(key, known);
      return [full, `unknown key '${full}'${guess === undefined ? '' : ` (did you mean '${guess}'?)`}`];
    });
  }
  const value = valueAt(input, issue.path);
  const origin = fromEnv.get(stripIndices(dotted));
  const from = origin === undefined ? '' : ` (from ${origin})`;
  if (issue.code === 'invalid_type' && issue.expected === 'object') {
    // The kind only: a mapping in the wrong place may be a secret put one level too high.
    return [[dotted, `${dotted} must be a mapping, got ${describeKind(value)}`]];
  }
  const seen = value === undefined ? '' : `, got ${show(value, isSecretPath(stripIndices(dotted)))}`;
  return [[dotted, `${dotted} ${issue.message}${seen}${from}`]];
}

/** The value quoted and cut to 60 characters, control characters escaped so one problem stays one line. */
export function show(value: unknown, secret: boolean): string {
  if (secret) return '<hidden>';
  let text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  if (text.length > MAX_SHOWN) text = `${text.slice(0, MAX_SHOWN)}…`;
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `'${text}'`;
}

export function describeKind(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return `a ${typeof value}`;
}

/** `server.trusted_proxies[2]` */
export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

export function stripIndices(dotted: string): string {
  return dotted.replace(/\[\d+\]/g, '');
}

export function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/**
 * The known key meant by `word`, if one is close enough: the nearest by case-insensitive edit
 * distance within 2 edits, or one in four characters for longer words (`trusted_proxy` is 3 edits
 * from `trusted_proxies`); failing that, the only key that `word` is the first words of
 * (`memory` → `memory_cost`) or that is the first words of `word`.
 */
export function nearest(word: string, candidates: readonly string[]): string | undefined {
  const lower = word.toLowerCase();
  let best: string | undefined;
  let bestDistance = Math.max(2, Math.floor(word.length / 4)) + 1;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best !== undefined) return best;
  const extensions = candidates.filter((candidate) => {
    const known = candidate.toLowerCase();
    return known.startsWith(`${lower}_`) || lower.startsWith(`${known}_`);
  });
  return extensions.length === 1 ? extensions[0] : undefined;
}

function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
