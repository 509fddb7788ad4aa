import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import { csrfInput, flash } from './page-parts.js';
import { PASSKEY_SCRIPTS } from './passkey-form.js';

/** The second step of a sign-in, and the step-up a `two_factor` rule asks for: one page. */
export interface TwoFactorPageModel {
  /** Where the form posts to (public_url + /login/2fa). */
  readonly action: string;
  readonly csrf: string;
  readonly rd: string | undefined;
  /** Host of the validated destination, shown as "to continue to …". */
  readonly destinationHost: string | undefined;
  readonly username: string;
  readonly error: string | undefined;
  /** An authenticator app is enrolled: ask for its code. */
  readonly totp: boolean;
  /** Unused recovery codes exist: offer the recovery field. */
  readonly recovery: boolean;
  /**
   * PASSKEYS SEAM: other ways to confirm (the passkeys helper adds "Use a passkey" here), each
   * rendered above the code form.
   */
  readonly alternatives?: readonly SafeHtml[];
}

const CODE_INPUT = html`<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="7" spellcheck="false" autofocus>`;

export function twoFactorPage(m: TwoFactorPageModel): string {
  const lead = m.destinationHost ? html` to continue to <strong>${m.destinationHost}</strong>` : '';
  return layout(
    'Second factor',
    html`<h1>Confirm it's you</h1>
<p>Confirm with the second factor of <strong>${m.username}</strong>${lead}.</p>
${m.error ? flash('error', m.error) : ''}
${m.alternatives ?? ''}${m.totp || m.recovery ? codeForm(m) : ''}`,
    // The alternatives are passkey forms (handlers/passkey-second-step.ts): they need the passkey script.
    { scripts: m.alternatives?.length ? PASSKEY_SCRIPTS : [] },
  );
}

/** Codes: an authenticator app's, or a recovery code (absent when the user has only passkeys). */
function codeForm(m: TwoFactorPageModel) {
  return html`<form method="post" action="${m.action}">
${csrfInput(m.csrf)}
${m.rd ? html`<input type="hidden" name="rd" value="${m.rd}">` : ''}
${m.totp ? html`<label for="code">Code from your authenticator app</label>
${CODE_INPUT}` : ''}
${m.recovery ? html`<label for="recovery">${m.totp ? 'Or a recovery code' : 'Recovery code'}</label>
<input type="text" id="recovery" name="recovery" autocomplete="off" autocapitalize="none" spellcheck="false" maxlength="40">` : ''}
<button type="submit">Continue</button>
</form>`;
}
