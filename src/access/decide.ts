/**
 * The access decision: a pure function of the canonical target, the signed-in subject, the
 * resolved client address and the compiled rules. No framework, no I/O, no clock.
 *
 * Order of evaluation:
 * 1. configuration with problems, or a not-ok (ambiguous) target → forbid; never login, never bypass;
 * 2. the first rule whose present criteria (hosts, methods, paths, networks) all match applies
 *    (walked over the rules that can match the host, rules.ts HostIndex: the same first match);
 * 3. otherwise the default policy, but only for hosts within the protected domain; any other host
 *    is forbidden, so an unknown host is never an open door.
 *
 * Applying a policy:
 * - bypass → allow, anonymous (identity headers present but empty), even for a signed-in subject;
 * - deny → forbid;
 * - authenticated → login when nobody is signed in; forbid when the rule lists subjects and none
 *   matches; forbid when the role is `viewer` and the method is not GET/HEAD/OPTIONS, unless the
 *   rule says `viewer_write: true`; otherwise allow.
 * - two_factor → as authenticated, then step-up when the session was signed in with one factor
 *   only (`subject.twoFactor` not true). Subjects are judged first: someone the rule would refuse
 *   anyway is forbidden, not asked for a factor.
 *
 * `subjects` do not take part in matching: a signed-in user outside them is forbidden by that
 * rule, not passed on to a later, broader rule.
 */

import { parseAddress, rangeContains, type Address, type IpRange } from '../net/cidr.js';
import { boundedMemo } from '../util/bounded-memo.js';
import { isWithinDomain } from '../net/domain.js';
import type { CanonicalTarget } from './target.js';
import {
  SAFE_METHODS,
  VIEWER_ROLE,
  rulesForHost,
  subjectMatches,
  type CompiledAccess,
  type CompiledRule,
  type Policy,
} from './rules.js';
import type { PathMatcher } from './glob.js';

export interface Subject {
  user: string;
  role: string;
  groups: readonly string[];
  /** The session was signed in with two factors (factors/session-methods.ts isTwoFactor). */
  twoFactor?: boolean;
}

export type Decision =
  | { kind: 'allow'; rule: number | 'default'; anonymous: boolean }
  | { kind: 'login'; rule: number | 'default' }
  /** Signed in, but with one factor where the rule asks for two: ask for the second. */
  | { kind: 'step-up'; rule: number | 'default' }
  | { kind: 'forbid'; rule: number | 'default'; reason: string };

/** Stable `reason` texts of forbid decisions (log fields; not shown to the visitor). */
export const FORBID_REASONS = Object.freeze({
  misconfigured: 'access configuration has problems',
  denied: 'denied by rule',
  outsideDomain: 'host outside the protected domain',
  notInSubjects: 'subject not allowed by the rule',
  viewerWrite: 'role viewer may only use GET, HEAD and OPTIONS',
  badClientAddress: 'client address is not an IP address',
});

const ALLOW_ANONYMOUS_DEFAULT: Decision = Object.freeze({ kind: 'allow', rule: 'default', anonymous: true });
const LOGIN_DEFAULT: Decision = Object.freeze({ kind: 'login', rule: 'default' });

export function decide(target: CanonicalTarget, subject: Subject | undefined, clientIp: string, access: CompiledAccess): Decision {
  return evaluate(target, subject, clientIp, access).decision;
}

export interface Explanation {
  decision: Decision;
  /** Index of the matched rule, or `default`. */
  rule: number | 'default';
  /** One line describing what decided, e.g. `rules[3]: hosts=[nvr.example.com] … policy=authenticated`. */
  text: string;
}

/** The same evaluation as decide(), with the deciding rule rendered (for `postern access explain`). */
export function explain(target: CanonicalTarget, subject: Subject | undefined, clientIp: string, access: CompiledAccess): Explanation {
  const { decision, rule } = evaluate(target, subject, clientIp, access);
  let text: string;
  if (rule !== undefined) text = rule.text;
  else if (access.problems.length > 0) text = 'configuration has problems: everything is forbidden';
  else if (!target.ok) text = `target refused before any rule: ${target.reason}`;
  else if (decision.kind === 'forbid' && decision.reason === FORBID_REASONS.outsideDomain) {
    text = `no rule matched and ${target.host} is outside the protected domain ${access.protectedDomain}`;
  } else {
    text = `default_policy=${access.defaultPolicy}${access.configured ? '' : ' (no access section)'} for hosts within ${access.protectedDomain}`;
  }
  return { decision, rule: decision.rule, text };
}

