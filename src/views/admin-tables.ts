import type { ThrottleEntry } from '../auth/login-throttle.js';
import type { SessionRow } from '../sessions/manage.js';
import { html, type SafeHtml } from './html.js';
import { csrfInput } from './page-parts.js';

export interface AdminTables {
  readonly base: string;
  readonly csrf: string;
  /** Users-file actions (app password revoke) are hidden when set. */
  readonly readOnly: string | undefined;
  /** The sessions listed: every user's, or the selected user's. */
  readonly sessions: ReadonlyArray<{ readonly row: SessionRow; readonly handle: string }>;
  /** `?user=`: whose sessions are listed. */
  readonly selected: string | undefined;
  /** Undefined when they could not be read (Redis does not answer). */
  readonly throttle: readonly ThrottleEntry[] | undefined;
  readonly appPasswords: ReadonlyArray<{ readonly id: string; readonly user: string; readonly name: string; readonly created: string; readonly expires: string; readonly hosts: string; readonly access: string }>;
}

/** A one-button POST form to `<base>/<action>`, with the CSRF token and `fields` hidden. */
export function postButton(m: { readonly base: string; readonly csrf: string }, action: string, fields: Readonly<Record<string, string>>, text: string): SafeHtml {
  return html`<form class="inline" method="post" action="${m.base}/${action}">${csrfInput(m.csrf)}${Object.entries(fields).map(([k, v]) => html`<input type="hidden" name="${k}" value="${v}">`)}<button type="submit">${text}</button></form>`;
}

export function sessionsSection(m: AdminTables): SafeHtml {
  const rows = m.sessions.map(
    ({ row, handle }) => html`<tr><td><code>${row.id}</code></td><td>${row.user}</td><td>${row.method}</td><td>${row.created}</td><td>${row.last_seen}</td><td>${row.address}</td><td>${row.agent}</td><td>${postButton(m, 'revoke-session', { session: handle }, 'End')}</td></tr>
`,
  );
  return html`<h2 id="sessions">Sessions${m.selected !== undefined ? html` of ${m.selected}` : ''}</h2>
<form method="get" action="${m.base}#sessions">
<label for="filter-user">Show the sessions of</label>
<input type="text" id="filter-user" name="user" value="${m.selected ?? ''}" autocapitalize="none" spellcheck="false">
<button type="submit">Show</button>
</form>
${m.selected !== undefined ? html`<p><a href="${m.base}#sessions">Show every session</a> ${m.sessions.length > 0 ? postButton(m, 'revoke-sessions', { user: m.selected }, `End every session of ${m.selected}`) : ''}</p>` : ''}
${
  m.sessions.length === 0
    ? html`<p>No sessions.</p>`
    : html`<table><thead><tr><th>ID</th><th>User</th><th>Method</th><th>Created</th><th>Last seen</th><th>Address</th><th>Agent</th><th></th></tr></thead>
<tbody>
${rows}</tbody></table>`
}`;
}

/** The button that clears a counter: by address, or by the username it counts (device counters end with the device's trust). */
function clearButton(m: AdminTables, entry: ThrottleEntry): SafeHtml | string {
  if (entry.scope === 'ip') return postButton(m, 'clear-throttle', { ip: entry.key }, 'Clear');
  if (entry.scope === 'user') return postButton(m, 'clear-throttle', { user: entry.key }, 'Clear');
  if (entry.scope === 'user+ip') return postButton(m, 'clear-throttle', { user: entry.key.slice(0, entry.key.lastIndexOf('|')) }, 'Clear user');
  return '';
}

export function throttleSection(m: AdminTables): SafeHtml {
  if (m.throttle === undefined) {
    return html`<h2 id="throttle">Sign-in throttle</h2>
<div class="error" role="alert">The failed sign-in counters could not be read: Redis does not answer. Try again in a moment.</div>`;
  }
  const rows = m.throttle.map(
    (e) => html`<tr><td>${e.scope}</td><td>${e.key}</td><td>${e.failures}</td><td>${e.blockedForSec > 0 ? `${e.blockedForSec} s` : '—'}</td><td>${clearButton(m, e)}</td></tr>
`,
  );
  return html`<h2 id="throttle">Sign-in throttle</h2>
${
  m.throttle.length === 0
    ? html`<p>No failed sign-ins are being counted.</p>`
    : html`<table><thead><tr><th>Scope</th><th>Key</th><th>Failures</th><th>Blocked for</th><th></th></tr></thead>
<tbody>
${rows}</tbody></table>`
}
<form method="post" action="${m.base}/clear-throttle">
${csrfInput(m.csrf)}
<label for="clear-user">Clear the counters of a user (and end the trust of their devices)</label>
<input type="text" id="clear-user" name="user" autocapitalize="none" spellcheck="false" required>
<button type="submit">Clear user</button>
</form>
<form method="post" action="${m.base}/clear-throttle">
${csrfInput(m.csrf)}
<label for="clear-ip">Clear the counters of an address</label>
<input type="text" id="clear-ip" name="ip" required>
<button type="submit">Clear address</button>
</form>`;
}

export function appPasswordsSection(m: AdminTables): SafeHtml {
  const rows = m.appPasswords.map(
    (t) => html`<tr><td><code>${t.id}</code></td><td>${t.user}</td><td>${t.name}</td><td>${t.created}</td><td>${t.expires}</td><td>${t.hosts}</td><td>${t.access}</td><td>${m.readOnly ? '' : postButton(m, 'revoke-token', { token: t.id }, 'Revoke')}</td></tr>
`,
  );
  return html`<h2 id="app-passwords">App passwords</h2>
${
  m.appPasswords.length === 0
    ? html`<p>No app passwords.</p>`
    : html`<table><thead><tr><th>ID</th><th>User</th><th>Name</th><th>Created</th><th>Expires</th><th>Hosts</th><th>Access</th><th></th></tr></thead>
<tbody>
${rows}</tbody></table>`
}`;
}
