/**
 * Compiled access rules: the shapes decide() walks, and the small matchers they are built from.
 * Everything here is built once by compileAccess() (schema.ts) and frozen; nothing parses
 * configuration text on the request path.
 */

import type { IpRange } from '../net/cidr.js';
import type { PathMatcher } from './glob.js';
import { canonicaliseHost, canonicaliseHostName } from './target.js';

export type Policy = 'bypass' | 'authenticated' | 'two_factor' | 'deny';

export const POLICIES: readonly Policy[] = ['bypass', 'authenticated', 'two_factor', 'deny'];

/** Policies that admit a signed-in subject, and so may say who (`subjects`, `viewer_write`). */
export function admitsSubjects(policy: Policy): boolean {
  return policy === 'authenticated' || policy === 'two_factor';
}

/** Methods a `viewer` may use wherever it is allowed, unless the rule says `viewer_write: true`. */
export const SAFE_METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS']);

export const VIEWER_ROLE = 'viewer';

// ----------------------------------------------------------------------------------------- hosts

export interface HostMatcher {
  /** Canonical exact host names. */
  readonly exact: ReadonlySet<string>;
  /** `.example.com` for `*.example.com`: any depth of subdomain, never the bare domain. */
  readonly suffixes: readonly string[];
}

export function hostMatches(matcher: HostMatcher, host: string): boolean {
  if (matcher.exact.has(host)) return true;
  for (const suffix of matcher.suffixes) {
    if (host.length > suffix.length && host.endsWith(suffix)) return true;
  }
  return false;
}

/** A rule's `hosts`: exact names and `*.domain` patterns, canonical; ports and other wildcards refused. */
export function compileHosts(texts: readonly string[], onBad: (index: number, message: string) => void): HostMatcher {
  const exact = new Set<string>();
  const suffixes: string[] = [];
  texts.forEach((text, i) => {
    const wildcard = text.startsWith('*.');
    const name = wildcard ? text.slice(2) : text;
    if (name.includes('*')) {
      onBad(i, `is not a valid host pattern: '${text}' (use an exact name or '*.domain')`);
      return;
    }
    const bracketed = !wildcard && name.startsWith('[') && name.endsWith(']');
    if (!bracketed && /:[0-9]*$/.test(name)) {
      onBad(i, `must not include a port: '${text}' (rules match host names only)`);
      return;
    }
    // `[v6]` goes through the Host parser, which also brackets and compresses it.
    const canonical = bracketed ? canonicaliseHost(name) : canonicaliseHostName(name);
    if (!canonical.ok) {
      onBad(i, `is not a valid host name: '${text}'`);
      return;
    }
    if (wildcard) suffixes.push('.' + canonical.value);
    else exact.add(canonical.value);
  });
  return { exact, suffixes };
}

/**
 * The rules a host can match, found without walking the whole list: built once from the compiled
 * rules, so that verify's cost does not grow with rules written for other hosts.
 *
 * Every list holds, in rule order, exactly the rules whose `hosts` criterion matches the hosts it
 * serves (by hostMatches()), together with every rule that has no `hosts` criterion. First match
 * wins over the list as it did over all rules: the rules left out could never have matched.
 */
export interface HostIndex {
  /** Per exact host name of any rule: that host's rules, its wildcards' rules and the any-host rules. */
  readonly exact: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Per wildcard suffix (`.example.com`): its rules, those of every shorter wildcard it ends with, and the any-host rules. */
  readonly suffixes: ReadonlyMap<string, readonly CompiledRule[]>;
  /** Rules without a `hosts` criterion: all a host named by no rule can match. */
  readonly anyHost: readonly CompiledRule[];
}

export function buildHostIndex(rules: readonly CompiledRule[]): HostIndex {
  const anyHost = rules.filter((rule) => rule.hosts === undefined);
  const byExact = new Map<string, CompiledRule[]>();
  const bySuffix = new Map<string, CompiledRule[]>();
  const add = (map: Map<string, CompiledRule[]>, key: string, rule: CompiledRule): void => {
    const bucket = map.get(key);
    if (bucket === undefined) map.set(key, [rule]);
    else if (bucket.at(-1) !== rule) bucket.push(rule);
  };
  for (const rule of rules) {
    for (const host of rule.hosts?.exact ?? []) add(byExact, host, rule);
    for (const suffix of rule.hosts?.suffixes ?? []) add(bySuffix, suffix, rule);
  }
  // The wildcard buckets whose suffix `name` ends with, `name` itself included when `withSelf`.
  const wildcardsOf = (name: string, withSelf: boolean): CompiledRule[][] => {
    const found: CompiledRule[][] = [];
    for (let i = withSelf ? 0 : 1; i < name.length; i++) {
      if (name.charCodeAt(i) !== DOT) continue;
      const bucket = bySuffix.get(name.slice(i));
      if (bucket !== undefined) found.push(bucket);
    }
    return found;
  };
  const exact = new Map<string, readonly CompiledRule[]>();
  for (const [host, bucket] of byExact) exact.set(host, inRuleOrder([bucket, ...wildcardsOf(host, false), anyHost]));
  const suffixes = new Map<string, readonly CompiledRule[]>();
  for (const suffix of bySuffix.keys()) suffixes.set(suffix, inRuleOrder([...wildcardsOf(suffix, true), anyHost]));
  return { exact, suffixes, anyHost: Object.freeze(anyHost) };
}

