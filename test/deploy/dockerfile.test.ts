/**
 * The Dockerfile, without a Docker engine: first what it says (stages, user, ports, volume,
 * healthcheck), then what its runtime stage does, performed here the way Docker would perform it:
 * a clean directory stands in for the image's root, its COPY lines copy from the repository (the
 * repository's built dist/ stands in for the build stage's), its RUN lines run with `sh -c`, its ENV
 * applies, and ENTRYPOINT + CMD start Postern. A runtime stage that installs too little (a runtime
 * dependency left in devDependencies, an argon2 without a loadable binary) fails here.
 *
 * Mapping from the image to this machine: an absolute path the stage names (its WORKDIR and
 * VOLUME) lives under the temp dir; the image's user (USER uid:gid) is whoever runs the tests;
 * the host's npm cache plays the build cache mount; Postern listens on a free loopback port.
 */
import { execFile, execSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, posix, relative, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { freePort } from '../support/free-port.js';
import {
  copyArgs,
  execForm,
  healthcheck,
  listArgs,
  parseDockerfile,
  parseEnv,
  type Instruction,
  type Stage,
} from './dockerfile-parser.js';
import { startServer, type ServerProcess } from './run-server.js';

const ROOT = resolve(import.meta.dirname, '../..');
const dockerfile = parseDockerfile(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const [buildStage, runtimeStage] = dockerfile.stages as [Stage, Stage];

function all(stage: Stage, keyword: string): Instruction[] {
  return stage.instructions.filter((i) => i.keyword === keyword);
}

/** The one instruction of this kind in the stage; Docker would use the last, a test wants exactly one. */
function only(stage: Stage, keyword: string): Instruction {
  const found = all(stage, keyword);
  expect(found, `${keyword} lines in stage ${stage.name ?? stage.image}`).toHaveLength(1);
  return found[0]!;
}

function runs(stage: Stage): string[] {
  return all(stage, 'RUN').map((i) => i.args);
}

function stageEnv(stage: Stage): Record<string, string> {
  return Object.assign({}, ...all(stage, 'ENV').map((i) => parseEnv(i.args))) as Record<string, string>;
}

/** The WORKDIR in force at the end of the stage, as an absolute container path. */
function finalWorkdir(stage: Stage): string {
  return all(stage, 'WORKDIR').reduce((dir, i) => posix.resolve(dir, i.args), '/');
}

describe('Dockerfile, as written', () => {
  it('has two stages: a build stage, then the runtime stage that is the image', () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(['build', 'runtime']);
  });

  it('has no ARG, so the file read here is the file Docker builds', () => {
    const args = [...dockerfile.preamble, ...dockerfile.stages.flatMap((s) => s.instructions)].filter((i) => i.keyword === 'ARG');
    expect(args).toEqual([]);
  });

  it('builds both stages on the Node LTS slim image', () => {
    expect(dockerfile.stages.map((s) => s.image)).toEqual(['node:26-slim', 'node:26-slim']);
  });

  it('build stage installs every dependency with npm ci, then runs npm run build after copying src/', () => {
    const commands = runs(buildStage);
    const install = commands.findIndex((c) => /\bnpm ci\b/.test(c));
    const build = commands.findIndex((c) => /\bnpm run build\b/.test(c));
    expect(install, 'npm ci').toBeGreaterThanOrEqual(0);
    expect(commands[install]).not.toMatch(/--omit=dev|--production/);
    expect(build, 'npm run build').toBeGreaterThan(install);
    const copies = all(buildStage, 'COPY').map((i) => copyArgs(i.args).sources);
    expect(copies.flat()).toEqual(expect.arrayContaining(['package.json', 'package-lock.json', 'tsconfig.json', 'tsconfig.build.json', 'src']));
  });

  it('runtime stage installs production dependencies only, skipping the package scripts (prepare = build)', () => {
    const install = runs(runtimeStage).filter((c) => /\bnpm ci\b/.test(c));
    expect(install).toHaveLength(1);
    expect(install[0]).toMatch(/npm ci --omit=dev --ignore-scripts/);
  });

  it('runtime stage takes only dist/ from the build stage', () => {
    const fromBuild = all(runtimeStage, 'COPY').filter((i) => i.flags.from !== undefined);
    expect(fromBuild.map((i) => [i.flags.from, copyArgs(i.args)])).toEqual([['build', { sources: [`${finalWorkdir(buildStage)}/dist`], dest: './dist' }]]);
  });

  it('runs as a non-root user', () => {
    const user = only(runtimeStage, 'USER').args;
    const [name, group] = user.split(':');
    expect(['root', '0']).not.toContain(name);
    expect(['root', '0']).not.toContain(group ?? name);
  });

  it('exposes 9190 and keeps /data as a volume, where POSTERN_DATA_DIR points', () => {
    expect(all(runtimeStage, 'EXPOSE').flatMap((i) => listArgs(i.args))).toEqual(['9190']);
    expect(all(runtimeStage, 'VOLUME').flatMap((i) => listArgs(i.args))).toEqual(['/data']);
    expect(stageEnv(runtimeStage).POSTERN_DATA_DIR).toBe('/data');
  });

  it('HEALTHCHECK asks /healthz on loopback with node, without curl or wget', () => {
    const { argv } = healthcheck(only(runtimeStage, 'HEALTHCHECK'));
    expect(argv?.[0]).toBe('node');
    const text = argv!.join(' ');
    expect(text).toContain('http://127.0.0.1:');
    expect(text).toContain('/healthz');
    expect(text).not.toMatch(/\b(curl|wget)\b/);
  });

  it('ENTRYPOINT is the postern CLI in exec form and CMD defaults to serve', () => {
    expect(execForm(only(runtimeStage, 'ENTRYPOINT').args)).toEqual(['node', `${finalWorkdir(runtimeStage)}/dist/cli/main.js`]);
    expect(execForm(only(runtimeStage, 'CMD').args)).toEqual(['serve']);
  });

  it('.dockerignore lets in everything the Dockerfile copies and keeps node_modules, dist, data, test artifacts, .git and secrets out', () => {
    const excluded = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
    const contextSources = dockerfile.stages
      .flatMap((s) => all(s, 'COPY'))
      .filter((i) => i.flags.from === undefined)
      .flatMap((i) => copyArgs(i.args).sources);
    const copied = contextSources.flatMap((source) => filesUnder(source));
    expect(copied.length).toBeGreaterThan(10);
    expect(copied.filter(excluded), 'copied by the Dockerfile but excluded from the context').toEqual([]);
    const mustStayOut = [
      'node_modules/koa/package.json',
      'dist/cli/main.js',
      'data/users.yml',
      'data/session.secret',
      'test-artifacts/login.png',
      'coverage/index.html',
      '.git/HEAD',
      'deploy/secrets/postern_session_secret',
      'test/unit/config.test.ts',
      'postern.yml',
    ];
    expect(mustStayOut.filter((p) => !excluded(p)), 'should be excluded from the build context').toEqual([]);
  });
});

describe('the runtime stage, performed on this machine', () => {
  const root = mkdtempSync(join(tmpdir(), 'postern-image-'));
  const workdir = finalWorkdir(runtimeStage);
  const user = only(runtimeStage, 'USER').args;
  /** The absolute paths the stage names: they live under `root` here. */
  const containerPaths = [
    ...all(runtimeStage, 'WORKDIR').map((i) => i.args),
    ...all(runtimeStage, 'VOLUME').flatMap((i) => listArgs(i.args)),
  ].filter((p) => p.startsWith('/'));
  const hostUser = `${process.getuid?.() ?? 0}:${process.getgid?.() ?? 0}`;
  let port: number;
  let env: Record<string, string>;
  let server: ServerProcess | undefined;
  const timings: Record<string, number> = {};

  /** Rewrites the stage's absolute paths to their place under `root`. */
  function onThisMachine(text: string): string {
    let out = text;
    for (const path of containerPaths) {
      const escaped = path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      out = out.replace(new RegExp(`(?<![\\w./-])${escaped}(?=$|[/\\s'"])`, 'g'), join(root, path));
    }
    return out;
  }

  /** A RUN command on this machine: paths as above, and the image's numeric user (`chown uid:gid`) as the one running the tests. */
  function runOnThisMachine(command: string): string {
    const numeric = /^\d+:\d+$/.test(user) ? command.replaceAll(user, hostUser) : command;
    return onThisMachine(numeric);
  }

  function hostPath(containerPath: string): string {
    return join(root, containerPath);
  }

  /** A path the build stage produced, as the repository path that stands in for it. */
  function fromBuildStage(path: string): string {
    const rel = posix.relative(finalWorkdir(buildStage), path);
    if (rel.startsWith('..') || posix.isAbsolute(rel)) throw new Error(`${path} is outside the build stage's WORKDIR`);
    return join(ROOT, rel);
  }

  function perform(): void {
    let cwd = '/';
    const stageVars: Record<string, string> = {};
    for (const instruction of runtimeStage.instructions) {
      const started = performance.now();
      switch (instruction.keyword) {
        case 'ENV':
          for (const [key, value] of Object.entries(parseEnv(instruction.args))) stageVars[key] = onThisMachine(value);
          break;
        case 'WORKDIR':
          cwd = posix.resolve(cwd, instruction.args);
          mkdirSync(hostPath(cwd), { recursive: true });
          break;
        case 'COPY': {
          const { sources, dest } = copyArgs(instruction.args);
          const from = instruction.flags.from;
          if (from !== undefined && from !== buildStage.name) throw new Error(`COPY --from=${from}: only the build stage is known here`);
          const target = hostPath(posix.resolve(cwd, dest));
          const intoDirectory = dest.endsWith('/') || sources.length > 1;
          for (const source of sources) {
            const src = from === undefined ? join(ROOT, source) : fromBuildStage(source);
            cpSync(src, intoDirectory ? join(target, posix.basename(source)) : target, { recursive: true });
          }
          break;
        }
        case 'RUN':
          // Docker runs RUN as root with the stage's ENV; here with PATH and HOME (npm's cache and
          // config: the cache mount's stand-in) plus the stage's ENV, nothing else from the test run.
          execSync(runOnThisMachine(instruction.args), {
            cwd: hostPath(cwd),
            shell: '/bin/sh',
            env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? root, ...stageVars },
            stdio: ['ignore', 'pipe', 'pipe'],
            timeout: 120_000,
          });
          timings[`RUN ${instruction.args.slice(0, 60)}`] = Math.round(performance.now() - started);
          break;
        case 'USER':
        case 'EXPOSE':
        case 'VOLUME':
        case 'HEALTHCHECK':
        case 'ENTRYPOINT':
        case 'CMD':
          break; // read where they are used
        default:
          throw new Error(`line ${instruction.line}: ${instruction.keyword} is not performed by this test; teach it first`);
      }
    }
    env = stageVars;
  }

  function startArgv(): string[] {
    const entrypoint = execForm(only(runtimeStage, 'ENTRYPOINT').args)!;
    const cmd = execForm(only(runtimeStage, 'CMD').args)!;
    return [...entrypoint, ...cmd].map(onThisMachine);
  }

  function runEnv(): Record<string, string> {
    return { PATH: process.env.PATH ?? '', ...env, POSTERN_SERVER_PORT: String(port), POSTERN_SERVER_ADDRESS: '127.0.0.1' };
  }

  async function runHealthcheck(): Promise<number> {
    const { argv } = healthcheck(only(runtimeStage, 'HEALTHCHECK'));
    const [command, ...args] = argv!.map(onThisMachine);
    return new Promise((resolvePromise) => {
      execFile(command!, args, { cwd: hostPath(workdir), env: runEnv(), timeout: 10_000 }, (err) => {
        resolvePromise(err === null ? 0 : typeof err.code === 'number' ? err.code : 1);
      });
    });
  }

  beforeAll(async () => {
    if (!existsSync(join(ROOT, 'dist/cli/main.js'))) execSync('npm run build', { cwd: ROOT, stdio: 'pipe' });
    const started = performance.now();
    perform();
    timings.perform = Math.round(performance.now() - started);
    port = await freePort();
    const [command, ...args] = startArgv();
    server = await startServer(command!, args, { cwd: hostPath(workdir), env: runEnv() });
    timings.total = Math.round(performance.now() - started);
    console.info(`runtime stage performed in ${root}:`, timings);
  }, 240_000);

  afterAll(async () => {
    await server?.stop();
    rmSync(root, { recursive: true, force: true });
  });

  it('installs no dev dependency: nothing package-lock.json marks dev is in node_modules', () => {
    const app = hostPath(workdir);
    const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { dev?: boolean }> };
    const devPaths = Object.entries(lock.packages)
      .filter(([path, entry]) => path !== '' && entry.dev === true)
      .map(([path]) => path);
    expect(devPaths).toEqual(expect.arrayContaining(['node_modules/vitest', 'node_modules/typescript']));
    expect(devPaths.filter((p) => existsSync(join(app, p)))).toEqual([]);
    expect(existsSync(join(app, 'node_modules/koa/package.json')), 'a production dependency').toBe(true);
  });

  it("loads argon2 from the stage's own node_modules: the prebuilt binary on Node-API 10+, else the one `npm rebuild argon2` compiled", () => {
    const app = hostPath(workdir);
    const requireHere = createRequire(join(app, 'package.json'));
    expect(requireHere.resolve('argon2')).toBe(join(app, 'node_modules/argon2/argon2.cjs'));
    const gypBuild = requireHere('node-gyp-build') as { resolve(dir: string): string };
    const binary = gypBuild.resolve(join(app, 'node_modules/argon2'));
    expect(binary.startsWith(join(app, 'node_modules/argon2/'))).toBe(true);
    // The image's Node (26) has Node-API 10 and keeps the prebuilt binary; an older Node cannot load
    // it (Node 20 crashes trying), so the stage's `npm rebuild argon2` compiled one instead.
    const napi = Number(process.versions.napi);
    expect(relative(join(app, 'node_modules/argon2'), binary)).toMatch(napi >= 10 ? /^prebuilds\// : /^build\/Release\//);
    for (const platform of ['linux-x64/argon2.glibc.node', 'linux-arm64/argon2.armv8.glibc.node']) {
      expect(existsSync(join(app, 'node_modules/argon2/prebuilds', platform)), `prebuilt ${platform}`).toBe(true);
    }
  });

  it('starts from ENTRYPOINT + CMD and creates the admin user in the /data volume, showing its password once (argon2 works)', () => {
    const usersFile = join(root, 'data', 'users.yml');
    expect(server!.output).toContain(` Postern created ${usersFile}`);
    expect(server!.output).toContain(' with one user: admin');
    expect(statSync(usersFile).mode & 0o777).toBe(0o600);
    const users = parse(readFileSync(usersFile, 'utf8')) as { users: Record<string, { password: string }> };
    expect(users.users.admin?.password).toMatch(/^\$argon2id\$v=19\$m=19456,/);
    // The session secret and the key that seals second-factor secrets, generated once (mode 0600) beside the users file.
    expect(readdirSync(join(root, 'data')).sort()).toEqual(['encryption.key', 'session.secret', 'users.yml']);
    expect(statSync(join(root, 'data', 'encryption.key')).mode & 0o777).toBe(0o600);
  });

  it('HEALTHCHECK command exits 0 while Postern runs', async () => {
    expect(await runHealthcheck()).toBe(0);
  });

  it('HEALTHCHECK command exits non-zero once Postern has stopped', async () => {
    await server!.stop();
    expect(await runHealthcheck()).not.toBe(0);
  });
});

