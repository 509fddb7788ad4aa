import { html } from './html.js';
import { layout } from './layout.js';
import { csrfInput } from './page-parts.js';

export interface HomePageModel {
  user: string;
  name: string;
  role: string;
  groups: readonly string[];
  email: string;
  csrf: string;
  logoutAction: string;
  /** The account page: password, sessions, app passwords, second factors. */
  accountHref: string;
  /** The admin page, for someone who may use it (admin/permission.ts adminAccess); no link otherwise. */
  adminHref?: string;
}

export function homePage(m: HomePageModel): string {
  return layout(
    'Signed in',
    html`<h1>You are signed in</h1>
<dl>
<dt>User</dt><dd>${m.user}</dd>
${m.name ? html`<dt>Name</dt><dd>${m.name}</dd>` : ''}
<dt>Role</dt><dd>${m.role}</dd>
${m.groups.length ? html`<dt>Groups</dt><dd>${m.groups.join(', ')}</dd>` : ''}
${m.email ? html`<dt>Email</dt><dd>${m.email}</dd>` : ''}
</dl>
<p><a href="${m.accountHref}">Your account</a>: password, sessions, app passwords.</p>
${m.adminHref ? html`<p><a href="${m.adminHref}">Administration</a>: users, sessions, sign-in throttle, app passwords.</p>
` : ''}<form method="post" action="${m.logoutAction}">
${csrfInput(m.csrf)}
<button type="submit">Sign out</button>
</form>`,
  );
}
