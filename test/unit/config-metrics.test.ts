import { describe, expect, test } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { problemsOf } from '../support/config-problems.js';


describe('metrics', () => {
  test('is off by default, with the listener address on loopback', () => {
    expect(parseConfig({}).config.metrics).toEqual({ address: '127.0.0.1', port: undefined });
  });

  test('metrics.port turns the listener on; metrics.address moves it', () => {
    expect(parseConfig({ metrics: { port: 9191, address: '::1' } }).config.metrics).toEqual({ address: '::1', port: 9191 });
  });

  test('can be set from the environment', () => {
    expect(parseConfig({}, { POSTERN_METRICS_PORT: '9191', POSTERN_METRICS_ADDRESS: '10.0.0.5' }).config.metrics).toEqual({ address: '10.0.0.5', port: 9191 });
  });

  test('a bad port or address names the key and the value', () => {
    expect(problemsOf(() => parseConfig({ metrics: { port: 70000, address: 'not an address!' } }))).toEqual([
      "metrics.address must be an IP address or a hostname, got 'not an address!'",
      "metrics.port must be an integer between 0 and 65535, got '70000'",
    ]);
  });

  test('an unknown key under metrics is reported', () => {
    expect(problemsOf(() => parseConfig({ metrics: { path: '/stats' } }))).toEqual([expect.stringContaining("metrics.path")]);
  });
});
