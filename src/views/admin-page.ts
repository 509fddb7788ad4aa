import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import { csrfInput, flash, shownOnce } from './page-parts.js';
import { appPasswordsSection, postButton, sessionsSection, throttleSection, type AdminTables } from './admin-tables.js';

export interface AdminUserRow {
  readonly username: string;
  readonly name: string;
  readonly email: string;
  readonly role: string;
  readonly groups: readonly string[];
  /** Second factors in words (admin/factors.ts factorsOf); empty shows "—". */
  readonly factors: readonly string[];
  readonly disabled: boolean;
  readonly appPasswords: number;
}

export interface AdminPageModel extends AdminTables {
  /** The acting administrator. */
  readonly admin: string;
  readonly homeUrl: string;
  /** `<public_url>/admin`: the page, and the prefix of every form's action. */
  readonly base: string;
  readonly minPasswordLength: number;
  /** Why the users file cannot be written here; the users forms are then not shown. */
  readonly readOnly: string | undefined;
  readonly notice?: string;
  readonly error?: string;
  /** A password Postern just generated: shown on this page only. */
  readonly generated?: { readonly username: string; readonly password: string };
  readonly users: readonly AdminUserRow[];
  /** `?user=`: the user whose panel is open and whose sessions are listed (possibly not in the users file). */
  readonly selected: string | undefined;
}

function messages(m: AdminPageModel): SafeHtml {
  return html`${m.error ? flash('error', m.error) : ''}
${m.notice ? flash('notice', m.notice) : ''}
${m.generated ? shownOnce(html`Password for <strong>${m.generated.username}</strong>, shown only now; give it to them:`, m.generated.password, 'generated-password') : ''}
${m.readOnly ? html`<div class="error" role="status">Read-only: ${m.readOnly}</div>` : ''}`;
}

function usersTable(m: AdminPageModel): SafeHtml {
  const rows = m.users.map(
    (u) => html`<tr><td><a href="${m.base}?user=${encodeURIComponent(u.username)}">${u.username}</a>${u.name ? html`<br>${u.name}` : ''}</td><td>${u.role}</td><td>${u.groups.join(', ') || '—'}</td><td>${u.factors.join(', ') || '—'}</td><td>${u.disabled ? 'disabled' : 'no'}</td><td>${u.appPasswords}</td></tr>
`,
  );
  return html`<h2 id="users">Users</h2>
<table><thead><tr><th>User</th><th>Role</th><th>Groups</th><th>Second factors</th><th>Disabled</th><th>App passwords</th></tr></thead>
<tbody>
${rows}</tbody></table>`;
}

function addUserForm(m: AdminPageModel): SafeHtml {
  if (m.readOnly) return html``;
  return html`<h2 id="add-user">Add a user</h2>
<form method="post" action="${m.base}/add-user">
${csrfInput(m.csrf)}
<label for="new-username">Username</label>
<input type="text" id="new-username" name="user" autocomplete="off" autocapitalize="none" spellcheck="false" required>
<label for="new-role">Role</label>
<input type="text" id="new-role" name="role" value="user" required>
<label for="new-groups">Groups, one per line</label>
<textarea id="new-groups" name="groups" rows="2"></textarea>
<label for="new-name">Name</label>
<input type="text" id="new-name" name="name" autocomplete="off">
<label for="new-email">Email</label>
<input type="email" id="new-email" name="email" autocomplete="off">
<label for="new-password-mode">Password</label>
<select id="new-password-mode" name="password_mode"><option value="generate" selected>Generate one (shown once)</option><option value="set">Set the one below</option></select>
<label for="new-password">Password to set (at least ${m.minPasswordLength} characters)</label>
<input type="password" id="new-password" name="password" autocomplete="new-password">
<button type="submit">Add user</button>
</form>`;
}

function userPanel(m: AdminPageModel): SafeHtml {
  if (m.selected === undefined) return html``;
  const u = m.users.find((row) => row.username === m.selected);
  if (u === undefined) return html`<h2 id="user">${m.selected}</h2><p>${m.selected} is not in the users file (a single sign-on user, or removed). Their sessions, if any, are listed below.</p>`;
  const name = u.username;
  const edits = m.readOnly
    ? html`<p>The users file is read-only: change ${name} with <code>postern user passwd|disable|enable|remove ${name}</code> where it is writable.</p>`
    : html`<form method="post" action="${m.base}/set-role">
${csrfInput(m.csrf)}<input type="hidden" name="user" value="${name}">
<label for="edit-role">Role</label>
<input type="text" id="edit-role" name="role" value="${u.role}" required>
<label for="edit-groups">Groups, one per line</label>
<textarea id="edit-groups" name="groups" rows="3">${u.groups.join('\n')}</textarea>
<button type="submit">Save role and groups</button>
</form>
<p>
${postButton(m, u.disabled ? 'enable' : 'disable', { user: name }, u.disabled ? 'Enable' : 'Disable')}
${postButton(m, 'reset-password', { user: name }, 'Reset password')}
${u.factors.length > 0 ? postButton(m, 'reset-factors', { user: name }, 'Reset second factors') : ''}
</p>
<form method="post" action="${m.base}/remove">
${csrfInput(m.csrf)}<input type="hidden" name="user" value="${name}">
<label class="check"><input type="checkbox" name="confirm" value="yes" required> Yes, remove ${name}: their password and app passwords are gone for good</label>
<button type="submit">Remove ${name}</button>
</form>`;
  return html`<h2 id="user">${name}</h2>
<dl><dt>Role</dt><dd>${u.role}</dd><dt>Groups</dt><dd>${u.groups.join(', ') || '—'}</dd><dt>Email</dt><dd>${u.email || '—'}</dd><dt>Second factors</dt><dd>${u.factors.join(', ') || '—'}</dd><dt>Disabled</dt><dd>${u.disabled ? 'yes' : 'no'}</dd></dl>
${edits}`;
}

export function adminPage(m: AdminPageModel): string {
  return layout(
    'Administration',
    html`<h1>Administration</h1>
<p>Signed in as <strong>${m.admin}</strong>. <a href="${m.homeUrl}">Home</a></p>
<nav><a href="${m.base}#users">Users</a><a href="${m.base}#sessions">Sessions</a><a href="${m.base}#throttle">Sign-in throttle</a><a href="${m.base}#app-passwords">App passwords</a></nav>
${messages(m)}
${userPanel(m)}
${usersTable(m)}
${addUserForm(m)}
${sessionsSection(m)}
${throttleSection(m)}
${appPasswordsSection(m)}`,
    { tables: true },
  );
}