/**
 * What the rules say about a target before anyone asks who the subject is: which rule (or the
 * default) applies never depends on the subject, so verify matches once and applies the policy to
 * the anonymous visitor first, and to the session's identity only when that is needed.
 */
export type Match =
  /** Refused before any policy: configuration problems, an ambiguous target, an unusable client address, a foreign host. */
  | { readonly kind: 'refused'; readonly decision: Decision; readonly rule: CompiledRule | undefined }
  | { readonly kind: 'policy'; readonly policy: Policy; readonly rule: CompiledRule | undefined; readonly method: string };

/** A client's address is parsed once while it keeps asking (util/bounded-memo.ts); null: not an address. */
const clientAddress = boundedMemo((ip: string): Address | null => {
  const address = parseAddress(ip);
  return address === undefined ? null : Object.freeze(address);
});

export function matchTarget(target: CanonicalTarget, clientIp: string, access: CompiledAccess): Match {
  if (access.problems.length > 0) return refused(forbid('default', FORBID_REASONS.misconfigured), undefined);
  if (!target.ok) return refused(forbid('default', target.reason), undefined);

  const { host, path, method } = target;
  // Parsed lazily: only rules with a networks criterion need it. null = not an address.
  let address: Address | null | undefined;
  // Only the rules that can match this host, still in rule order: their hosts criterion holds.
  const rules = rulesForHost(access.hostIndex, host);
  for (let i = 0; i < rules.length; i++) {
    const rule = rules[i] as CompiledRule;
    if (rule.methods !== undefined && !rule.methods.has(method)) continue;
    if (rule.paths !== undefined && !anyPathMatches(rule.paths, path)) continue;
    if (rule.networks !== undefined) {
      if (address === undefined) address = clientAddress(clientIp);
      // Fail closed: a rule we cannot evaluate decides nothing but a refusal.
      if (address === null) return refused(forbid(rule.index, FORBID_REASONS.badClientAddress), rule);
      if (!anyRangeContains(rule.networks, address)) continue;
    }
    return { kind: 'policy', policy: rule.policy, rule, method };
  }

  if (!isWithinDomain(host, access.protectedDomain)) return refused(forbid('default', FORBID_REASONS.outsideDomain), undefined);
  return { kind: 'policy', policy: access.defaultPolicy, rule: undefined, method };
}

/** The decision of a match for one subject (undefined: nobody signed in). */
export function decideFor(match: Match, subject: Subject | undefined): Decision {
  return match.kind === 'refused' ? match.decision : apply(match.policy, match.rule, subject, match.method);
}

function refused(decision: Decision, rule: CompiledRule | undefined): Match {
  return { kind: 'refused', decision, rule };
}

function evaluate(
  target: CanonicalTarget,
  subject: Subject | undefined,
  clientIp: string,
  access: CompiledAccess,
): { decision: Decision; rule: CompiledRule | undefined } {
  const match = matchTarget(target, clientIp, access);
  return { decision: decideFor(match, subject), rule: match.rule };
}

function anyPathMatches(paths: readonly PathMatcher[], path: string): boolean {
  for (const matcher of paths) if (matcher.matches(path)) return true;
  return false;
}

function anyRangeContains(ranges: readonly IpRange[], address: Address): boolean {
  for (const range of ranges) if (rangeContains(range, address)) return true;
  return false;
}

function apply(policy: Policy, rule: CompiledRule | undefined, subject: Subject | undefined, method: string): Decision {
  const at: number | 'default' = rule === undefined ? 'default' : rule.index;
  switch (policy) {
    case 'bypass':
      return at === 'default' ? ALLOW_ANONYMOUS_DEFAULT : { kind: 'allow', rule: at, anonymous: true };
    case 'deny':
      return forbid(at, FORBID_REASONS.denied);
    case 'authenticated':
    case 'two_factor': {
      if (subject === undefined) return at === 'default' ? LOGIN_DEFAULT : { kind: 'login', rule: at };
      if (rule?.subjects !== undefined && !subjectMatches(rule.subjects, subject)) return forbid(at, FORBID_REASONS.notInSubjects);
      if (subject.role === VIEWER_ROLE && !SAFE_METHODS.has(method) && rule?.viewerWrite !== true) {
        return forbid(at, FORBID_REASONS.viewerWrite);
      }
      if (policy === 'two_factor' && subject.twoFactor !== true) return { kind: 'step-up', rule: at };
      return { kind: 'allow', rule: at, anonymous: false };
    }
  }
}

function forbid(rule: number | 'default', reason: string): Decision {
  return { kind: 'forbid', rule, reason };
}
