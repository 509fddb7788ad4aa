import type { AppPasswordView, SessionView } from '../account/overview.js';
import { html, type SafeHtml } from './html.js';
import { layout } from './layout.js';
import { csrfInput, flash, shownOnce } from './page-parts.js';

/** Where each form of the page posts to (absolute URLs under public_url). */
export interface AccountActions {
  readonly password: string;
  readonly endSession: string;
  readonly endOtherSessions: string;
  readonly createAppPassword: string;
  readonly revokeAppPassword: string;
  readonly logout: string;
  readonly home: string;
}

export interface AccountPageModel {
  readonly csrf: string;
  readonly actions: AccountActions;
  readonly who: {
    readonly user: string;
    readonly name: string;
    readonly role: string;
    readonly groups: readonly string[];
    readonly email: string;
    /** How this session was opened ("password", "single sign-on (google)") and when. */
    readonly method: string;
    readonly since: string;
  };
  /** The outcome of the last action: a notice (done) or an error (nothing was changed). */
  readonly flash?: { readonly kind: 'notice' | 'error'; readonly text: string };
  /** Absent for someone without a password here (signed in through a provider, no local account). */
  readonly password?: { readonly minLength: number };
  readonly sessions: readonly SessionView[];
  /** Absent for someone without a local account: app passwords live in the users file. */
  readonly appPasswords?: {
    readonly rows: readonly AppPasswordView[];
    readonly expiryChoices: ReadonlyArray<readonly [string, string]>;
    /** Just created: the token, shown this once. */
    readonly created?: { readonly name: string; readonly token: string };
    /** What the create form held when it was refused, to fill it again. */
    readonly form?: { readonly name: string; readonly expires: string; readonly hosts: string; readonly readOnly: boolean };
  };
  /** Links to the second-factor pages; empty: "No second factor yet." */
  readonly secondFactors: ReadonlyArray<{ readonly name: string; readonly href: string }>;
}

export function accountPage(m: AccountPageModel): string {
  return layout(
    'Your account',
    html`<h1>Your account</h1>
${m.flash ? flash(m.flash.kind, m.flash.text) : ''}
${whoSection(m)}
${m.password ? passwordSection(m, m.password.minLength) : html`<h2>Password</h2>
<p>You signed in through single sign-on: your password is kept by your provider, not here.</p>`}
${sessionsSection(m)}
${m.appPasswords ? appPasswordsSection(m, m.appPasswords) : ''}
${secondFactorsSection(m.secondFactors)}
<h2>Sign out</h2>
<form method="post" action="${m.actions.logout}">
${csrfInput(m.csrf)}
<button type="submit">Sign out</button>
</form>`,
    { wide: true },
  );
}

function whoSection(m: AccountPageModel): SafeHtml {
  const w = m.who;
  return html`<p>Signed in as <strong>${w.name ? `${w.name} (${w.user})` : w.user}</strong>. <a href="${m.actions.home}">Home</a></p>
<dl>
<dt>User</dt><dd>${w.user}</dd>
${w.name ? html`<dt>Name</dt><dd>${w.name}</dd>` : ''}
<dt>Role</dt><dd>${w.role}</dd>
<dt>Groups</dt><dd>${w.groups.length ? w.groups.join(', ') : 'none'}</dd>
${w.email ? html`<dt>Email</dt><dd>${w.email}</dd>` : ''}
<dt>Signed in with</dt><dd>${w.method}</dd>
<dt>Since</dt><dd>${w.since}</dd>
</dl>`;
}

function passwordSection(m: AccountPageModel, minLength: number): SafeHtml {
  return html`<h2 id="password">Change password</h2>
<p>Your other sessions and trusted devices are signed out; this one stays signed in.</p>
<form method="post" action="${m.actions.password}">
${csrfInput(m.csrf)}
<label for="current">Current password</label>
<input type="password" id="current" name="current" autocomplete="current-password" required>
<label for="new-password">New password</label>
<input type="password" id="new-password" name="password" autocomplete="new-password" minlength="${minLength}" required aria-describedby="password-hint">
<p class="hint" id="password-hint">At least ${minLength} characters.</p>
<label for="confirm">New password again</label>
<input type="password" id="confirm" name="confirm" autocomplete="new-password" minlength="${minLength}" required>
<button type="submit">Change password</button>
</form>`;
}

