/**
 * The longest password Postern accepts. Its own module, without the hashers, so that what only
 * checks a length (the CLI's password prompt) does not load argon2 and bcrypt.
 */

/** Longest accepted password, in UTF-8 bytes: bounds the work an attacker can ask for per attempt. */
export const MAX_PASSWORD_BYTES = 1024;
