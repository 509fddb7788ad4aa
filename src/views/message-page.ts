import { html } from './html.js';
import { layout } from './layout.js';

/** A page for errors and notices that reach a person: what happened and what to do. */
export function messagePage(title: string, message: string, link?: { href: string; text: string }): string {
  return layout(title, html`<h1>${title}</h1><p>${message}</p>${link ? html`<p><a href="${link.href}">${link.text}</a></p>` : ''}`);
}
