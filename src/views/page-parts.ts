/**
 * Pieces the signed-in pages (home, account, admin) share, so each is written once: the form token
 * field, the outcome of the last action, and a secret shown once.
 */
import { html, type SafeHtml } from './html.js';

/** The hidden CSRF field every POST form of ours carries (http/csrf.ts checks it). */
export function csrfInput(token: string): SafeHtml {
  return html`<input type="hidden" name="csrf" value="${token}">`;
}

/** What the last action did (a notice) or why nothing was done (an error, announced at once). */
export function flash(kind: 'notice' | 'error', text: string): SafeHtml {
  return html`<div class="${kind}" role="${kind === 'error' ? 'alert' : 'status'}">${text}</div>`;
}

/**
 * A secret Postern made (a generated password, a new app password): `intro` says what it is and that
 * it is shown only now; `id` lets a test or a copy button find it. Never logged, never shown again.
 */
export function shownOnce(intro: SafeHtml, secret: string, id: string): SafeHtml {
  return html`<div class="notice" role="status">${intro}
<code class="secret" id="${id}">${secret}</code></div>`;
}
