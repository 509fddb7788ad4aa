/**
 * The keys of the configuration, read from the schema through zod's JSON Schema export: the leaf
 * keys the environment can set (`POSTERN_SESSION_TTL`), and the known keys of each mapping (for
 * "did you mean"). Nothing here is written by hand, so a new key in schema.ts needs no other wiring.
 */
import { z } from 'zod';
import type { JSONSchema } from 'zod/v4/core';
import { SECRET_KEYS, configSchema } from './schema.js';

/** How a value given as text (environment, `${VAR}`) is turned into the type the key expects. */
export type KeyKind = 'text' | 'number' | 'boolean' | 'list';

export interface ConfigKey {
  /** Dotted path, e.g. `session.redis.url`. */
  readonly path: string;
  readonly kind: KeyKind;
}

interface KeyTable {
  /** Every leaf key outside lists, in schema order. */
  readonly keys: readonly ConfigKey[];
  /** Dotted path of each mapping → its known keys, `<key>_file` for secrets included. */
  readonly mappingKeys: ReadonlyMap<string, readonly string[]>;
}

function isMapping(node: JSONSchema.JSONSchema): boolean {
  return node.type === 'object' && node.properties !== undefined;
}

function kindOf(node: JSONSchema.JSONSchema): KeyKind {
  switch (node.type) {
    case 'number':
    case 'integer':
      return 'number';
    case 'boolean':
      return 'boolean';
    case 'array':
      return 'list';
    default:
      // Strings, enums, and values that are a string or a number (durations such as '24h' or 0).
      return 'text';
  }
}

function buildTable(): KeyTable {
  const keys: ConfigKey[] = [];
  const mappingKeys = new Map<string, readonly string[]>();
  const walk = (node: JSONSchema.JSONSchema, path: string, inList: boolean): void => {
    if (isMapping(node)) {
      const names: string[] = [];
      for (const [name, child] of Object.entries(node.properties ?? {})) {
        const childPath = path === '' ? name : `${path}.${name}`;
        names.push(name);
        if (SECRET_KEYS.has(childPath)) names.push(`${name}_file`);
        if (typeof child === 'object') walk(child, childPath, inList);
      }
      mappingKeys.set(path, names);
    } else if (node.type === 'array' && typeof node.items === 'object' && !Array.isArray(node.items) && isMapping(node.items)) {
      walk(node.items, path, true);
    } else if (!inList) {
      // Keys inside lists of mappings have no single environment name. A mapping of free names
      // (`access.networks`) is one value.
      keys.push({ path, kind: kindOf(node) });
    }
  };
  // The input side: what people write, before defaults and transforms.
  walk(z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }), '', false);

  for (const secret of SECRET_KEYS) {
    const parent = secret.split('.').slice(0, -1).join('.');
    if (!mappingKeys.get(parent)?.includes(secret.split('.').at(-1)!)) {
      throw new Error(`SECRET_KEYS names '${secret}', which is not a key of the config schema`);
    }
  }
  return { keys, mappingKeys };
}

let table: KeyTable | undefined;

/**
 * Built on first use, not on import: the JSON Schema export walks the whole schema, and a config
 * that sets nothing from the environment and has no mistake never needs it (a CLI command's
 * start-up, `npm run bench` P13).
 */
function keyTable(): KeyTable {
  return (table ??= buildTable());
}

/** Every leaf key outside lists, in schema order. */
export function configKeys(): readonly ConfigKey[] {
  return keyTable().keys;
}

/**
 * Known keys of the mapping at `path` (dotted, list indices removed; '' for the top level),
 * including `<key>_file` for secrets; undefined when `path` is not a mapping.
 */
export function knownKeysAt(path: string): readonly string[] | undefined {
  return keyTable().mappingKeys.get(path);
}

/** True when the value at `path` (dotted, list indices removed) must never be shown. */
export function isSecretPath(path: string): boolean {
  return SECRET_KEYS.has(path);
}
