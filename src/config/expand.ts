/**
 * Turning what people wrote into the input the schema validates, in this order: `${VAR}` references
 * in string values, then `POSTERN_*` environment overrides, then `<secret>_file` reads. Each step
 * mutates a plain copy of the YAML (toPlain) and records its problems by dotted path, so that the
 * schema's issue at the same key is not reported a second time.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONFIG_ENV } from './find-file.js';
import { CONFIG_KEYS, type KeyKind } from './keys.js';
import { formatPath, nearest, show, stripIndices } from './messages.js';
import { SECRET_KEYS } from './schema.js';

const ENV_PREFIX = 'POSTERN_';

type Path = readonly (string | number)[];
export type Mapping = Record<string, unknown>;

/** Problems found before schema validation, keyed by dotted path so schema issues there are not repeated. */
export class Problems {
  readonly list: string[] = [];
  readonly paths = new Set<string>();

  add(path: string | undefined, message: string): void {
    this.list.push(message);
    if (path !== undefined) this.paths.add(path);
  }

  covers(path: string): boolean {
    for (const seen of this.paths) {
      if (path === seen || path.startsWith(`${seen}.`) || path.startsWith(`${seen}[`)) return true;
    }
    return false;
  }
}

// ---------------------------------------------------------------------------------------------
// ${VAR} expansion

