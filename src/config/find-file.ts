/**
 * Finding and reading the config file: `--config FILE` / `--config=FILE`, else `POSTERN_CONFIG`,
 * else `./postern.yml` when it exists. YAML errors and warnings come back with `file:line:col`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { ConfigError } from './errors.js';

export const CONFIG_ENV = 'POSTERN_CONFIG';
const DEFAULT_FILE = 'postern.yml';

export interface FoundFile {
  file: string;
  /** Where the name came from, for the "does not exist" message; undefined when discovered. */
  source: string | undefined;
}

/** The file named by `argv`, then `env`, then found in `cwd`; undefined when there is none. Throws ConfigError. */
export function findConfigFile(argv: readonly string[], env: NodeJS.ProcessEnv, cwd: string): FoundFile | undefined {
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

/** The file's YAML as plain data, with its warnings. Throws ConfigError (never quoting the source: it may hold a secret). */
export function readYaml(file: string, source: string | undefined): { value: unknown; warnings: string[] } {
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
