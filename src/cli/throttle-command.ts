import { parseArgs } from 'node:util';
import type { Redis } from 'ioredis';
import { createLoginThrottle } from '../auth/login-throttle.js';
import { normaliseUsername } from '../auth/username.js';
import type { Config } from '../config/types.js';
import { RedisDeviceStore } from '../store/device-store-redis.js';
import { connectForCommand, redisTargetFromConfig } from '../store/redis-client.js';
import type { CliIO } from './io.js';

const HELP = `Usage: postern throttle list
       postern throttle clear (--ip ADDRESS | --user USERNAME)

Shows or clears the failed sign-in counters that the login throttle keeps in Redis.
clear --user also ends the trust of every device that user signed in from.
`;

/** `postern throttle list|clear`: reads the same Redis the running servers share. */
export async function throttleCommand(args: string[], io: CliIO, config: Config): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || args.includes('--help')) {
    io.stdout.write(HELP);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'list' && sub !== 'clear') {
    io.stderr.write(`unknown throttle command '${sub}'\n\n${HELP}`);
    return 2;
  }
  const { values } = parseArgs({ args: rest, options: { ip: { type: 'string' }, user: { type: 'string' } }, strict: true });
  if (sub === 'clear' && !values.ip && !values.user) {
    io.stderr.write(`throttle clear needs --ip or --user\n\n${HELP}`);
    return 2;
  }
  const target = redisTargetFromConfig(config.session.redis);
  if (!target) {
    io.stderr.write('The throttle counters live in the memory of the running server (session.redis.url is not set); restarting Postern clears them.\n');
    return 1;
  }
  const redis = await connectForCommand(target);
  try {
    const throttle = createLoginThrottle(config.login.throttle, { redis });
    if (sub === 'list') {
      const entries = await throttle.list();
      if (entries.length === 0) {
        io.stdout.write('No failed sign-ins are being counted.\n');
        return 0;
      }
      const rows = [['SCOPE', 'KEY', 'FAILURES', 'BLOCKED FOR'], ...entries.map((e) => [e.scope, e.key, String(e.failures), e.blockedForSec ? `${e.blockedForSec}s` : '-'])];
      const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const row of rows) io.stdout.write(`${row.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd()}\n`);
      return 0;
    }
    const cleared = await throttle.clear({ ip: values.ip, user: values.user });
    io.stdout.write(`Cleared ${cleared} counter${cleared === 1 ? '' : 's'}.\n`);
    if (values.user) {
      const ended = await revokeDevices(redis, values.user);
      io.stdout.write(`Ended the trust of ${ended} device${ended === 1 ? '' : 's'} of ${normaliseUsername(values.user)}.\n`);
    }
    return 0;
  } finally {
    redis.disconnect();
  }
}

function revokeDevices(redis: Redis, username: string): Promise<number> {
  return new RedisDeviceStore(redis).removeUser(normaliseUsername(username));
}