function sessionsSection(m: AccountPageModel): SafeHtml {
  const others = m.sessions.filter((s) => !s.current).length;
  return html`<h2 id="sessions">Your sessions</h2>
<ul class="items">
${m.sessions.map(
  (s) => html`<li>
<strong>${s.device}</strong>${s.current ? html` <span class="tag">this device</span>` : ''}
<p class="meta">${s.address} · ${s.method}</p>
<p class="meta">Started ${s.started} · last seen ${s.lastSeen}</p>
${s.current ? '' : html`<form method="post" action="${m.actions.endSession}">
${csrfInput(m.csrf)}<input type="hidden" name="session" value="${s.handle}">
<button type="submit" class="quiet" aria-label="End the session of ${s.device} at ${s.address}">End this session</button>
</form>`}
</li>
`,
)}</ul>
${others > 0 ? html`<form method="post" action="${m.actions.endOtherSessions}">
${csrfInput(m.csrf)}
<button type="submit" class="quiet">End all other sessions</button>
</form>` : html`<p>No other sessions.</p>`}`;
}

type AppPasswords = NonNullable<AccountPageModel['appPasswords']>;

function appPasswordsSection(m: AccountPageModel, a: AppPasswords): SafeHtml {
  const form = a.form ?? { name: '', expires: a.expiryChoices[0]?.[0] ?? '', hosts: '', readOnly: false };
  return html`<h2 id="app-passwords">Your app passwords</h2>
<p>For apps that cannot show this sign-in page (phone apps, scripts): they send an app password instead.</p>
${a.created ? shownOnce(html`App password “${a.created.name}” created. Copy it into the app now: it is shown only this once.`, a.created.token, 'new-app-password') : ''}
${a.rows.length === 0 ? html`<p>No app passwords.</p>` : html`<ul class="items">
${a.rows.map(
  (t) => html`<li>
<strong>${t.name}</strong> <code>${t.id}</code>${t.readOnly ? html` <span class="tag">read-only</span>` : ''}${t.expired ? html` <span class="tag">expired</span>` : ''}
<p class="meta">Created ${t.created} · expires ${t.expires} · last used ${t.lastUse}</p>
<p class="meta">Hosts: ${t.hosts}</p>
<form method="post" action="${m.actions.revokeAppPassword}">
${csrfInput(m.csrf)}<input type="hidden" name="id" value="${t.id}">
<button type="submit" class="quiet" aria-label="Revoke ${t.name}">Revoke</button>
</form>
</li>
`,
)}</ul>`}
<form method="post" action="${m.actions.createAppPassword}">
${csrfInput(m.csrf)}
<label for="token-name">Name</label>
<input type="text" id="token-name" name="name" value="${form.name}" maxlength="100" placeholder="immich phone" required>
<label for="token-expires">Expires</label>
<select id="token-expires" name="expires">
${a.expiryChoices.map(([value, label]) => html`<option value="${value}"${value === form.expires ? html` selected` : ''}>${label}</option>`)}
</select>
<label for="token-hosts">Hosts (optional)</label>
<input type="text" id="token-hosts" name="hosts" value="${form.hosts}" placeholder="photos.example.com, *.example.com" autocapitalize="none" spellcheck="false" aria-describedby="hosts-hint">
<p class="hint" id="hosts-hint">Empty: every host you may reach. Separate several with commas.</p>
<label class="check"><input type="checkbox" name="read_only" value="1"${form.readOnly ? html` checked` : ''}> Read-only (GET, HEAD and OPTIONS only)</label>
<button type="submit">Create app password</button>
</form>`;
}

function secondFactorsSection(factors: AccountPageModel['secondFactors']): SafeHtml {
  return html`<h2 id="second-factors">Second factors</h2>
${factors.length === 0 ? html`<p>No second factor yet.</p>` : html`<ul class="items">
${factors.map((f) => html`<li><a href="${f.href}">${f.name}</a></li>
`)}</ul>`}`;
}

/** The page for a change Postern cannot write here: who can make it, and the command they run. */
export function usersFileReadOnlyPage(m: { readonly what: string; readonly command: string; readonly back: string }): string {
  return layout(
    'Cannot change this here',
    html`<h1>Cannot change this here</h1>
<p>Postern cannot save ${m.what}: its users file is read-only on this server (kept by the deployment, such as a mounted secret). Nothing was changed.</p>
<p>Ask the administrator who manages Postern's users file to run:</p>
<p><code class="secret">${m.command}</code></p>
<p><a href="${m.back}">Back to your account</a></p>`,
  );
}
