// P3b's background load: loops of correct-password sign-ins.
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import { loginForm, postLogin } from './http.mjs';
import { BENCH_USER } from './stack.mjs';
import { Samples } from './stats.mjs';

/** A keep-alive HTTP agent for loops of sign-ins. */
export const signinAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });

/**
 * `n` concurrent loops of correct-password sign-ins (POST /login → 303) until stop() is called.
 * Each loop is one browser: one CSRF nonce and token for all its posts.
 */
export async function startSigninLoops(port, n) {
  // Each browser at its own address (told by the trusted loopback peer): the throttle counts an attempt
  // before its hash, so n sign-ins in flight from one address would hold n points of its window at once.
  const headersOf = (i) => ({ 'x-forwarded-for': `198.51.100.${100 + i}`, 'x-forwarded-proto': 'http' });
  const forms = await Promise.all(Array.from({ length: n }, (_, i) => loginForm({ port, host: 'auth.example.com', agent: signinAgent, headers: headersOf(i) })));
  let running = true;
  const latency = new Samples(1024);
  const statuses = {};
  let errors = 0;
  const loops = forms.map(async (form, i) => {
    while (running) {
      const t0 = performance.now();
      try {
        const r = await postLogin({ port, host: 'auth.example.com', form, username: BENCH_USER.name, password: BENCH_USER.password, agent: signinAgent, headers: headersOf(i) });
        statuses[r.status] = (statuses[r.status] ?? 0) + 1;
        if (r.status === 303) latency.push(performance.now() - t0);
      } catch {
        errors++;
        await sleep(10);
      }
    }
  });
  const started = performance.now();
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      const secs = (performance.now() - started) / 1000;
      return { concurrency: n, signinsPerSec: (statuses[303] ?? 0) / secs, statuses, errors, latency: latency.summary() };
    },
  };
}