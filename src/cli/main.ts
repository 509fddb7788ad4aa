#!/usr/bin/env node
import { ConfigError } from '../config/errors.js';
import { loadConfig, parseConfig } from '../config/load.js';
import type { Config } from '../config/types.js';
import { compileAccess } from '../access/schema.js';
import { createPasswordHasher } from '../auth/passwords.js';
import { SERVE_USAGE, versionCommand } from './about.js';
import { hashPasswordCommand } from './hash-password.js';
import type { CliIO } from './io.js';
import { accessCommand } from './access-command.js';
import { throttleCommand } from './throttle-command.js';
import { sessionsCommand } from './sessions-command.js';
import { tokenCommand } from './token-command.js';
import { userCommand } from './user-commands.js';
import { afterUserChange } from './user-effects.js';

const USAGE = `Usage: postern [--config FILE] <command>

Commands:
  serve                      start the server (default)
  hash-password              hash a password read from stdin (argon2id, or --algorithm pbkdf2-sha256)
  user add|passwd|disable|enable|remove|list   manage the users file
  throttle list|clear        show or clear failed sign-in counters (Redis)
  sessions list|revoke       show or end sign-in sessions (Redis)
  token create|list|revoke   manage app passwords for apps, devices and scripts
  access explain URL         show which access rule decides a URL, and how
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

async function serve(global: string[], io: CliIO): Promise<number> {
  // Loaded here, not at the top: the other commands start faster without koa, ioredis and pino.
  const { startServer } = await import('../main.js');
  const running = await startServer(loadConfig({ argv: global }));
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    running.logger.info({ signal }, 'shutting down');
    running.close().then(
      () => process.exit(0),
      (err: unknown) => {
        io.stderr.write(`error while shutting down: ${(err as Error).message}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  return new Promise<number>(() => undefined);
}

async function configCheck(global: string[], io: CliIO): Promise<number> {
  const loaded = loadConfig({ argv: global });
  const { shadowWarnings } = compileAccess(loaded.config.access, loaded.config.session.domain);
  for (const warning of [...loaded.warnings, ...shadowWarnings]) io.stderr.write(`warning: ${warning}\n`);
  io.stdout.write(`configuration is valid${loaded.file ? ` (${loaded.file})` : ' (no file: embedded defaults)'}\n`);
  return 0;
}

/** Help must work even when the configuration is broken: it then runs on the embedded defaults. */
function configFor(global: string[], help: boolean): Config {
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
        const config = configFor(global, asksForHelp(args));
        return await hashPasswordCommand(args, io, { hasher: createPasswordHasher({ argon2: config.users.argon2 }) });
      }
      case 'user': {
        const config = configFor(global, args.length === 0 || asksForHelp(args));
        return await userCommand(args, io, {
          usersFile: config.users.file,
          hasher: createPasswordHasher({ argon2: config.users.argon2 }),
          minPasswordLength: config.users.min_password_length,
          onUserChanged: (username, change) => afterUserChange(config, username, change),
        });
      }
      case 'throttle':
        return await throttleCommand(args, io, configFor(global, args.length === 0 || asksForHelp(args)));
      case 'sessions':
        return await sessionsCommand(args, io, configFor(global, args.length === 0 || asksForHelp(args)));
      case 'token': {
        const config = configFor(global, args.length === 0 || asksForHelp(args));
        return await tokenCommand(args, io, { usersFile: config.users.file, domain: config.session.domain, redisUrl: config.session.redis.url, now: Date.now });
      }
      case 'access':
        return await accessCommand(args, io, configFor(global, args.length === 0 || asksForHelp(args)));
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

const code = await run(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
process.exitCode = code;
