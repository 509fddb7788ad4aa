import type { Passkey } from '../factors/passkey-parse.js';
import { html } from './html.js';
import { layout } from './layout.js';
import { csrfInput, flash } from './page-parts.js';
import { PASSKEY_SCRIPTS, passkeyForm } from './passkey-form.js';

export interface PasskeysPageModel {
  readonly user: string;
  readonly passkeys: readonly Passkey[];
  readonly csrf: string;
  /** This page (GET), where the add form posts (POST), and its options and remove URLs. */
  readonly urls: { readonly page: string; readonly options: string; readonly remove: string; readonly account: string; readonly recovery: string };
  /** The user has an authenticator app: a code may confirm a removal instead of the password. */
  readonly totp: boolean;
  /** A notice after a change (`Passkey added.`). */
  readonly notice?: string;
  readonly error?: string;
  /** The name typed into the add form, kept after a refusal. */
  readonly name?: string;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);

/** The account page's passkeys: list, add (the ceremony runs in the script), remove (asks for the password again). */
export function passkeysPage(m: PasskeysPageModel): string {
  return layout(
    'Passkeys',
    html`<h1>Passkeys</h1>
<p>Sign in with your device's screen lock, fingerprint, face or a security key instead of a password, or use one as the second step after it.</p>
${m.notice ? flash('notice', m.notice) : ''}
${m.error ? flash('error', m.error) : ''}
<h2>Your passkeys</h2>
${m.passkeys.length === 0 ? html`<p>No passkey yet.</p>` : html`<ul class="items">${m.passkeys.map((p) => item(m, p))}</ul>`}
<h2>Add a passkey</h2>
${passkeyForm({
  mode: 'create',
  optionsUrl: m.urls.options,
  action: m.urls.page,
  csrf: m.csrf,
  fields: html`<label for="passkey-name">Name</label>
<input type="text" id="passkey-name" name="name" value="${m.name ?? ''}" maxlength="64" placeholder="Laptop, phone, key on the ring" required>
`,
  button: 'Add a passkey',
})}<p data-passkey-fallback>Adding a passkey needs a browser with JavaScript that supports passkeys.</p>
<p><a href="${m.urls.recovery}">Recovery codes</a> let you in if you lose every passkey and your authenticator app.</p>
<p><a href="${m.urls.account}">Back to your account</a></p>`,
    { scripts: PASSKEY_SCRIPTS },
  );
}

function item(m: PasskeysPageModel, p: Passkey) {
  const field = `remove-${p.id.slice(0, 16)}`;
  return html`<li><strong>${p.name}</strong>
<p class="meta">Added ${day(p.created)}${p.userVerified ? ', verifies you (PIN or biometrics)' : ''}</p>
<details><summary>Remove</summary>
<form method="post" action="${m.urls.remove}">
${csrfInput(m.csrf)}
<input type="hidden" name="id" value="${p.id}">
<label for="${field}">Your password, to confirm</label>
<input type="password" id="${field}" name="password" autocomplete="current-password"${m.totp ? '' : html` required`}>
${m.totp ? html`<label for="${field}-code">Or a code from your authenticator app</label>
<input type="text" id="${field}-code" name="code" inputmode="numeric" autocomplete="one-time-code" maxlength="7">
` : ''}
<button type="submit">Remove ${p.name}</button>
</form>
</details>
</li>
`;
}
