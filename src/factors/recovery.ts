/**
 * Recovery codes: ten single-use codes, shown once when made, kept as SHA-256 hashes (a code holds
 * 80 random bits, so a plain hash is enough: nothing to guess from it). Pure: no I/O, no clock.
 *
 * A code is 16 characters of a 32-letter alphabet without look-alikes, shown `abcd-efgh-jkmn-pqrs`;
 * what a person types is read case-insensitively, spaces and dashes ignored.
 */
import { createHash, randomInt } from 'node:crypto';
import { constantEquals } from '../auth/constant-equals.js';
import type { RecoveryCodes } from './factors.js';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz023456789'; // 32 letters (no i, l, o, 1): 16 of them hold 80 bits
const CODE_LENGTH = 16;
const HASH = /^[0-9a-f]{64}$/;

export function isRecoveryHash(value: string): boolean {
  return HASH.test(value);
}

function hashCode(normalised: string): string {
  return createHash('sha256').update('postern recovery code\0').update(normalised).digest('hex');
}

/** The typed text as a code, or undefined when it cannot be one (so it is not hashed). */
export function normaliseRecoveryCode(typed: string): string | undefined {
  const code = typed.toLowerCase().replace(/[\s-]/g, '');
  return code.length === CODE_LENGTH && [...code].every((c) => ALPHABET.includes(c)) ? code : undefined;
}

/** A new set: the codes to show once, and what the users file keeps. */
export function generateRecoveryCodes(now: number): { shown: string[]; stored: RecoveryCodes } {
  const shown: string[] = [];
  for (let i = 0; i < RECOVERY_CODE_COUNT; i++) {
    let code = '';
    for (let j = 0; j < CODE_LENGTH; j++) code += ALPHABET[randomInt(ALPHABET.length)];
    shown.push(code.match(/.{4}/g)!.join('-'));
  }
  const codes = shown.map((c) => hashCode(normaliseRecoveryCode(c)!));
  return { shown, stored: { created: now, codes, used: [] } };
}

/**
 * The set after `typed` is used, or undefined when it matches no unused code. Every stored hash is
 * compared, in constant time, whatever matched first.
 */
export function useRecoveryCode(recovery: RecoveryCodes, typed: string, now: number): RecoveryCodes | undefined {
  const code = normaliseRecoveryCode(typed);
  if (code === undefined) return undefined;
  const hash = hashCode(code);
  let found = -1;
  recovery.codes.forEach((stored, i) => {
    if (constantEquals(stored, hash) && found < 0) found = i;
  });
  if (found < 0) return undefined;
  return { created: recovery.created, codes: recovery.codes.filter((_, i) => i !== found), used: [...recovery.used, { at: now }] };
}
