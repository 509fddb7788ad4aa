/**
 * The keys of the configuration, read from the schema: the leaf keys the environment can set
 * (`POSTERN_SESSION_TTL`), and the known keys of each mapping (for "did you mean"). Nothing here is
 * written by hand, so a new key in schema.ts needs no other wiring.
 *
 * The schema is walked through zod's definitions (`_zod.def`, what zod's own JSON Schema export
 * walks), on its input side: what people write, before defaults and transforms. Walking it here
 * takes well under a millisecond; z.toJSONSchema took about 10 of every start, a CLI command's
 * included (`npm run bench` P13).
 */
import type { z } from 'zod';
import { SECRET_KEYS, configSchema } from './schema.js';

/** How a value given as text (environment, `${VAR}`) is turned into the type the key expects. */
export type KeyKind = 'text' | 'number' | 'boolean' | 'list';

export interface ConfigKey {
  /** Dotted path, e.g. `session.redis.url`. */
  readonly path: string;
  readonly kind: KeyKind;
}

/** The schema people write at `schema`: through optional, nullable, default and prefault wrappers, and the input side of transforms. */
function written(schema: z.core.$ZodType): z.core.$ZodTypes {
  let node = schema as z.core.$ZodTypes;
  for (;;) {
    const def = node._zod.def;
    switch (def.type) {
      case 'optional':
      case 'nullable':
      case 'default':
      case 'prefault':
      case 'readonly':
      case 'nonoptional':
      case 'catch':
        node = def.innerType as z.core.$ZodTypes;
        break;
      case 'pipe':
        node = def.in as z.core.$ZodTypes;
        break;
      default:
        return node;
    }
  }
}

function kindOf(node: z.core.$ZodTypes): KeyKind {
  switch (node._zod.def.type) {
    case 'number':
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

const keys: ConfigKey[] = [];
const mappingKeys = new Map<string, readonly string[]>();

function walk(schema: z.core.$ZodType, path: string, inList: boolean): void {
  const node = written(schema);
  const def = node._zod.def;
  if (def.type === 'object') {
    const names: string[] = [];
    for (const [name, child] of Object.entries(def.shape)) {
      const childPath = path === '' ? name : `${path}.${name}`;
      names.push(name);
      if (SECRET_KEYS.has(childPath)) names.push(`${name}_file`);
      walk(child, childPath, inList);
    }
    mappingKeys.set(path, names);
  } else if (def.type === 'array' && written(def.element)._zod.def.type === 'object') {
    walk(def.element, path, true);
  } else if (!inList) {
    // Keys inside lists of mappings have no single environment name. A mapping of free names
    // (`access.networks`) is one value.
    keys.push({ path, kind: kindOf(node) });
  }
}

walk(configSchema, '', false);

for (const secret of SECRET_KEYS) {
  const parent = secret.split('.').slice(0, -1).join('.');
  if (!mappingKeys.get(parent)?.includes(secret.split('.').at(-1)!)) {
    throw new Error(`SECRET_KEYS names '${secret}', which is not a key of the config schema`);
  }
}

/** Every leaf key outside lists, in schema order. */
export const CONFIG_KEYS: readonly ConfigKey[] = keys;

/**
 * Known keys of the mapping at `path` (dotted, list indices removed; '' for the top level),
 * including `<key>_file` for secrets; undefined when `path` is not a mapping.
 */
export function knownKeysAt(path: string): readonly string[] | undefined {
  return mappingKeys.get(path);
}

/** True when the value at `path` (dotted, list indices removed) must never be shown. */
export function isSecretPath(path: string): boolean {
  return SECRET_KEYS.has(path);
}
