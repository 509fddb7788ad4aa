// P12: verify with an app password when 10 000 exist ÷ when 10 exist. Two users files beside the
// stack's: its users (the bench user and its app password, made by `postern token create`) plus
// generated users `scale-t<n>` with 10 app passwords each, made by the project's own
// generateToken() (dist/tokens/app-password.js): SHA-256 of a fresh secret, as `token create` stores it.
import fs from 'node:fs';
import path from 'node:path';
import { parse, stringify } from 'yaml';
import { request } from './http.mjs';
import { comparePosterns } from './sides.mjs';

const PER_USER = 10;

/** The stack's users file with app passwords added until `total` exist; returns its path. */
async function writeUsersFile(prepared, total) {
  const { generateToken } = await import('../../dist/tokens/app-password.js');
  const source = path.join(prepared.dir, 'data', 'users.yml');
  const doc = parse(fs.readFileSync(source, 'utf8'));
  const template = Object.values(doc.users)[0];
  let existing = Object.values(doc.users).reduce((n, u) => n + (u.app_passwords?.length ?? 0), 0);
  const created = new Date().toISOString();
  for (let n = 0; existing < total; n++) {
    const entries = [];
    for (let k = 0; k < PER_USER && existing < total; k++, existing++) {
      const { id, hash } = generateToken();
      entries.push({ id, name: `device ${k}`, hash, created });
    }
    const { app_passwords: _own, ...user } = template;
    doc.users[`scale-t${n}`] = { ...user, email: `scale-t${n}@example.com`, app_passwords: entries };
  }
  const file = path.join(prepared.dir, 'data', `users-${total}-tokens.yml`);
  fs.writeFileSync(file, stringify(doc, { aliasDuplicateObjects: false }), { mode: 0o600 });
  return file;
}

/** P12: two fresh Posterns, `small` vs `large` app passwords in the users file; the bench user's app password on verify. */
export async function measureTokenCount({ stack, small, large, requests, groups, ...run }) {
  const { log } = run;
  log(`P12: two fresh Posterns, users files with ${small} and ${large.toLocaleString('en-US')} app passwords, verify with one of them`);
  const files = { few: await writeUsersFile(stack.prepared, small), many: await writeUsersFile(stack.prepared, large) };
  const { figure, runs } = await comparePosterns({
    ...run,
    ready: async (posterns) => {
      for (const p of posterns) {
        const r = await request({ port: p.port, path: requests[0].path, headers: requests[0].headers });
        if (r.status !== 200 || r.headers['remote-auth'] !== 'token') throw new Error(`P12: verify with the app password answered ${r.status}, Remote-Auth ${r.headers['remote-auth']}`);
      }
    },
    label: 'P12 app passwords',
    sides: {
      [`${small} app passwords`]: { prepared: stack.prepared, options: { label: 'postern-p12-few', env: { POSTERN_USERS_FILE: files.few } } },
      [`${large} app passwords`]: { prepared: stack.prepared, options: { label: 'postern-p12-many', env: { POSTERN_USERS_FILE: files.many } } },
    },
    requests,
    groups,
  });
  return { figure: { ...figure, small, large }, details: runs };
}
