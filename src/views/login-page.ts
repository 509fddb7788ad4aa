import { html } from './html.js';
import { layout } from './layout.js';

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
}

export function loginPage(m: LoginPageModel): string {
  const lead = m.destinationHost ? html`Sign in to continue to <strong>${m.destinationHost}</strong>.` : html`Sign in to continue.`;
  return layout(
    'Sign in',
    html`<h1>Sign in</h1>
<p>${lead}</p>
${m.error ? html`<div class="error" role="alert">${m.error}</div>` : ''}
<form method="post" action="${m.action}">
<input type="hidden" name="csrf" value="${m.csrf}">
${m.rd ? html`<input type="hidden" name="rd" value="${m.rd}">` : ''}
<label for="username">Username</label>
<input type="text" id="username" name="username" value="${m.username}" autocomplete="username" autocapitalize="none" spellcheck="false" required autofocus>
<label for="password">Password</label>
<input type="password" id="password" name="password" autocomplete="current-password" required>
${m.showRememberMe ? html`<label class="check"><input type="checkbox" name="remember_me" value="1"> Keep me signed in on this device</label>` : ''}
<button type="submit">Sign in</button>
</form>`,
  );
}
