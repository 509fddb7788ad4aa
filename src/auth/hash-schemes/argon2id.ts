/**
 * argon2id in the PHC string form `$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>`: the scheme every new
 * hash is written in. Parsing only; the computation is node-argon2's (passwords.ts calls it).
 */

export interface Argon2Params {
  /** KiB of memory per hash. */
  memory_cost: number;
  /** Passes over the memory. */
  time_cost: number;
  /** Lanes. */
  parallelism: number;
}

/** OWASP (2023) minimum for argon2id: 19 MiB, 2 passes, 1 lane. */
export const DEFAULT_ARGON2: Argon2Params = { memory_cost: 19456, time_cost: 2, parallelism: 1 };

/** 4 GiB: a larger memory_cost in a users file is a typo that would take the server down at the first login. */
export const ARGON2_MAX_MEMORY_KIB = 4 * 1024 * 1024;

export const ARGON2ID_PREFIX = '$argon2id$';

// PHC string: `$argon2id$v=19$<params>$<salt>$<hash>`, params m, t, p once each in any order
// (libargon2 writes m,t,p; node-argon2 writes m,p,t), unpadded standard base64 salt (>= 8 bytes)
// and hash (>= 16 bytes).
const ARGON2ID_PHC = /^\$argon2id\$v=19\$([a-z0-9=,]+)\$[A-Za-z0-9+/]{11,}\$[A-Za-z0-9+/]{22,}$/;

/** The parameters of an argon2id PHC string, or undefined when it is not one we accept. */
export function parseArgon2id(hash: string): Argon2Params | undefined {
  const match = ARGON2ID_PHC.exec(hash);
  if (match === null) return undefined;
  const params = new Map<string, number>();
  for (const pair of (match[1] ?? '').split(',')) {
    const [, key = '', value = ''] = /^([mtp])=([1-9][0-9]{0,9})$/.exec(pair) ?? [];
    if (key === '' || params.has(key)) return undefined;
    params.set(key, Number(value));
  }
  const memory = params.get('m');
  const time = params.get('t');
  const lanes = params.get('p');
  if (memory === undefined || time === undefined || lanes === undefined) return undefined;
  if (!(lanes <= 0xff_ffff && time <= 0xffff_ffff && memory >= 8 * lanes && memory <= ARGON2_MAX_MEMORY_KIB)) return undefined;
  return { memory_cost: memory, time_cost: time, parallelism: lanes };
}

/** Hashes with the same key cost the same to verify. */
export function argon2idCostKey(p: Argon2Params): string {
  return `argon2id m=${p.memory_cost} t=${p.time_cost} p=${p.parallelism}`;
}

/** Checks configured parameters, naming every bad key at once. */
export function checkArgon2Params(p: Argon2Params): Argon2Params {
  const problems: string[] = [];
  const check = (key: keyof Argon2Params, min: number, max: number): void => {
    const v = p[key];
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      problems.push(`argon2.${key} must be an integer from ${min} to ${max}, got ${String(v)}`);
    }
  };
  check('parallelism', 1, 0xff_ffff);
  check('time_cost', 1, 0xffff_ffff);
  check('memory_cost', 8 * (Number.isSafeInteger(p.parallelism) ? Math.max(1, p.parallelism) : 1), ARGON2_MAX_MEMORY_KIB);
  if (problems.length > 0) throw new TypeError(problems.join('; '));
  return Object.freeze({ memory_cost: p.memory_cost, time_cost: p.time_cost, parallelism: p.parallelism });
}
