/**
 * Finds, reads and validates the configuration. The only module that reads `process.env`.
 *
 * Order: YAML file → `${VAR}` expansion in its string values → `POSTERN_*` environment overrides →
 * `<secret>_file` reads → schema validation → derived defaults and path resolution → deep freeze.
 * Every problem along the way is collected and thrown together as one ConfigError.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';
import {
  CONFIG_KEYS,
  SECRET_KEYS,
  configSchema,
  isSecretPath,
  knownKeysAt,
  type FileConfig,
  type KeyKind,
} from './schema.js';
import type { Config } from './types.js';

export interface LoadOptions {
  /** Command-line arguments, searched for `--config FILE` / `--config=FILE`. Default `process.argv.slice(2)`. */
  argv?: readonly string[];
  /** Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Directory for `./postern.yml` and relative `--config`/`POSTERN_CONFIG` paths. Default `process.cwd()`. */
  cwd?: string;
}

export interface LoadedConfig {
  config: Config;
  /** Absolute path of the file used, if any. */
  file: string | undefined;
  /** Not fatal, worth logging: unknown POSTERN_* variables, YAML warnings. */
  warnings: string[];
}

const ENV_PREFIX = 'POSTERN_';
const CONFIG_ENV = 'POSTERN_CONFIG';
const DEFAULT_FILE = 'postern.yml';
const MAX_SHOWN = 60;

type Path = readonly (string | number)[];
type Mapping = Record<string, unknown>;

/** Finds the config file, reads it and validates it together with the environment. Throws ConfigError. */
export function loadConfig(opts: LoadOptions = {}): LoadedConfig {
  const env = opts.env ?? process.env;
  const cwd = resolve(opts.cwd ?? process.cwd());
  const found = findConfigFile(opts.argv ?? process.argv.slice(2), env, cwd);
  if (found === undefined) return build({}, env, cwd, undefined);
  const { value, warnings } = readYaml(found.file, found.source);
  const loaded = build(value, env, dirname(found.file), found.file);
  return { ...loaded, warnings: [...warnings, ...loaded.warnings] };
}

/**
 * Validates an already-parsed YAML value. `env` supplies `${VAR}` and `POSTERN_*` overrides and
 * defaults to none, not process.env, so callers get the same answer on every machine.
 * Relative paths resolve against `baseDir` (default: the current directory). Throws ConfigError.
 */
export function parseConfig(raw: unknown, env: NodeJS.ProcessEnv = {}, baseDir: string = process.cwd()): LoadedConfig {
  return build(raw, env, resolve(baseDir), undefined);
}

// ---------------------------------------------------------------------------------------------
// Finding and reading the file

interface FoundFile {
  file: string;
  /** Where the name came from, for the "does not exist" message; undefined when discovered. */
  source: string | undefined;
}

function findConfigFile(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): FoundFile | undefined {
  let named: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') break;
    if (arg === '--config') {
      named = argv[i + 1];
      if (named === undefined || named === '' || named.startsWith('--')) {
        throw new ConfigError(['--config needs a file path']);
      }
      i++;
    } else if (arg.startsWith('--config=')) {
      named = arg.slice('--config='.length);
      if (named === '') throw new ConfigError(['--config needs a file path']);
    }
  }
  if (named !== undefined) return { file: resolve(cwd, named), source: '--config' };
  // Empty counts as unset: compose files often pass `POSTERN_CONFIG: ${POSTERN_CONFIG}` through.
  const fromEnv = env[CONFIG_ENV];
  if (fromEnv !== undefined && fromEnv !== '') return { file: resolve(cwd, fromEnv), source: CONFIG_ENV };
  const discovered = resolve(cwd, DEFAULT_FILE);
  return existsSync(discovered) ? { file: discovered, source: undefined } : undefined;
}

function readYaml(file: string, source: string | undefined): { value: unknown; warnings: string[] } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' && source !== undefined) {
      throw new ConfigError([`config file '${file}' (from ${source}) does not exist`]);
    }
    throw new ConfigError([`cannot read config file '${file}' (${code ?? String(error)})`]);
  }
  const lineCounter = new LineCounter();
  // prettyErrors off: the pretty form quotes the source line, which may hold a secret.
  const doc = parseDocument(text, { lineCounter, prettyErrors: false });
  const at = (offset: number): string => {
    const { line, col } = lineCounter.linePos(offset);
    return `${file}:${line}:${col}`;
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(doc.errors.map((error) => `${at(error.pos[0])}: ${error.message}`));
  }
  return {
    value: doc.toJS({ maxAliasCount: 100 }),
    warnings: doc.warnings.map((warning) => `${at(warning.pos[0])}: ${warning.message}`),
  };
}

// ---------------------------------------------------------------------------------------------
// Building

