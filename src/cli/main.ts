#!/usr/bin/env node
import { ConfigError } from '../config/errors.js';
import type { LoadedConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { SERVE_USAGE, versionCommand } from './about.js';
import type { CliIO } from './io.js';
// Each command's module (and what it pulls in: argon2, ioredis, koa) is imported when that command
// runs, and the configuration loader (zod, yaml and the schema) when a command first needs the
// configuration: `postern --version` and the usage texts load neither, and `postern sessions list`
// does not pay for loading the server (`npm run bench` P13).

const USAGE = `Usage: postern [--config FILE] <command>

Commands:
  serve                      start the server (default)
  hash-password              hash a password read from stdin (argon2id, or --algorithm pbkdf2-sha256)
  user add|passwd|disable|enable|remove|list   manage the users file
  throttle list|clear        show or clear failed sign-in counters (Redis)
  sessions list|revoke       show or end sign-in sessions (Redis)
  token create|list|revoke   manage app passwords for apps, devices and scripts
  access explain URL         show which access rule decides a URL, and how
  oidc bindings list|remove  show or release usernames bound to a provider subject
  config check               validate the configuration and print every problem
  version                    print the version (also --version)

Options:
  --config FILE              the YAML config file (else POSTERN_CONFIG, else ./postern.yml if present)
  --help                     show help for a command
  --version                  print the version
`;

/** Splits `--config FILE` off so that every command sees the same global option. */
function splitGlobal(argv: string[]): { global: string[]; rest: string[] } {
  const global: string[] = [];
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--config') global.push(arg, argv[++i] ?? '');
    else if (arg.startsWith('--config=')) global.push(arg);
    else rest.push(arg);
  }
  return { global, rest };
}

/**
 * SIGTERM and SIGINT, counted from the moment this is called: `next()` resolves with the first one
 * not yet taken, at once if it has already arrived. The first starts the shutdown; a second cuts
 * its grace period short.
 */
function shutdownSignals(): { next(): Promise<NodeJS.Signals> } {
  const received: NodeJS.Signals[] = [];
  let taken = 0;
  let wake: (() => void) | undefined;
  const receive = (signal: NodeJS.Signals) => {
    received.push(signal);
    wake?.();
  };
  process.on('SIGTERM', receive);
  process.on('SIGINT', receive);
  return {
    async next() {
      while (received.length <= taken) await new Promise<void>((resolve) => (wake = resolve));
      return received[taken++]!;
    },
  };
}

/**
 * Runs the server until SIGTERM (or SIGINT), then shuts down gracefully: /readyz turns 503 at once,
 * the listener keeps serving for `server.shutdown_grace` (for the load balancer to notice), then it
 * stops accepting, lets the requests in flight finish (up to 10 s) and closes Redis. Resolves with the
 * exit code; a failure to start rejects, with everything it had opened already closed.
 */
async function serve(global: string[], io: CliIO): Promise<number> {
  // Loaded here, not at the top: the other commands start faster without koa, ioredis and pino.
  const [{ startServer }, { loadConfig }] = await Promise.all([import('../main.js'), import('../config/load.js')]);
  let loaded: LoadedConfig;
  try {
    loaded = loadConfig({ argv: global });
  } catch (err) {
    // One problem, one line: what a service manager's log shows of a start that failed. Several are listed as `config check` lists them.
    if (!(err instanceof ConfigError) || err.problems.length !== 1) throw err;
    io.stderr.write(`postern: cannot start: the configuration has a problem: ${err.problems[0]}\n`);
    return 2;
  }
  const signals = shutdownSignals();
  const running = await startServer(loaded);
  const signal = await signals.next();
  const graceMs = loaded.config.server.shutdown_grace;
  running.beginShutdown();
  running.logger.info({ event: 'shutdown', signal, grace_ms: graceMs }, 'shutting down: /readyz answers 503, still serving until the grace period ends');
  let graceTimer: NodeJS.Timeout | undefined;
  await Promise.race([new Promise((resolve) => (graceTimer = setTimeout(resolve, graceMs))), signals.next()]);
  clearTimeout(graceTimer);
  try {
    await running.close();
  } catch (err) {
    io.stderr.write(`postern: error while shutting down: ${(err as Error).message}\n`);
    return 1;
  }
  running.logger.info({ event: 'stopped' }, 'stopped');
  return 0;
}

