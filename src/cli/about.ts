import { readFileSync } from 'node:fs';
import type { CliIO } from './io.js';

/** The version in package.json, two folders up from this file in src/ and in dist/ alike. */
export function packageVersion(): string {
  const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: unknown };
  if (typeof pkg.version !== 'string') throw new Error('package.json has no version');
  return pkg.version;
}

/** `postern --version` and `postern version`: the version alone on stdout; anything else given with it is a usage error. */
export function versionCommand(argv: readonly string[], io: CliIO): number {
  if (argv.length === 2 && argv[0] === 'version' && (argv[1] === '--help' || argv[1] === '-h')) {
    io.stdout.write('Usage: postern version   (or postern --version)\n\nPrints the version of Postern, from its package.json.\n');
    return 0;
  }
  const others = argv.filter((a) => a !== '--version' && a !== 'version');
  if (others.length > 0 || argv.length !== 1) {
    io.stderr.write(`postern: --version and version take no other arguments (got: ${argv.join(' ')}); run 'postern --version' alone\n`);
    return 2;
  }
  io.stdout.write(`postern ${packageVersion()}\n`);
  return 0;
}

export const SERVE_USAGE = `Usage: postern [--config FILE] serve

Starts the server: the sign-in pages and /verify/nginx, /verify/traefik, /verify/caddy for your proxy.
Listens on server.address:server.port (default 0.0.0.0:9190) and logs one JSON line per event on stdout.
Stops on SIGTERM or SIGINT, after the requests in flight. The users file is reloaded when it
changes; a change to the configuration file takes effect only after a restart.

Options:
  --config FILE   the YAML config file (else POSTERN_CONFIG, else ./postern.yml if present)
  --help          show this help

Check the configuration first with 'postern config check'. Exit codes: 1 could not start (the reason
is printed on stderr), 2 the configuration has problems (each named with its key).
`;
