import { html, SafeHtml } from './html.js';
import { layout } from './layout.js';
import { csrfInput, flash } from './page-parts.js';

export interface TotpEnrolPageModel {
  readonly action: string;
  /** Where the "remove" form posts (shown when replacing). */
  readonly removeAction: string;
  readonly csrf: string;
  readonly rd: string | undefined;
  readonly username: string;
  /** The QR code of the otpauth URI, as qrcode's SVG (checked by qrSvg before it is trusted). */
  readonly qr: SafeHtml;
  /** The base32 secret, for typing into an app by hand. */
  readonly secret: string;
  readonly error: string | undefined;
  /** An authenticator app is already enrolled: this one replaces it. */
  readonly replacing: boolean;
}

/**
 * qrcode's SVG as markup: only its own shape (an svg of path elements, no text, no script) is
 * accepted, sized for a phone camera, labelled for screen readers. Anything else throws: a bug, not input.
 */
export function qrSvg(svg: string): SafeHtml {
  const trimmed = svg.trim();
  if (!/^<svg xmlns="http:\/\/www\.w3\.org\/2000\/svg" viewBox="[0-9 ]+" shape-rendering="crispEdges">(<path (fill|stroke)="#[0-9a-f]{6}" d="[0-9A-Za-z .-]+"\/>)+<\/svg>$/.test(trimmed)) {
    throw new Error('unexpected QR code markup');
  }
  return new SafeHtml(trimmed.replace('<svg ', '<svg width="224" height="224" role="img" aria-label="QR code for your authenticator app" '));
}

/** The secret in groups of four, as apps show it. */
function grouped(secret: string): string {
  return secret.match(/.{1,4}/g)?.join(' ') ?? secret;
}

export function totpEnrolPage(m: TotpEnrolPageModel): string {
  return layout(
    'Authenticator app',
    html`<h1>Add an authenticator app</h1>
<p>Scan this code with an authenticator app (Aegis, Google Authenticator, 1Password…), then type the six-digit code it shows.${m.replacing ? ' It replaces the app you added before.' : ''}</p>
${m.error ? flash('error', m.error) : ''}
<p>${m.qr}</p>
<p>No camera? Enter this key in the app (time-based, SHA-1, 6 digits, 30 seconds):</p>
<p><code>${grouped(m.secret)}</code></p>
<form method="post" action="${m.action}">
${csrfInput(m.csrf)}
${m.rd ? html`<input type="hidden" name="rd" value="${m.rd}">` : ''}
<label for="code">Code from the app (account ${m.username})</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="7" spellcheck="false" required autofocus>
<button type="submit">Turn on</button>
</form>
${m.replacing ? html`<h2>Remove the authenticator app</h2>
<p>Without it, signing in asks for your password only (recovery codes go too, unless a passkey stays).</p>
<form method="post" action="${m.removeAction}">
${csrfInput(m.csrf)}
${reauthFields(true)}
<button type="submit">Remove</button>
</form>` : ''}`,
  );
}

export interface RecoveryCodesPageModel {
  /** The new codes, shown this once. */
  readonly codes: readonly string[];
  readonly next: { readonly href: string; readonly text: string };
}

export function recoveryCodesPage(m: RecoveryCodesPageModel): string {
  return layout(
    'Recovery codes',
    html`<h1>Your recovery codes</h1>
<p>Keep these somewhere safe (a password manager, or printed). Each one signs you in once if you lose your authenticator app. They are shown only now; making new ones ends these.</p>
<ol>${m.codes.map((c) => html`<li><code>${c}</code></li>`)}</ol>
<p><a href="${m.next.href}">${m.next.text}</a></p>`,
  );
}

export interface RecoveryStatusPageModel {
  readonly action: string;
  readonly csrf: string;
  readonly remaining: number;
  /** When each used code was used, ISO 8601. */
  readonly used: readonly string[];
  readonly error: string | undefined;
  /** The user has an authenticator app, so a code may stand in for the password. */
  readonly totp: boolean;
}

export function recoveryStatusPage(m: RecoveryStatusPageModel): string {
  return layout(
    'Recovery codes',
    html`<h1>Recovery codes</h1>
<p>${m.remaining} unused code${m.remaining === 1 ? '' : 's'} left.</p>
${m.used.length > 0 ? html`<p>Used:</p><ul>${m.used.map((at) => html`<li>${at}</li>`)}</ul>` : ''}
${m.error ? flash('error', m.error) : ''}
<form method="post" action="${m.action}">
${csrfInput(m.csrf)}
${reauthFields(m.totp)}
<button type="submit">Make new codes</button>
</form>`,
  );
}

/** "Asks for the password or a factor again": the fields of every form that removes or replaces a factor. */
export function reauthFields(totp: boolean): SafeHtml {
  return html`<label for="password">Your password</label>
<input type="password" id="password" name="password" autocomplete="current-password">
${totp ? html`<label for="code">Or a code from your authenticator app</label>
<input type="text" id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9 ]*" maxlength="7" spellcheck="false">` : ''}`;
}