async function configCheck(global: string[], io: CliIO): Promise<number> {
  const { loadConfig } = await import('../config/load.js');
  const loaded = loadConfig({ argv: global });
  const { compileAccess } = await import('../access/schema.js');
  const { shadowWarnings } = compileAccess(loaded.config.access, loaded.config.session.domain);
  // The Redis CA bundle is read at start; reading it here too reports an unreadable one now (a ConfigError).
  if (loaded.config.session.redis.tls.ca_file !== undefined) (await import('../store/redis-client.js')).redisTargetFromConfig(loaded.config.session.redis);
  for (const warning of [...loaded.warnings, ...shadowWarnings]) io.stderr.write(`warning: ${warning}\n`);
  io.stdout.write(`configuration is valid${loaded.file ? ` (${loaded.file})` : ' (no file: embedded defaults)'}\n`);
  return 0;
}

/** Help must work even when the configuration is broken: it then runs on the embedded defaults. */
async function configFor(global: string[], help: boolean): Promise<Config> {
  const { loadConfig, parseConfig } = await import('../config/load.js');
  return help ? parseConfig({}).config : loadConfig({ argv: global }).config;
}

function asksForHelp(args: string[]): boolean {
  return args.includes('--help') || args.includes('-h');
}

async function run(argv: string[], io: CliIO): Promise<number> {
  const { global, rest } = splitGlobal(argv);
  const [command = 'serve', ...args] = rest;
  if (command === 'version' || argv.includes('--version')) return versionCommand(argv, io);
  try {
    switch (command) {
      case 'serve':
        if (asksForHelp(args)) {
          io.stdout.write(SERVE_USAGE);
          return 0;
        }
        return await serve(global, io);
      case 'hash-password': {
        const config = await configFor(global, asksForHelp(args));
        const [{ hashPasswordCommand }, { createPasswordHasher }] = await Promise.all([import('./hash-password.js'), import('../auth/passwords.js')]);
        return await hashPasswordCommand(args, io, { hasher: createPasswordHasher({ argon2: config.users.argon2 }) });
      }
      case 'user': {
        const config = await configFor(global, args.length === 0 || asksForHelp(args));
        const [{ userCommand }, { afterUserChange }, { createPasswordHasher }] = await Promise.all([
          import('./user-commands.js'),
          import('./user-effects.js'),
          import('../auth/passwords.js'),
        ]);
        return await userCommand(args, io, {
          usersFile: config.users.file,
          hasher: createPasswordHasher({ argon2: config.users.argon2 }),
          minPasswordLength: config.users.min_password_length,
          onUserChanged: (username, change) => afterUserChange(config, username, change),
        });
      }
      case 'throttle':
        return await (await import('./throttle-command.js')).throttleCommand(args, io, await configFor(global, args.length === 0 || asksForHelp(args)));
      case 'sessions':
        return await (await import('./sessions-command.js')).sessionsCommand(args, io, await configFor(global, args.length === 0 || asksForHelp(args)));
      case 'token': {
        const config = await configFor(global, args.length === 0 || asksForHelp(args));
        return await (await import('./token-command.js')).tokenCommand(args, io, { usersFile: config.users.file, domain: config.session.domain, redisUrl: config.session.redis.url, now: Date.now });
      }
      case 'access':
        return await (await import('./access-command.js')).accessCommand(args, io, await configFor(global, args.length === 0 || asksForHelp(args)));
      case 'oidc':
        return await (await import('./oidc-command.js')).oidcCommand(args, io, await configFor(global, args.length === 0 || asksForHelp(args)));
      case 'config':
        if (args[0] === 'check' && !args.includes('--help')) return await configCheck(global, io);
        io.stdout.write('Usage: postern [--config FILE] config check\n  Validates the configuration and prints every problem with its key.\n');
        return args[0] === 'check' || args.includes('--help') ? 0 : 2;
      case '--help':
      case 'help':
        break;
      default:
        io.stderr.write(`unknown command '${command}'\n\n${USAGE}`);
        return 2;
    }
    io.stdout.write(USAGE);
    return 0;
  } catch (err) {
    if (err instanceof ConfigError) {
      io.stderr.write(`The configuration has ${err.problems.length} problem${err.problems.length === 1 ? '' : 's'}:\n${err.problems.map((p) => `  - ${p}`).join('\n')}\n`);
      return 2;
    }
    io.stderr.write(`postern: ${(err as Error).message}\n`);
    return 1;
  }
}

const argv = process.argv.slice(2);
const code = await run(argv, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
if ((splitGlobal(argv).rest[0] ?? 'serve') === 'serve') {
  // serve has finished (a failed start, or a completed shutdown): end now, whatever a library still
  // has scheduled, so that a service manager sees the exit code instead of a process serving nothing.
  process.exit(code);
}
process.exitCode = code;
