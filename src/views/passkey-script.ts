import { createHash } from 'node:crypto';

/**
 * The only JavaScript Postern serves (GET /static/passkey.js): the WebAuthn ceremony, which a
 * browser offers to scripts alone. Everything around it is plain HTML forms that work without it.
 *
 * A form marked `data-passkey="create"` or `"get"` is shown (it is rendered `hidden`, so a
 * browser without JavaScript or passkeys never sees a button that cannot work), and on submit:
 * its fields are posted to its `data-options` URL, the JSON options that come back go to
 * navigator.credentials, the credential goes as JSON into the form's `response` field, and the
 * form is submitted for real. The server judges the response and answers with a page, as for any
 * form. Elements marked `data-passkey-fallback` (the explanation for browsers without) are hidden.
 *
 * Written as a string, not compiled: no build step, no framework, nothing inline (the page's CSP
 * allows scripts from Postern's own origin only).
 */
export const PASSKEY_SCRIPT = String.raw`'use strict';
(function () {
  var supported = typeof window.PublicKeyCredential === 'function' && !!navigator.credentials;
  if (!supported) return;

  function bytes(base64url) {
    var base64 = base64url.replace(/-/g, '+').replace(/_/g, '/');
    return Uint8Array.from(atob(base64 + '==='.slice((base64.length + 3) % 4)), function (c) { return c.charCodeAt(0); });
  }
  function base64url(buffer) {
    var text = '';
    new Uint8Array(buffer).forEach(function (b) { text += String.fromCharCode(b); });
    return btoa(text).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
  }
  function withIds(list) {
    return (list || []).map(function (c) { return Object.assign({}, c, { id: bytes(c.id) }); });
  }
  // The browser's own JSON parsers where it has them (Chromium 129+, Firefox 119+, Safari 18.4+); by hand otherwise.
  function creationOptions(json) {
    if (PublicKeyCredential.parseCreationOptionsFromJSON) return PublicKeyCredential.parseCreationOptionsFromJSON(json);
    return Object.assign({}, json, { challenge: bytes(json.challenge), user: Object.assign({}, json.user, { id: bytes(json.user.id) }), excludeCredentials: withIds(json.excludeCredentials) });
  }
  function requestOptions(json) {
    if (PublicKeyCredential.parseRequestOptionsFromJSON) return PublicKeyCredential.parseRequestOptionsFromJSON(json);
    return Object.assign({}, json, { challenge: bytes(json.challenge), allowCredentials: withIds(json.allowCredentials) });
  }
  function toJSON(credential) {
    if (typeof credential.toJSON === 'function') return credential.toJSON();
    var r = credential.response;
    var response = { clientDataJSON: base64url(r.clientDataJSON) };
    if (r.attestationObject) {
      response.attestationObject = base64url(r.attestationObject);
      response.transports = r.getTransports ? r.getTransports() : [];
    } else {
      response.authenticatorData = base64url(r.authenticatorData);
      response.signature = base64url(r.signature);
      if (r.userHandle) response.userHandle = base64url(r.userHandle);
    }
    return { id: credential.id, rawId: base64url(credential.rawId), type: credential.type, response: response, clientExtensionResults: {}, authenticatorAttachment: credential.authenticatorAttachment || undefined };
  }

  function ceremony(form, status) {
    var fields = new URLSearchParams(new FormData(form));
    fields.delete('response');
    return fetch(form.getAttribute('data-options'), { method: 'POST', body: fields, credentials: 'same-origin', headers: { Accept: 'application/json' } })
      .then(function (reply) {
        return reply.json().then(function (body) {
          if (!reply.ok) throw new Error(body.error || 'The server refused to start.');
          status.textContent = body.prompt || '';
          return form.getAttribute('data-passkey') === 'create'
            ? navigator.credentials.create({ publicKey: creationOptions(body.options) })
            : navigator.credentials.get({ publicKey: requestOptions(body.options) });
        });
      });
  }

  document.querySelectorAll('[data-passkey-fallback]').forEach(function (el) { el.hidden = true; });
  document.querySelectorAll('form[data-passkey]').forEach(function (form) {
    var status = form.querySelector('[data-passkey-status]') || document.createElement('p');
    var busy = false;
    form.hidden = false;
    form.addEventListener('submit', function (event) {
      event.preventDefault();
      if (busy || !form.reportValidity()) return;
      busy = true;
      status.textContent = '';
      ceremony(form, status)
        .then(function (credential) {
          if (!credential) throw new Error('No passkey was chosen.');
          form.elements.namedItem('response').value = JSON.stringify(toJSON(credential));
          form.submit();
        })
        .catch(function (err) {
          busy = false;
          // NotAllowedError: cancelled, timed out, or no passkey for this site on this device.
          status.textContent = err && err.name === 'NotAllowedError' ? 'The passkey request was cancelled or timed out. Try again.' : (err && err.message) || 'Something went wrong. Try again.';
        });
    });
  });
})();
`;

/** Where pages load it from: the content hash in the query, so the file can be cached for a year and still change. */
export const PASSKEY_SCRIPT_URL = `/static/passkey.js?v=${createHash('sha256').update(PASSKEY_SCRIPT).digest('base64url').slice(0, 12)}`;