/** Every file a COPY source names, relative to the repository (a directory: all files under it). */
function filesUnder(source: string): string[] {
  const full = join(ROOT, source);
  if (!statSync(full).isDirectory()) return [posix.normalize(source)];
  return readdirSync(full, { recursive: true, withFileTypes: true })
    .filter((d) => d.isFile())
    .map((d) => relative(ROOT, join(d.parentPath, d.name)));
}

/**
 * The .dockerignore rules as Docker applies them: patterns are cleaned paths relative to the
 * context, `*` and `?` stay within one path segment, `**` spans any number of them, a pattern that
 * matches a parent directory matches everything under it, `!` re-includes, and the last match wins.
 */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negate = l.startsWith('!');
      const pattern = posix.normalize((negate ? l.slice(1) : l).trim()).replace(/^\/+|\/+$/g, '');
      return { negate, regex: globToRegExp(pattern) };
    });
  return (path) => {
    const segments = path.split('/');
    const candidates = segments.map((_, i) => segments.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) {
      if (candidates.some((c) => rule.regex.test(c))) excluded = !rule.negate;
    }
    return excluded;
  };
}

function globToRegExp(pattern: string): RegExp {
  let out = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      const slash = pattern[i + 2] === '/';
      out += slash ? '(?:.*/)?' : '.*';
      i += slash ? 2 : 1;
    } else if (c === '*') out += '[^/]*';
    else if (c === '?') out += '[^/]';
    else out += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${out}$`);
}
