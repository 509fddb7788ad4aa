// The built Postern CLI (`dist/cli/main.js serve`), run as a user would: the example's postern.yml
// with its addresses substituted and the log level lowered to production's, users made with the CLI.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parse, stringify } from 'yaml';
import { stopChild } from '../../test/support/child.js';
import { readExample, REPO_DIR, substitute } from '../../test/support/examples.js';
import { freePort } from '../../test/support/free-port.js';
import { makeTempDir, removeTempDir, spawnLogged, waitForChild } from './proc.mjs';

export const CLI = path.join(REPO_DIR, 'dist', 'cli', 'main.js');

/**
 * A data dir with postern.yml and a users file. `users`: [{ name, password }] — hashed by
 * `postern user add --password-stdin`, i.e. argon2id with Postern's default parameters.
 */
export function preparePosternDir({ redisPort, logLevel = 'warn', users }) {
  if (!fs.existsSync(CLI)) throw new Error(`${CLI} is missing: run \`npm run build\` first (npm run bench does)`);
  const dir = makeTempDir('postern-bench-postern-');
  const config = parse(substitute(readExample('nginx/postern.yml'), { postern: 0, app: 0, proxy: 0, redis: redisPort }));
  config.log = { ...(config.log ?? {}), level: logLevel };
  // P8 measures Basic with the account password; it changes nothing for a request without Basic.
  config.tokens = { ...(config.tokens ?? {}), basic_account_password: true };
  const configFile = path.join(dir, 'postern.yml');
  fs.writeFileSync(configFile, stringify(config));
  for (const user of users) {
    const r = spawnSync(process.execPath, [CLI, '--config', configFile, 'user', 'add', user.name, '--password-stdin', '--role', 'user', '--groups', 'family', '--email', `${user.name}@example.com`, '--name', `Bench ${user.name}`], {
      cwd: dir,
      input: `${user.password}\n`,
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`postern user add ${user.name} failed (${r.status}): ${r.stderr}${r.stdout}`);
  }
  // An app password for the first user (P7), made as a user would: `postern token create`.
  const t = spawnSync(process.execPath, [CLI, '--config', configFile, 'token', 'create', '--user', users[0].name, '--name', 'bench'], { cwd: dir, env: { PATH: process.env.PATH }, encoding: 'utf8' });
  if (t.status !== 0) throw new Error(`postern token create failed (${t.status}): ${t.stderr}${t.stdout}`);
  const appPassword = t.stdout.trim();
  return { dir, configFile, config, appPassword };
}

function get(port, urlPath) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
  });
}

/**
 * Starts `node [nodeArgs] dist/cli/main.js serve` (or another build's CLI, `cli`); resolves once
 * /readyz answers 200 (Redis reachable). `env`: more POSTERN_* settings (P9 sets POSTERN_METRICS_PORT).
 */
export async function startPostern(prepared, { nodeArgs = [], label = 'postern', cli = CLI, env = {} } = {}) {
  const port = await freePort();
  const logFile = path.join(prepared.dir, `${label}.log`);
  const child = spawnLogged(process.execPath, [...nodeArgs, cli, 'serve', '--config', prepared.configFile], {
    cwd: prepared.dir,
    // The environment of the Docker image (Dockerfile): MALLOC_MMAP_THRESHOLD_ keeps glibc from holding
    // each argon2 buffer in a per-thread pool (RSS after sign-ins, P6b).
    env: { PATH: process.env.PATH, NODE_ENV: 'production', MALLOC_MMAP_THRESHOLD_: '1048576', ...env, POSTERN_SERVER_PORT: String(port), POSTERN_SERVER_ADDRESS: '127.0.0.1' },
    logFile,
  });
  await waitForChild(port, label, child, 20_000, logFile);
  const deadline = Date.now() + 10_000;
  while ((await get(port, '/readyz')) !== 200) {
    if (Date.now() > deadline) throw new Error(`${label} is not ready (GET /readyz) within 10 s:\n${fs.readFileSync(logFile, 'utf8')}`);
    await sleep(50);
  }
  return {
    port,
    pid: child.pid,
    child,
    log: () => (fs.existsSync(logFile) ? fs.readFileSync(logFile, 'utf8') : ''),
    async stop() {
      await stopChild(child, 'SIGTERM', 10_000);
    },
  };
}

export function cleanupPosternDir(prepared) {
  removeTempDir(prepared.dir);
}
