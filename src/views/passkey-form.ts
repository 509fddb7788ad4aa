import { html, type SafeHtml } from './html.js';
import { csrfInput } from './page-parts.js';
import { PASSKEY_SCRIPT_URL } from './passkey-script.js';

/** The script every page with a passkey form loads (layout's `scripts`). */
export const PASSKEY_SCRIPTS: readonly string[] = [PASSKEY_SCRIPT_URL];

export interface PasskeyFormModel {
  /** `create` registers a passkey, `get` signs in with one (navigator.credentials.create / get). */
  readonly mode: 'create' | 'get';
  /** Where the script posts the form's fields for the ceremony's JSON options. */
  readonly optionsUrl: string;
  /** Where the form posts the credential, as any form. */
  readonly action: string;
  readonly csrf: string;
  /** More hidden fields (`rd`). */
  readonly hidden?: Readonly<Record<string, string | undefined>>;
  /** Visible fields before the button (the name of a new passkey). */
  readonly fields?: SafeHtml;
  readonly button: string;
}

/**
 * A form that runs a passkey ceremony (views/passkey-script.ts). Rendered `hidden`: the script
 * shows it in a browser that can use passkeys, so nobody else meets a button that cannot work.
 */
export function passkeyForm(m: PasskeyFormModel): SafeHtml {
  const hidden = Object.entries(m.hidden ?? {}).filter((e): e is [string, string] => e[1] !== undefined);
  return html`<form method="post" action="${m.action}" data-passkey="${m.mode}" data-options="${m.optionsUrl}" hidden>
${csrfInput(m.csrf)}
${hidden.map(([name, value]) => html`<input type="hidden" name="${name}" value="${value}">
`)}<input type="hidden" name="response" value="">
${m.fields ?? ''}<button type="submit" class="secondary">${m.button}</button>
<p data-passkey-status role="status" aria-live="polite"></p>
</form>
`;
}
