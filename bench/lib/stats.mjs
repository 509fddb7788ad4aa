// Small statistics helpers: exact percentiles over recorded samples (not histogram buckets).

export function median(values) {
  return percentile(values, 50);
}

/** Nearest-rank percentile of a list of numbers; NaN for an empty list. */
export function percentile(values, p) {
  if (values.length === 0) return Number.NaN;
  const sorted = Float64Array.from(values).sort();
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}

export function spread(values) {
  return { min: Math.min(...values), max: Math.max(...values) };
}

/** A growable Float64Array for many latency samples without boxing each one. */
export class Samples {
  constructor(capacity = 1 << 16) {
    this.data = new Float64Array(capacity);
    this.length = 0;
  }

  push(value) {
    if (this.length === this.data.length) {
      const next = new Float64Array(this.data.length * 2);
      next.set(this.data);
      this.data = next;
    }
    this.data[this.length++] = value;
  }

  /** { count, p50, p90, p99, p999, max } in the samples' unit. */
  summary() {
    const sorted = this.data.subarray(0, this.length).slice().sort();
    const at = (p) => (sorted.length === 0 ? Number.NaN : sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]);
    return { count: sorted.length, p50: at(50), p90: at(90), p99: at(99), p999: at(99.9), max: sorted.length ? sorted[sorted.length - 1] : Number.NaN };
  }
}
