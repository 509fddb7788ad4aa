import { html } from './html.js';
import { layout } from './layout.js';
import { PASSKEY_SCRIPTS, passkeyForm } from './passkey-form.js';

export interface LoginPageModel {
  /** Host of the validated destination, shown as "Sign in to continue to …". */
  destinationHost: string | undefined;
  /** The validated destination, carried through the form. */
  rd: string | undefined;
  csrf: string;
  username: string;
  error: string | undefined;
  showRememberMe: boolean;
  /** Where the form posts to (public_url + /login). */
  action: string;
  /** Single sign-on: one button per provider, above the password form (or instead of it). */
  sso?: {
    buttons: readonly SsoButton[];
    /** False when `oidc.password_login` is off: no username/password form. */
    passwordForm: boolean;
  };
  /** "Sign in with a passkey" (shown once some user has one): its options URL and where its form posts. */
  passkey?: { optionsUrl: string; action: string };
}

export interface SsoButton {
  /** `/oidc/<id>/start?rd=…`, absolute. */
  href: string;
  text: string;
  /** Why the provider cannot be used right now; the button is then shown disabled with this text. */
  unavailable?: string;
}

// Links, not forms: a form's `form-action` would also have to allow every provider's origin for the redirect that follows.
function ssoButtons(buttons: readonly SsoButton[]) {
  return buttons.map((b) =>
    b.unavailable
      ? html`<p class="sso"><strong aria-disabled="true">${b.text}</strong></p>
<div class="error" role="status">${b.unavailable}</div>
`
      : html`<p class="sso"><a href="${b.href}">${b.text}</a></p>
`,
  );
}

export function loginPage(m: LoginPageModel): string {
  const lead = m.destinationHost ? html`Sign in to continue to <strong>${m.destinationHost}</strong>.` : html`Sign in to continue.`;
  const passwordForm = m.sso?.passwordForm ?? true;
  return layout(
    'Sign in',
    html`<h1>Sign in</h1>
<p>${lead}</p>
${m.error ? html`<div class="error" role="alert">${m.error}</div>` : ''}
${m.sso ? ssoButtons(m.sso.buttons) : ''}${passwordForm ? passwordFormHtml(m) : ''}${m.passkey ? passkeySignIn(m, m.passkey) : ''}`,
    { scripts: m.passkey ? PASSKEY_SCRIPTS : [] },
  );
}

function passwordFormHtml(m: LoginPageModel) {
  return html`${m.sso && m.sso.buttons.length > 0 ? html`<p>Or sign in with a username and password:</p>
` : ''}<form method="post" action="${m.action}">
<input type="hidden" name="csrf" value="${m.csrf}">
${m.rd ? html`<input type="hidden" name="rd" value="${m.rd}">` : ''}
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${m.username}" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
${m.showRememberMe ? html`<label class="check"><input type="checkbox" name="remember_me" value="1"> Keep me signed in on this device</label>` : ''}
<button type="submit">Sign in</button>
</form>`;
}

function passkeySignIn(m: LoginPageModel, passkey: NonNullable<LoginPageModel['passkey']>) {
  return passkeyForm({ mode: 'get', optionsUrl: passkey.optionsUrl, action: passkey.action, csrf: m.csrf, hidden: { rd: m.rd }, button: 'Sign in with a passkey' });
}
