import { describe, expect, it } from 'vitest';
import { SIGN_IN_METHODS, SIGN_IN_OUTCOMES, THROTTLE_SCOPES } from '../../src/metrics/labels.js';
import { createMetrics, noMetrics } from '../../src/metrics/metrics.js';
import { parseSamples, valueOf } from '../support/prometheus-text.js';

async function samplesOf(metrics: ReturnType<typeof createMetrics>) {
  return parseSamples(await metrics.registry!.metrics());
}

describe('the recording functions handlers call (sign-ins, throttle refusals, store errors, Redis status)', () => {
  it('count sign-ins by method and outcome, every pair present from the start at 0', async () => {
    const metrics = createMetrics({ redis: false });
    metrics.signIn('password', 'failure');
    metrics.signIn('password', 'failure');
    metrics.signIn('oidc', 'success');
    const samples = await samplesOf(metrics);

    expect(valueOf(samples, 'postern_sign_ins_total', { method: 'password', outcome: 'failure' })).toBe(2);
    expect(valueOf(samples, 'postern_sign_ins_total', { method: 'oidc', outcome: 'success' })).toBe(1);
    expect(valueOf(samples, 'postern_sign_ins_total', { method: 'password', outcome: 'throttled' })).toBe(0);
    expect(samples.filter((s) => s.name === 'postern_sign_ins_total')).toHaveLength(SIGN_IN_METHODS.length * SIGN_IN_OUTCOMES.length);
  });

  it('count throttle refusals by scope', async () => {
    const metrics = createMetrics({ redis: false });
    metrics.throttleRefusal('ip');
    metrics.throttleRefusal('oidc_start');
    const samples = await samplesOf(metrics);

    expect(valueOf(samples, 'postern_throttle_refusals_total', { scope: 'ip' })).toBe(1);
    expect(valueOf(samples, 'postern_throttle_refusals_total', { scope: 'oidc_start' })).toBe(1);
    expect(valueOf(samples, 'postern_throttle_refusals_total', { scope: 'user' })).toBe(0);
    expect(samples.filter((s) => s.name === 'postern_throttle_refusals_total')).toHaveLength(THROTTLE_SCOPES.length);
  });

  it('follow Redis up and down, and count store errors by operation', async () => {
    const metrics = createMetrics({ redis: true });
    expect(valueOf(await samplesOf(metrics), 'postern_redis_up')).toBe(0);
    metrics.redisStatus('up');
    expect(valueOf(await samplesOf(metrics), 'postern_redis_up')).toBe(1);
    metrics.redisStatus('down');
    metrics.sessionStoreError('get');
    const samples = await samplesOf(metrics);

    expect(valueOf(samples, 'postern_redis_up')).toBe(0);
    expect(valueOf(samples, 'postern_session_store_errors_total', { operation: 'get' })).toBe(1);
    expect(valueOf(samples, 'postern_session_store_errors_total', { operation: 'set' })).toBe(0);
  });

  it('keep verify counts exact across scrapes (copied into the counter at each scrape)', async () => {
    const metrics = createMetrics({ redis: false });
    metrics.verify('traefik', 'allow', 'session', 0.0002);
    expect(valueOf(await samplesOf(metrics), 'postern_verify_decisions_total', { flavour: 'traefik', outcome: 'allow', method: 'session' })).toBe(1);
    metrics.verify('traefik', 'allow', 'session', 0.0002);
    metrics.verify('traefik', 'allow', 'session', 0.003);
    const samples = await samplesOf(metrics);

    expect(valueOf(samples, 'postern_verify_decisions_total', { flavour: 'traefik', outcome: 'allow', method: 'session' })).toBe(3);
    expect(valueOf(samples, 'postern_verify_duration_seconds_count', { flavour: 'traefik' })).toBe(3);
    expect(valueOf(samples, 'postern_verify_duration_seconds_bucket', { flavour: 'traefik', le: '0.00025' })).toBe(2);
  });

  it('each registry is its own: two instances do not share counts, and nothing goes to the global registry', async () => {
    const a = createMetrics({ redis: false });
    const b = createMetrics({ redis: false });
    a.throttleRefusal('user');

    expect(valueOf(await samplesOf(b), 'postern_throttle_refusals_total', { scope: 'user' })).toBe(0);
    const { register } = await import('prom-client');
    expect(register.getSingleMetric('postern_throttle_refusals_total')).toBeUndefined();
  });
});

describe('noMetrics (metrics.port unset)', () => {
  it('has no registry and records nothing, without throwing', () => {
    expect(noMetrics.enabled).toBe(false);
    expect(noMetrics.registry).toBeUndefined();
    expect(() => {
      noMetrics.verify('nginx', 'allow', 'none', 0);
      noMetrics.signIn('password', 'success');
      noMetrics.throttleRefusal('ip');
      noMetrics.redisStatus('up');
    }).not.toThrow();
  });
});
