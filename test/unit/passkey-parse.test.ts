import { parseDocument } from 'yaml';
import { describe, expect, it } from 'vitest';
import { parsePasskeys, passkeyNameProblem, serialisePasskey, type Passkey } from '../../src/factors/passkey-parse.js';

/** The list as the users-file parser hands it over: YAML read with maps as Maps. */
function listOf(yaml: string): unknown {
  return parseDocument(yaml).toJS({ mapAsMap: true });
}

const AT = 'users.alice.factors.passkeys';
const ID = 'AAECAwQFBgcICQoLDA0ODw';
const KEY = 'pQECAyYgASFYIBfm0R6nXl1YoXQ';

describe('the passkeys list of the users file', () => {
  it('reads every field, with transports optional', () => {
    const problems: string[] = [];
    const list = parsePasskeys(
      listOf(`
- id: ${ID}
  name: Laptop
  public_key: ${KEY}
  transports: [internal, hybrid]
  created: "2026-12-02T06:00:00.000Z"
  user_verified: true
- id: ${ID}xy
  name: Key on a ring
  public_key: ${KEY}
  created: "2026-12-02T07:00:00Z"
`),
      AT,
      problems,
    );
    expect(problems).toEqual([]);
    expect(list).toEqual([
      { id: ID, name: 'Laptop', publicKey: KEY, transports: ['internal', 'hybrid'], created: Date.parse('2026-12-02T06:00:00Z'), userVerified: true },
      { id: `${ID}xy`, name: 'Key on a ring', publicKey: KEY, transports: [], created: Date.parse('2026-12-02T07:00:00Z'), userVerified: false },
    ]);
  });

  it('absent is no passkeys', () => {
    const problems: string[] = [];
    expect(parsePasskeys(undefined, AT, problems)).toEqual([]);
    expect(problems).toEqual([]);
  });

  it('names the key path of every problem at once', () => {
    const problems: string[] = [];
    const list = parsePasskeys(
      listOf(`
- id: "not base64url!"
  name: ""
  public_key: 42
  transports: [carrier-pigeon]
  created: yesterday
  user_verified: "yes"
  colour: blue
- just a string
`),
      AT,
      problems,
    );
    expect(list).toEqual([]);
    expect(problems).toEqual([
      `${AT}[0]."colour" is not a known key (id, name, public_key, transports, created, user_verified)`,
      `${AT}[0].id must be the credential id in base64url`,
      `${AT}[0].name must not be empty`,
      `${AT}[0].public_key must be the COSE public key in base64url`,
      `${AT}[0].transports must be a list of ble, cable, hybrid, internal, nfc, smart-card, usb`,
      `${AT}[0].created must be a date and time such as "2026-12-02T03:00:00Z"`,
      `${AT}[0].user_verified must be true or false`,
      `${AT}[1] must be a mapping with id, name, public_key and created`,
    ]);
  });

  it('refuses a list that is not one, and a credential listed twice', () => {
    const problems: string[] = [];
    parsePasskeys('one', AT, problems);
    const entry = `- {id: ${ID}, name: A, public_key: ${KEY}, created: "2026-12-02T06:00:00Z"}\n`;
    parsePasskeys(listOf(entry + entry), AT, problems);
    expect(problems).toEqual([`${AT} must be a list of passkeys (added on the account page)`, `${AT}[1].id is listed twice; each passkey once`]);
  });

  it('writes back what it reads', () => {
    const passkey: Passkey = { id: ID, name: 'Phone', publicKey: KEY, transports: ['hybrid'], created: Date.parse('2026-12-02T06:00:00Z'), userVerified: true };
    const written = serialisePasskey(passkey);
    expect(written).toEqual({ id: ID, name: 'Phone', public_key: KEY, transports: ['hybrid'], created: '2026-12-02T06:00:00.000Z', user_verified: true });
    expect(parsePasskeys(listOf(`- ${JSON.stringify(written)}`), AT, [])).toEqual([passkey]);
    expect(serialisePasskey({ ...passkey, transports: [] })).not.toHaveProperty('transports');
  });

  it('takes names a person would give, and refuses empty, long and control-character names', () => {
    expect(passkeyNameProblem('Büro-Schlüssel 🔑')).toBeUndefined();
    expect(passkeyNameProblem('   ')).toBe('must not be empty');
    expect(passkeyNameProblem('x'.repeat(65))).toBe('must be at most 64 characters');
    expect(passkeyNameProblem('a\nb')).toBe('must not contain control characters');
  });
});