const REFERENCE = /\$\$\{|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$\{/g;

const KINDS = new Map<string, KeyKind>(CONFIG_KEYS.map((key) => [key.path, key.kind]));

/**
 * Replaces `${VAR}` in every string value (never in keys, never in the YAML source). `$${` is a
 * literal `${`. A whole value that was a reference is converted like an environment value, so
 * `port: ${PORT}` gives a number.
 */
export function expandVariables(node: unknown, path: Path, env: NodeJS.ProcessEnv, problems: Problems): void {
  const entries: [string | number, unknown][] = Array.isArray(node)
    ? node.map((value, index) => [index, value])
    : isMapping(node)
      ? Object.entries(node)
      : [];
  for (const [key, value] of entries) {
    const childPath = [...path, key];
    if (typeof value !== 'string') {
      expandVariables(value, childPath, env, problems);
      continue;
    }
    if (!value.includes('${')) continue;
    const dotted = formatPath(childPath);
    let failed = false;
    let referenced = false;
    const expanded = value.replace(REFERENCE, (match, name: string | undefined) => {
      if (match === '$${') return '${';
      if (name === undefined) {
        if (!failed) problems.add(dotted, `${dotted} has a '\${' that does not start a \${VAR} reference (write '$\${' for a literal '\${')`);
        failed = true;
        return match;
      }
      referenced = true;
      const found = env[name];
      if (found === undefined) {
        problems.add(dotted, `${dotted} references \${${name}}, which is not set`);
        failed = true;
        return match;
      }
      return found;
    });
    if (failed) continue;
    // Only a key's own value converts; a list item stays text.
    const kind = KINDS.get(dotted);
    (node as Record<string | number, unknown>)[key] = referenced && kind !== undefined ? fromText(expanded, kind) : expanded;
  }
}

// ---------------------------------------------------------------------------------------------
// Environment overrides

interface EnvTarget {
  path: readonly string[];
  kind: KeyKind;
  /** For a secret and its `_file` form: the other form's name in the same mapping. */
  sibling: string | undefined;
}

function envName(path: string): string {
  return ENV_PREFIX + path.toUpperCase().replaceAll('.', '_');
}

/** Environment name → key, built from the schema because keys contain '_' and cannot be split back. */
const ENV_TARGETS = (() => {
  const targets = new Map<string, EnvTarget>();
  const add = (name: string, target: EnvTarget): void => {
    if (targets.has(name)) throw new Error(`two config keys map to the environment variable ${name}`);
    targets.set(name, target);
  };
  for (const { path, kind } of CONFIG_KEYS) {
    const segments = path.split('.');
    const leaf = segments.at(-1)!;
    const secret = SECRET_KEYS.has(path);
    add(envName(path), { path: segments, kind, sibling: secret ? `${leaf}_file` : undefined });
    if (secret) add(envName(`${path}_file`), { path: [...segments.slice(0, -1), `${leaf}_file`], kind: 'text', sibling: leaf });
  }
  return targets;
})();

/** Applies POSTERN_* variables over the file; returns dotted path → variable name, for messages. */
export function applyEnvironment(
  input: Mapping,
  env: NodeJS.ProcessEnv,
  problems: Problems,
  warnings: string[],
): Map<string, string> {
  const applied = new Map<string, string>();
  const names = Object.keys(env)
    .filter((name) => name.startsWith(ENV_PREFIX) && name !== CONFIG_ENV)
    .sort();
  for (const name of names) {
    const value = env[name];
    if (value === undefined) continue;
    const target = ENV_TARGETS.get(name);
    if (target === undefined) {
      // Compared without the prefix every candidate shares, so that only the part after it counts.
      const known = [...ENV_TARGETS.keys(), CONFIG_ENV].map((known) => known.slice(ENV_PREFIX.length));
      const guess = nearest(name.slice(ENV_PREFIX.length), known);
      warnings.push(`${name} is set but matches no config key${guess === undefined ? '' : ` (did you mean ${ENV_PREFIX}${guess}?)`}`);
      continue;
    }
    const parent = mappingAt(input, target.path.slice(0, -1));
    if (parent === undefined) continue; // A section that is not a mapping: the schema reports it.
    const leaf = target.path.at(-1)!;
    const dotted = target.path.join('.');
    if (target.sibling !== undefined) {
      const siblingDotted = [...target.path.slice(0, -1), target.sibling].join('.');
      const siblingEnv = applied.get(siblingDotted);
      if (siblingEnv !== undefined) {
        problems.add(dotted, `${siblingEnv} and ${name} are both set; set only one`);
        continue;
      }
      // Either form from the environment replaces both forms from the file.
      delete parent[target.sibling];
    }
    parent[leaf] = fromText(value, target.kind);
    applied.set(dotted, name);
  }
  return applied;
}

/** The mapping at `path`, creating missing ones; undefined when something else is in the way. */
function mappingAt(root: Mapping, path: readonly string[]): Mapping | undefined {
  let node = root;
  for (const segment of path) {
    const next = node[segment];
    if (next === undefined) node[segment] = {};
    else if (!isMapping(next)) return undefined;
    node = node[segment] as Mapping;
  }
  return node;
}

/** Text from the environment (or a whole `${VAR}`) as the type the key expects; left as text when it does not fit, for the schema to report. */
export function fromText(text: string, kind: KeyKind): unknown {
  switch (kind) {
    case 'number':
      return /^\s*-?\d+(\.\d+)?\s*$/.test(text) ? Number(text) : text;
    case 'boolean':
      return text === 'true' ? true : text === 'false' ? false : text;
    case 'list':
      return text
        .split(',')
        .map((item) => item.trim())
        .filter((item) => item !== '');
    case 'text':
      return text;
  }
}

// ---------------------------------------------------------------------------------------------
// <secret>_file

export function readSecretFiles(input: Mapping, baseDir: string, problems: Problems, fromEnv: Map<string, string>): void {
  for (const secret of SECRET_KEYS) {
    const segments = secret.split('.');
    const leaf = segments.at(-1)!;
    for (const { parent, path } of mappingsAlong(input, segments.slice(0, -1), [])) {
      const dotted = formatPath([...path, leaf]);
      const fileKey = `${leaf}_file`;
      const named = parent[fileKey];
      if (named === undefined) continue;
      delete parent[fileKey];
      const origin = fromEnv.get(`${stripIndices(dotted)}_file`);
      const shownKey = origin ?? `${dotted}_file`;
      if (parent[leaf] !== undefined) {
        problems.add(dotted, `${dotted} and ${dotted}_file are both set; set only one`);
        continue;
      }
      if (typeof named !== 'string' || named === '') {
        problems.add(dotted, `${shownKey} must be a file path, got ${show(named, false)}`);
        continue;
      }
      const file = resolve(baseDir, named);
      try {
        parent[leaf] = readFileSync(file, 'utf8').replace(/[\r\n]+$/, '');
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? String(error);
        problems.add(dotted, `${shownKey} cannot be read: '${file}' (${code})`);
      }
    }
  }
}

/** Each mapping reached by following `segments` from `node`, stepping into every item of a list. */
function* mappingsAlong(node: unknown, segments: readonly string[], path: Path): Generator<{ parent: Mapping; path: Path }> {
  if (Array.isArray(node)) {
    for (const [index, item] of node.entries()) yield* mappingsAlong(item, segments, [...path, index]);
    return;
  }
  if (!isMapping(node)) return;
  if (segments.length === 0) {
    yield { parent: node, path };
    return;
  }
  const [first, ...rest] = segments as [string, ...string[]];
  yield* mappingsAlong(node[first], rest, [...path, first]);
}

// ---------------------------------------------------------------------------------------------
// Plain data

export function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A deep copy that the loader may mutate. A key with an empty value (`secret:` → null) counts as
 * absent, so the default applies. `__proto__` stays an ordinary key (and is reported as unknown).
 */
export function toPlain(value: unknown): unknown {
  if (value === null) return undefined;
  if (Array.isArray(value)) return value.map((item) => (item === null ? null : toPlain(item)));
  if (!isMapping(value)) return value;
  const copy: Mapping = {};
  for (const [key, item] of Object.entries(value)) {
    const plain = toPlain(item);
    if (plain !== undefined) {
      Object.defineProperty(copy, key, { value: plain, enumerable: true, writable: true, configurable: true });
    }
  }
  return copy;
}
