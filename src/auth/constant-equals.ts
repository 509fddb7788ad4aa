import { timingSafeEqual } from 'node:crypto';

/** Compares two secrets without revealing, through timing, how much of them matched. */
export function constantEquals(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  // Compare against itself on a length mismatch so the time spent does not depend on where they differ.
  if (x.length !== y.length) {
    timingSafeEqual(x, x);
    return false;
  }
  return timingSafeEqual(x, y);
}