/** Problems found before schema validation, keyed by dotted path so schema issues there are not repeated. */
class Problems {
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

function build(raw: unknown, env: NodeJS.ProcessEnv, baseDir: string, file: string | undefined): LoadedConfig {
  const problems = new Problems();
  const warnings: string[] = [];

  const plain = toPlain(raw);
  let input: Mapping;
  if (plain === undefined) {
    input = {};
  } else if (isMapping(plain)) {
    input = plain;
  } else {
    const where = file === undefined ? 'the configuration' : `'${file}'`;
    throw new ConfigError([`${where} must be a mapping of sections, got ${describeKind(plain)}`]);
  }

  expandVariables(input, [], env, problems);
  const fromEnv = applyEnvironment(input, env, problems, warnings);
  readSecretFiles(input, baseDir, problems, fromEnv);

  const result = configSchema.safeParse(input, { error: () => 'has an invalid value' });
  if (!result.success) {
    const reported = new Set<string>();
    for (const issue of result.error.issues) {
      for (const [path, message] of describeIssue(issue, input, fromEnv)) {
        if (problems.covers(path) || reported.has(path)) continue;
        reported.add(path);
        problems.add(undefined, message);
      }
    }
  }
  if (problems.list.length > 0 || !result.success) throw new ConfigError(problems.list);

  return { config: deepFreeze(finish(result.data, baseDir)), file, warnings };
}

/** Fills derived defaults and resolves paths; copies everything so that freezing touches no schema default. */
function finish(parsed: FileConfig, baseDir: string): Config {
  const { server, session, users, headers, log, login, access, oidc } = parsed;
  const dataDir = resolve(baseDir, parsed.data_dir);
  return {
    server: {
      address: server.address,
      port: server.port,
      public_url: server.public_url,
      trusted_proxies: [...server.trusted_proxies],
      client_ip_header: server.client_ip_header,
    },
    session: {
      secret: session.secret,
      cookie_name: session.cookie_name,
      domain: session.domain ?? new URL(server.public_url).hostname,
      ttl: session.ttl,
      inactivity: session.inactivity,
      remember_me: session.remember_me,
      redis: { url: session.redis.url },
    },
    data_dir: dataDir,
    users: {
      file: users.file === undefined ? join(dataDir, 'users.yml') : resolve(baseDir, users.file),
      argon2: { ...users.argon2 },
    },
    headers: { ...headers },
    log: { ...log },
    login: {
      throttle: { perIp: [...login.rate_limit], perUser: [...login.account_rate_limit], perUserIp: [...login.account_address_rate_limit] },
    },
    metrics: { address: parsed.metrics.address, port: parsed.metrics.port },
    access,
    oidc:
      oidc === undefined
        ? undefined
        : {
            auto_launch: oidc.auto_launch,
            password_login: oidc.password_login,
            start_rate_limit: [...oidc.start_rate_limit],
            providers: oidc.providers.map((p) => ({
              ...p,
              client_secret: p.client_secret,
              button_text: p.button_text ?? `Sign in with ${p.id}`,
              token_endpoint_auth_method: p.token_endpoint_auth_method ?? (p.client_secret === undefined ? 'none' : 'client_secret_basic'),
              claims: { ...p.claims, role: p.claims.role },
              allowed_groups: [...p.allowed_groups],
              allowed_emails: p.allowed_emails.map((rule) => rule.toLowerCase()),
            })),
          },
  };
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
function expandVariables(node: unknown, path: Path, env: NodeJS.ProcessEnv, problems: Problems): void {
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
function applyEnvironment(
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
      const guess = nearest(name, [...ENV_TARGETS.keys(), CONFIG_ENV]);
      warnings.push(`${name} is set but matches no config key${guess === undefined ? '' : ` (did you mean ${guess}?)`}`);
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
function fromText(text: string, kind: KeyKind): unknown {
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

function readSecretFiles(input: Mapping, baseDir: string, problems: Problems, fromEnv: Map<string, string>): void {
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
// Messages

/** [dotted path, message] pairs for one zod issue; several for an unrecognized_keys issue. */
function describeIssue(issue: z.core.$ZodIssue, input: unknown, fromEnv: Map<string, string>): [string, string][] {
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
function show(value: unknown, secret: boolean): string {
  if (secret) return '<hidden>';
  let text = typeof value === 'string' ? value : (JSON.stringify(value) ?? String(value));
  if (text.length > MAX_SHOWN) text = `${text.slice(0, MAX_SHOWN)}…`;
  // eslint-disable-next-line no-control-regex
  text = text.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
  return `'${text}'`;
}

function describeKind(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (value === null) return 'null';
  if (typeof value === 'string') return 'a string';
  if (typeof value === 'number') return 'a number';
  if (typeof value === 'boolean') return 'a boolean';
  return `a ${typeof value}`;
}

/** `server.trusted_proxies[2]` */
function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const segment of path) {
    if (typeof segment === 'number') text += `[${segment}]`;
    else text += text === '' ? String(segment) : `.${String(segment)}`;
  }
  return text;
}

function stripIndices(dotted: string): string {
  return dotted.replace(/\[\d+\]/g, '');
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let node = root;
  for (const segment of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, unknown>)[segment];
  }
  return node;
}

/** The candidate closest to `word` by edit distance, if within 2. */
function nearest(word: string, candidates: readonly string[]): string | undefined {
  let best: string | undefined;
  let bestDistance = 3;
  for (const candidate of candidates) {
    const distance = editDistance(word.toLowerCase(), candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  return best;
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

// ---------------------------------------------------------------------------------------------
// Plain data

function isMapping(value: unknown): value is Mapping {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * A deep copy that the loader may mutate. A key with an empty value (`secret:` → null) counts as
 * absent, so the default applies. `__proto__` stays an ordinary key (and is reported as unknown).
 */
function toPlain(value: unknown): unknown {
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

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}
