import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createMetrics } from '../../src/metrics/metrics.js';

const DASHBOARD = resolve(import.meta.dirname, '../../deploy/grafana/postern.json');

interface Panel {
  readonly type: string;
  readonly title: string;
  readonly datasource?: { uid?: string };
  readonly targets?: ReadonlyArray<{ expr: string }>;
}
interface Dashboard {
  readonly uid: string;
  readonly title: string;
  readonly panels: readonly Panel[];
  readonly templating: { list: ReadonlyArray<{ name: string; type: string; query?: unknown; definition?: string }> };
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as Dashboard;

/** PromQL words that look like metric names but are not: aggregations, functions, modifiers. */
const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'offset', 'bool', 'and', 'or', 'unless', 'inf', 'nan']);

/**
 * The metric names a PromQL expression selects. Label matchers (`{...}`), ranges (`[...]`),
 * strings, grouping clauses (`by (...)`), function calls and numbers are not metric names.
 */
export function metricNamesIn(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ' ');
  const names = [...bare.matchAll(/(?<![\w$.])([a-zA-Z_:][a-zA-Z0-9_:]*)(?![\w:])(?!\s*\()/g)].map((m) => m[1]!);
  return [...new Set(names.filter((name) => !KEYWORDS.has(name.toLowerCase())))];
}

/** What a scrape of Postern's registry can contain: every family, with a histogram's _bucket, _sum and _count. */
function exportedNames(): Set<string> {
  const registry = createMetrics({ redis: true }).registry!;
  return new Set(
    registry.getMetricsAsArray().flatMap((metric) => {
      const { name, type } = metric as unknown as { name: string; type: string };
      return type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name];
    }),
  );
}

const expressions = dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target) => ({ panel: panel.title, expr: target.expr })));
const variableQueries = dashboard.templating.list.flatMap((v) => (v.type === 'query' && v.definition ? [v.definition] : []));

describe('metricNamesIn', () => {
  it('finds the metric names of an expression and nothing else', () => {
    expect(
      metricNamesIn('histogram_quantile(0.99, sum by (le, flavour) (rate(postern_verify_duration_seconds_bucket{instance=~"$instance", a="b{c}"}[$__rate_interval]))) / on (x) group_left other_metric'),
    ).toEqual(['postern_verify_duration_seconds_bucket', 'other_metric']);
    expect(metricNamesIn('min(postern_redis_up) > bool 0.5')).toEqual(['postern_redis_up']);
    expect(metricNamesIn('label_values(postern_verify_decisions_total, instance)')).toEqual(['postern_verify_decisions_total', 'instance']);
  });
});

describe('deploy/grafana/postern.json', () => {
  it('is a dashboard with a stable uid, queries on every graph, and a Prometheus data source chosen on import', () => {
    expect(dashboard.uid).toBe('postern');
    expect(dashboard.title).toBe('Postern');
    expect(dashboard.templating.list.find((v) => v.name === 'datasource')).toMatchObject({ type: 'datasource', query: 'prometheus' });
    for (const panel of dashboard.panels.filter((p) => p.type !== 'row')) {
      expect(panel.targets?.length, panel.title).toBeGreaterThan(0);
      expect(panel.datasource?.uid, panel.title).toBe('${datasource}');
    }
  });

  it('queries only metrics Postern exports', () => {
    const exported = exportedNames();
    const unknown = expressions.flatMap(({ panel, expr }) => metricNamesIn(expr).filter((name) => !exported.has(name)).map((name) => `${panel}: ${name}`));
    // label_values(metric, label): only its first argument is a metric.
    const variableMetrics = variableQueries.map((q) => /label_values\(\s*([a-zA-Z_:][\w:]*)\s*,/.exec(q)?.[1]);

    expect(unknown).toEqual([]);
    expect(variableMetrics.every((name) => name !== undefined && exported.has(name))).toBe(true);
  });

  it('shows verify rate and p99, sign-in failures, throttle refusals and Redis up', () => {
    const queried = new Set(expressions.flatMap(({ expr }) => metricNamesIn(expr)));

    for (const name of ['postern_verify_decisions_total', 'postern_verify_duration_seconds_bucket', 'postern_sign_ins_total', 'postern_throttle_refusals_total', 'postern_redis_up']) {
      expect(queried, name).toContain(name);
    }
    expect(expressions.some(({ expr }) => expr.startsWith('histogram_quantile(0.99,'))).toBe(true);
  });
});