/** The rules `host` can match, in rule order (see HostIndex). */
export function rulesForHost(index: HostIndex, host: string): readonly CompiledRule[] {
  const exact = index.exact.get(host);
  if (exact !== undefined) return exact;
  // The longest wildcard suffix of the host carries every shorter one it ends with. Only from the
  // second character: `*.example.com` never matches `example.com` itself.
  if (index.suffixes.size > 0) {
    for (let i = host.indexOf('.', 1); i !== -1; i = host.indexOf('.', i + 1)) {
      const rules = index.suffixes.get(host.slice(i));
      if (rules !== undefined) return rules;
    }
  }
  return index.anyHost;
}

const DOT = 0x2e;

/** The union of rule lists, each rule once, by position in `access.rules`. */
function inRuleOrder(lists: readonly (readonly CompiledRule[])[]): readonly CompiledRule[] {
  const all = new Set<CompiledRule>();
  for (const list of lists) for (const rule of list) all.add(rule);
  return Object.freeze([...all].sort((a, b) => a.index - b.index));
}

// -------------------------------------------------------------------------------------- subjects

export interface SubjectMatcher {
  readonly users: ReadonlySet<string>;
  readonly roles: ReadonlySet<string>;
  readonly groups: ReadonlySet<string>;
}

const SUBJECT = /^(user|group|role):(.+)$/;

/** Whether `text` is written as a subject: `user:NAME`, `group:NAME` or `role:NAME`. */
export function isSubjectText(text: string): boolean {
  return SUBJECT.test(text);
}

/** How a subject is written, in a config problem: `<key> must be user:NAME, ...`. */
export const SUBJECT_SYNTAX = 'must be user:NAME, group:NAME or role:NAME';

/**
 * The matcher for subjects written `user:NAME`, `group:NAME` or `role:NAME` (access rules'
 * `subjects`, `admin.subjects`); `onBad` hears of every text of another form, which matches nobody.
 */
export function compileSubjects(texts: readonly string[], onBad: (index: number, text: string) => void = () => undefined): SubjectMatcher {
  const users = new Set<string>();
  const roles = new Set<string>();
  const groups = new Set<string>();
  texts.forEach((text, i) => {
    const m = SUBJECT.exec(text);
    if (!m) return onBad(i, text);
    const name = m[2] as string;
    // Usernames are stored NFKC + lower-case (see auth/user.ts); roles and groups are exact.
    if (m[1] === 'user') users.add(name.normalize('NFKC').toLowerCase());
    else if (m[1] === 'role') roles.add(name);
    else groups.add(name);
  });
  return { users, roles, groups };
}

/** Whether someone with this username, role and groups is one of the subjects the matcher names. */
export function subjectMatches(subjects: SubjectMatcher, subject: { readonly user: string; readonly role: string; readonly groups: readonly string[] }): boolean {
  if (subjects.users.has(subject.user) || subjects.roles.has(subject.role)) return true;
  for (const group of subject.groups) if (subjects.groups.has(group)) return true;
  return false;
}

// ----------------------------------------------------------------------------------------- rules

export interface CompiledRule {
  /** Position in `access.rules`, for logs and `explain`. */
  readonly index: number;
  readonly policy: Policy;
  /** Undefined criterion = matches anything. */
  readonly hosts: HostMatcher | undefined;
  readonly paths: readonly PathMatcher[] | undefined;
  readonly methods: ReadonlySet<string> | undefined;
  readonly networks: readonly IpRange[] | undefined;
  /** Only on `authenticated` and `two_factor` rules: who may pass once signed in. */
  readonly subjects: SubjectMatcher | undefined;
  readonly viewerWrite: boolean;
  /** One-line rendering, e.g. `rules[3]: hosts=[nvr.example.com] subjects=[role:admin] policy=authenticated`. */
  readonly text: string;
}

export interface CompiledAccess {
  /** Rules in order; the first whose criteria all match decides. */
  readonly rules: readonly CompiledRule[];
  /** The same rules by the hosts they can match: decide() walks only `rulesForHost()` of the target's host. */
  readonly hostIndex: HostIndex;
  /** Policy for targets no rule matches, applied only to hosts within `protectedDomain`. */
  readonly defaultPolicy: Policy;
  /** Canonical protected domain; a host outside it that no rule matches is forbidden. */
  readonly protectedDomain: string;
  /** Whether the `access` section was present in the configuration. */
  readonly configured: boolean;
  /**
   * Every configuration problem, with dotted paths. When non-empty the configuration must not be
   * used; decide() refuses everything rather than guess.
   */
  readonly problems: readonly string[];
  /** Rules that can never match because an earlier rule matches everything they would. */
  readonly shadowWarnings: readonly string[];
}

export interface RuleSource {
  hosts?: readonly string[] | undefined;
  paths?: readonly string[] | undefined;
  methods?: readonly string[] | undefined;
  networks?: readonly string[] | undefined;
  subjects?: readonly string[] | undefined;
  policy: Policy;
  viewer_write?: boolean | undefined;
}

/** `rules[3]: hosts=[nvr.example.com] methods=[GET] subjects=[role:admin,role:viewer] policy=authenticated` */
export function renderRule(index: number, rule: RuleSource): string {
  const parts = [`rules[${index}]:`];
  const list = (name: string, values: readonly string[] | undefined): void => {
    if (values !== undefined) parts.push(`${name}=[${values.join(',')}]`);
  };
  list('hosts', rule.hosts);
  list('paths', rule.paths);
  list('methods', rule.methods);
  list('networks', rule.networks);
  list('subjects', rule.subjects);
  if (rule.viewer_write === true) parts.push('viewer_write=true');
  parts.push(`policy=${rule.policy}`);
  return parts.join(' ');
}
