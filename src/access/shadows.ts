/**
 * Rules that can never match: a rule every target of which an earlier rule already matches (first
 * match wins). `postern config check` and the start-up log warn about them; they are not errors.
 * Conservative: a rule is reported only when the earlier one surely covers it, criterion by
 * criterion (hosts, paths, methods, networks); subjects and policies take no part.
 */
import { rangeCovers } from '../net/cidr.js';
import { patternCovers, type PathMatcher } from './glob.js';
import { hostMatches, type CompiledRule, type HostMatcher } from './rules.js';

/** One warning per shadowed rule, naming the first earlier rule that covers it. */
export function shadowWarnings(rules: readonly CompiledRule[]): string[] {
  const warnings: string[] = [];
  for (let j = 1; j < rules.length; j++) {
    for (let i = 0; i < j; i++) {
      if (ruleCovers(rules[i] as CompiledRule, rules[j] as CompiledRule)) {
        warnings.push(`access.rules[${j}] can never match: access.rules[${i}] matches everything it would`);
        break;
      }
    }
  }
  return warnings;
}

/** Does `broad` match every target `narrow` matches? Conservative: false when unsure. */
function ruleCovers(broad: CompiledRule, narrow: CompiledRule): boolean {
  return (
    criterionCovers(broad.hosts, narrow.hosts, hostsCover) &&
    criterionCovers(broad.paths, narrow.paths, (b, n) => n.every((p) => b.some((q) => patternCovers(q, p)))) &&
    criterionCovers(broad.methods, narrow.methods, (b, n) => [...n].every((m) => b.has(m))) &&
    criterionCovers(broad.networks, narrow.networks, (b, n) => n.every((r) => b.some((q) => rangeCovers(q, r))))
  );
}

function criterionCovers<T>(broad: T | undefined, narrow: T | undefined, covers: (b: T, n: T) => boolean): boolean {
  if (broad === undefined) return true; // no criterion: matches anything
  if (narrow === undefined) return isUniversal(broad); // narrow has no restriction, broad has one
  return covers(broad, narrow);
}

function isUniversal(criterion: unknown): boolean {
  // `paths: ["/**"]` restricts nothing.
  return Array.isArray(criterion) && criterion.some((p: PathMatcher) => p.kind === 'prefix' && p.literal === '');
}

function hostsCover(broad: HostMatcher, narrow: HostMatcher): boolean {
  for (const host of narrow.exact) if (!hostMatches(broad, host)) return false;
  for (const suffix of narrow.suffixes) {
    if (!broad.suffixes.some((s) => suffix === s || suffix.endsWith(s))) return false;
  }
  return true;
}
