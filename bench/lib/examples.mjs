// The published example files, with only their service addresses and listening port substituted,
// exactly as test/support/examples.ts does for the tests.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';

export const REPO_DIR = resolve(import.meta.dirname, '../..');
export const EXAMPLES_DIR = join(REPO_DIR, 'examples');

/** ports: { postern, app, proxy, redis } */
export function substitute(text, ports) {
  return text
    .replaceAll('postern:9190', `127.0.0.1:${ports.postern}`)
    .replaceAll('app:8080', `127.0.0.1:${ports.app}`)
    .replaceAll('redis:6379', `127.0.0.1:${ports.redis ?? 6379}`)
    .replace(/listen 80;/g, `listen 127.0.0.1:${ports.proxy};`);
}

export function readExample(path) {
  return readFileSync(join(EXAMPLES_DIR, path), 'utf8');
}

/** Every file under an example folder, relative to it, substituted. */
export function readExampleTree(folder, ports) {
  const root = join(EXAMPLES_DIR, folder);
  const out = {};
  const walk = (dir) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      if (statSync(full).isDirectory()) walk(full);
      else out[relative(root, full)] = substitute(readFileSync(full, 'utf8'), ports);
    }
  };
  walk(root);
  return out;
}
