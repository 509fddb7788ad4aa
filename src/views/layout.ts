import { createHash } from 'node:crypto';
import { html, raw, type SafeHtml } from './html.js';

const STYLESHEET = `
:root{color-scheme:light dark;--bg:#f4f5f7;--card:#fff;--fg:#1d2330;--muted:#5b6474;--line:#d5d9e0;--accent:#2557d6;--accent-fg:#fff;--error-bg:#fdecec;--error-fg:#8a1c1c;--ok-bg:#e7f6ec;--ok-fg:#1b5e32}
@media (prefers-color-scheme:dark){:root{--bg:#12151b;--card:#1c2029;--fg:#e7eaf0;--muted:#a0a8b8;--line:#343a46;--accent:#6d93ff;--accent-fg:#0b0e14;--error-bg:#3a1d1f;--error-fg:#ffb4b4;--ok-bg:#17301f;--ok-fg:#a6e3b8}}
*{box-sizing:border-box}
body{margin:0;min-height:100vh;display:flex;align-items:center;justify-content:center;background:var(--bg);color:var(--fg);font:16px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;padding:1rem}
main{width:100%;max-width:24rem;background:var(--card);border:1px solid var(--line);border-radius:12px;padding:1.75rem}
h1{font-size:1.35rem;margin:0 0 .25rem}
p{margin:.25rem 0 1rem;color:var(--muted)}
label{display:block;font-weight:600;margin:.9rem 0 .3rem}
input[type=text],input[type=password],select{width:100%;padding:.65rem .75rem;font-size:1rem;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--fg)}
input:focus,button:focus{outline:3px solid var(--accent);outline-offset:1px}
.check{display:flex;gap:.5rem;align-items:center;font-weight:400;margin:1rem 0}
button{width:100%;margin-top:1rem;padding:.7rem;font-size:1rem;font-weight:600;border:0;border-radius:8px;background:var(--accent);color:var(--accent-fg);cursor:pointer}
button.secondary{background:transparent;color:var(--accent);border:2px solid var(--accent)}
[data-passkey-status]{margin:.5rem 0 0}[data-passkey-status]:empty{display:none}
summary{cursor:pointer;color:var(--accent);margin-top:.25rem}
.error{background:var(--error-bg);color:var(--error-fg);border-radius:8px;padding:.6rem .8rem;margin:.75rem 0}
.sso a,.sso strong{display:block;text-align:center;padding:.7rem;margin:.75rem 0 0;border:2px solid var(--accent);border-radius:8px;color:var(--accent);font-weight:600;text-decoration:none}
.sso strong{opacity:.6;border-style:dashed}
dl{display:grid;grid-template-columns:auto 1fr;gap:.25rem .75rem;margin:1rem 0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
main.wide{max-width:44rem}
main.tables{max-width:72rem}
h2{font-size:1.1rem;margin:1.75rem 0 .5rem;padding-top:1.25rem;border-top:1px solid var(--line)}
a{color:var(--accent)}
.notice{background:var(--ok-bg);color:var(--ok-fg);border-radius:8px;padding:.6rem .8rem;margin:.75rem 0}
.items{list-style:none;margin:.5rem 0;padding:0}
.items li{border:1px solid var(--line);border-radius:8px;padding:.6rem .8rem;margin:.5rem 0}
.items form{margin:0}
.meta{margin:.1rem 0;font-size:.9rem}
.hint{font-size:.9rem;margin:.3rem 0 0}
button.quiet{width:auto;margin-top:.5rem;padding:.4rem .9rem;background:transparent;color:var(--accent);border:2px solid var(--accent)}
code{font-family:ui-monospace,SFMono-Regular,Menlo,monospace;word-break:break-all}
.secret{display:block;padding:.6rem .75rem;margin:.5rem 0;border:1px dashed var(--accent);border-radius:8px;background:var(--bg);color:var(--fg);user-select:all}
.tag{display:inline-block;font-size:.8rem;font-weight:600;padding:0 .45rem;border-radius:6px;background:var(--accent);color:var(--accent-fg)}
nav a{margin-right:1rem}
textarea,input[type=email]{width:100%;padding:.65rem .75rem;font:inherit;border:1px solid var(--line);border-radius:8px;background:var(--bg);color:var(--fg)}
textarea:focus,select:focus,a:focus{outline:3px solid var(--accent);outline-offset:1px}
table{width:100%;border-collapse:collapse;margin:.5rem 0 1rem;font-size:.9rem}
th,td{text-align:left;padding:.35rem .5rem;border-bottom:1px solid var(--line);vertical-align:top;overflow-wrap:anywhere}
th{color:var(--muted);font-weight:600}
form.inline{display:inline-block;margin:0 .25rem .25rem 0}
form.inline button{width:auto;margin:0;padding:.3rem .7rem;font-size:.85rem}
.tables form:not(.inline){max-width:28rem}
`;

/** The only inline style; the Content-Security-Policy allows it by hash, nothing else. */
export const STYLE_HASH = `'sha256-${createHash('sha256').update(STYLESHEET).digest('base64')}'`;

/**
 * `wide`: a page of several sections (the account page) instead of one small form; `tables`: wider
 * still, for a page of tables (the admin page). `scripts`: the pages that run a passkey ceremony load
 * views/passkey-script.ts (the only script).
 */
export function layout(title: string, body: SafeHtml, opts: { readonly wide?: boolean; readonly tables?: boolean; readonly scripts?: readonly string[] } = {}): string {
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta name="referrer" content="no-referrer">
<title>${title}</title>
<style>${raw(STYLESHEET)}</style>
${(opts.scripts ?? []).map((src) => html`<script src="${src}" defer></script>
`)}</head>
<body>
<main${opts.tables ? raw(' class="tables"') : opts.wide ? raw(' class="wide"') : ''}>
${body}
</main>
</body>
</html>
`.value;
}
