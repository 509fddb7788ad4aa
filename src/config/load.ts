/**
 * Finds, reads and validates the configuration. The only module that reads `process.env`.
 *
 * Order: YAML file (find-file.ts) → `${VAR}` expansion in its string values → `POSTERN_*`
 * environment overrides → `<secret>_file` reads (expand.ts) → schema validation, derived defaults
 * (schema.ts) → path resolution → deep freeze. Every problem along the way is collected and thrown
 * together as one ConfigError, worded by messages.ts.
 */
import { dirname, resolve } from 'node:path';
import { deepFreeze } from '../util/deep-freeze.js';
import { ConfigError } from './errors.js';
import { Problems, applyEnvironment, expandVariables, isMapping, readSecretFiles, toPlain, type Mapping } from './expand.js';
import { findConfigFile, readYaml } from './find-file.js';
import { describeIssues, describeKind } from './messages.js';
import { configSchema, type FileConfig } from './schema.js';
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

  // jitless: the configuration is parsed once per process, so compiling zod's fast path for each
  // mapping of the schema costs more than it saves (a CLI command's start-up, `npm run bench` P13).
  const result = configSchema.safeParse(input, { error: () => 'has an invalid value', jitless: true });
  if (!result.success) {
    for (const message of describeIssues(result.error.issues, input, fromEnv, (path) => problems.covers(path))) problems.add(undefined, message);
  }
  if (problems.list.length > 0 || !result.success) throw new ConfigError(problems.list);

  return { config: deepFreeze(resolvePaths(result.data, baseDir)), file, warnings };
}

/**
 * Resolves the paths against `baseDir`. Works on a copy, so that freezing touches no value the
 * schema hands out again (a default).
 */
function resolvePaths(parsed: FileConfig, baseDir: string): Config {
  const config = structuredClone(parsed);
  config.data_dir = resolve(baseDir, parsed.data_dir);
  config.users.file = resolve(baseDir, parsed.users.file);
  if (parsed.session.redis.tls.ca_file !== undefined) config.session.redis.tls.ca_file = resolve(baseDir, parsed.session.redis.tls.ca_file);
  return config;
}
