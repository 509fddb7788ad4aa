/**
 * What the passkey script does in a browser, done by a test client with a SoftAuthenticator: fetch
 * the page, post its passkey form's fields for the options, answer them, post the form.
 */
import { expect } from 'vitest';
import { type Reply, type TestClient } from './http-client.js';
import type { Ceremony, SoftAuthenticator } from './webauthn.js';

/** The page's passkey form (`data-passkey`): where it posts, where it gets options, and its hidden fields. */
export function passkeyFormOf(html: string): { action: string; options: string; mode: string; fields: Record<string, string> } {
  const form = /<form method="post" action="([^"]*)" data-passkey="([^"]*)" data-options="([^"]*)" hidden>([\s\S]*?)<\/form>/.exec(html);
  if (!form) throw new Error(`no passkey form in page:\n${html.slice(0, 800)}`);
  const fields: Record<string, string> = {};
  for (const m of form[4]!.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[m[1]!] = m[2]!.replace(/&amp;/g, '&');
  return { action: form[1]!, mode: form[2]!, options: form[3]!, fields };
}

export interface CeremonyRun {
  /** The options the server gave (JSON). */
  readonly options: Record<string, unknown> & { challenge: string };
  /** The final POST of the form. */
  readonly reply: Reply;
}

/** Changes to what the authenticator signs (another origin, RP id or challenge), or a response replaced outright. */
export interface Tamper {
  readonly ceremony?: Partial<Ceremony> & { type?: string };
  readonly response?: (real: string) => string;
}

async function run(
  client: TestClient,
  pageUrl: string,
  extra: Record<string, string>,
  answer: (options: CeremonyRun['options']) => Record<string, unknown>,
  tamper: Tamper,
): Promise<CeremonyRun> {
  const page = await client.get(pageUrl);
  expect(page.status).toBe(200);
  const form = passkeyFormOf(page.body);
  const fields = { ...form.fields, ...extra };
  const optionsReply = await client.request(form.options, { method: 'POST', body: new URLSearchParams(fields), headers: { accept: 'application/json' } });
  expect(optionsReply.status, optionsReply.body).toBe(200);
  expect(optionsReply.header('content-type')).toBe('application/json; charset=utf-8');
  const { options } = JSON.parse(optionsReply.body) as { options: CeremonyRun['options'] };
  const real = JSON.stringify(answer(options));
  const response = tamper.response ? tamper.response(real) : real;
  const reply = await client.request(form.action, { method: 'POST', body: new URLSearchParams({ ...fields, response }), headers: { accept: 'text/html' } });
  return { options, reply };
}

/** Adds `authenticator` as a passkey named `name` on the account page (the client is signed in). */
export function registerPasskey(client: TestClient, pageUrl: string, authenticator: SoftAuthenticator, name: string, tamper: Tamper = {}): Promise<CeremonyRun> {
  const origin = new URL(pageUrl).origin;
  return run(client, pageUrl, { name }, (options) => {
    const o = options as unknown as { rp: { id: string }; user: { id: string } };
    return authenticator.register({ challenge: options.challenge, origin, rpId: o.rp.id, userHandle: o.user.id, ...tamper.ceremony });
  }, tamper);
}

/** Signs in from `loginUrl`'s "Sign in with a passkey" with `authenticator`. */
export function passkeySignIn(client: TestClient, loginUrl: string, authenticator: SoftAuthenticator, rpId: string, tamper: Tamper = {}): Promise<CeremonyRun> {
  const origin = new URL(loginUrl).origin;
  return run(client, loginUrl, {}, (options) => authenticator.assert({ challenge: options.challenge, origin, rpId, ...tamper.ceremony }), tamper);
}

/** Answers `/login/2fa` (the page at `url`) with "Use a passkey" and `authenticator`. */
export function passkeySecondStep(client: TestClient, url: string, authenticator: SoftAuthenticator, rpId: string, tamper: Tamper = {}): Promise<CeremonyRun> {
  const origin = new URL(url).origin;
  return run(client, url, {}, (options) => authenticator.assert({ challenge: options.challenge, origin, rpId, ...tamper.ceremony }), tamper);
}
