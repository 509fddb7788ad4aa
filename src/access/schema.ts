/**
 * The `access` section: its schema and its one-time compilation into CompiledAccess.
 *
 * ```yaml
 * access:
 *   default_policy: deny          # bypass | authenticated | two_factor | deny; `deny` when `access` is present
 *   networks:                     # named address lists, usable in rules by name
 *     home: [192.168.1.0/24, 10.8.0.0/24]
 *   rules:                        # first match wins
 *     - hosts: [share.example.com]            # exact, or `*.example.com` (subdomains only)
 *       paths: ["/share/**", "regex:/api/v[0-9]+/.*"]
 *       methods: [GET]
 *       networks: [home, 203.0.113.0/24]
 *       policy: bypass
 *     - hosts: [nvr.example.com]
 *       subjects: ["role:admin", "group:cctv", "user:alice"]   # authenticated and two_factor rules only
 *       viewer_write: true                                      # authenticated and two_factor rules only
 *       policy: two_factor                                      # signed in with a second factor
 * ```
 *
 * Without an `access` section: no rules, and `authenticated` for every host within the protected
 * domain. In every case a host outside the protected domain that no rule matches is forbidden.
 *
 * `accessSectionSchema` checks the shape AND compiles the rules (a refinement), so plugging it into
 * the main config schema reports undefined network names and bad regexes together with every other
 * configuration problem. `compileAccess()` then builds the frozen matcher set used by decide().
 */

import { z } from 'zod';
import { parseCidr, type IpRange } from '../net/cidr.js';
import { deepFreeze } from '../util/deep-freeze.js';
import { compilePathPattern, type PathMatcher } from './glob.js';
import {
  POLICIES,
  SUBJECT_SYNTAX,
  admitsSubjects,
  buildHostIndex,
  compileHosts,
  compileSubjects,
  renderRule,
  type CompiledAccess,
  type CompiledRule,
  type Policy,
  type SubjectMatcher,
} from './rules.js';
import { shadowWarnings } from './shadows.js';
import { canonicaliseHostName, canonicaliseMethod } from './target.js';

export type { CompiledAccess, CompiledRule, Policy } from './rules.js';

const show = (value: unknown): string => {
  if (typeof value === 'string') return `'${value}'`;
  if (value === undefined) return 'nothing';
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return String(value);
  }
};

const policySchema = z.enum(POLICIES as [Policy, ...Policy[]], {
  error: (issue) => `must be one of ${POLICIES.join(', ')}, but it's configured as ${show(issue.input)}`,
});

const listOf = (what: string) =>
  z
    .array(z.string({ error: (issue) => `must be a string, but it's configured as ${show(issue.input)}` }).min(1, { error: 'must not be empty' }), {
      error: (issue) => `must be a list of ${what}, but it's configured as ${show(issue.input)}`,
    })
    .min(1, { error: `must list at least one value (leave the key out to match any)` });

/** One rule. Unknown keys are refused: a misspelt `path:` must not silently widen a rule. */
export const accessRuleSchema = z.strictObject(
  {
    hosts: listOf('host names').optional(),
    paths: listOf('path patterns').optional(),
    methods: listOf('HTTP methods').optional(),
    networks: listOf('networks (CIDRs, addresses or names from access.networks)').optional(),
    subjects: listOf('subjects (user:NAME, group:NAME, role:NAME)').optional(),
    policy: policySchema,
    viewer_write: z.boolean({ error: (issue) => `must be true or false, but it's configured as ${show(issue.input)}` }).optional(),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : `must be a rule (a mapping), but it's configured as ${show(issue.input)}`) },
);

const sectionShape = z.strictObject(
  {
    /** Policy for targets no rule matches (within the protected domain). */
    default_policy: policySchema.default('deny'),
    /** Named lists of CIDRs or addresses. */
    networks: z
      .record(z.string(), listOf('CIDRs or addresses'), {
        error: (issue) => `must be a mapping of names to address lists, but it's configured as ${show(issue.input)}`,
      })
      .default({}),
    /** First match wins. */
    rules: z.array(accessRuleSchema, { error: (issue) => `must be a list of rules, but it's configured as ${show(issue.input)}` }).default([]),
  },
  { error: (issue) => (issue.code === 'unrecognized_keys' ? undefined : `must be a mapping, but it's configured as ${show(issue.input)}`) },
);

export type AccessSection = z.output<typeof sectionShape>;
export type AccessRuleConfig = z.output<typeof accessRuleSchema>;

type PathKey = readonly (string | number)[];
type Report = (path: PathKey, message: string) => void;

/** The zod schema for `access` (the main config marks it optional; absent means the defaults above). */
export const accessSectionSchema = sectionShape.superRefine((section, ctx) => {
  compileRules(section, (path, message) => ctx.addIssue({ code: 'custom', path: [...path], message }));
});

// -------------------------------------------------------------------------------------- compile

const NETWORK_NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;

interface CompiledRules {
  rules: CompiledRule[];
  shadowWarnings: string[];
}

function compileRules(section: AccessSection, report: Report): CompiledRules {
  // Named networks first, so rules can refer to them.
  const networks = compileNamedNetworks(section.networks, report);

  const rules: CompiledRule[] = [];
  section.rules.forEach((rule, index) => {
    const at = (...rest: (string | number)[]): PathKey => ['rules', index, ...rest];
    const hosts = rule.hosts && compileHosts(rule.hosts, (i, message) => report(at('hosts', i), message));

    let paths: PathMatcher[] | undefined;
    if (rule.paths) {
      paths = [];
      for (const [i, text] of rule.paths.entries()) {
        const compiled = compilePathPattern(text);
        if (compiled.ok) paths.push(compiled.matcher);
        else report(at('paths', i), compiled.problem);
      }
    }

    let methods: Set<string> | undefined;
    if (rule.methods) {
      methods = new Set();
      for (const [i, text] of rule.methods.entries()) {
        const m = canonicaliseMethod(text);
        if (m.ok) methods.add(m.value);
        else report(at('methods', i), `is not a valid HTTP method: ${show(text)}`);
      }
    }

    const ranges = rule.networks && compileNetworks(rule.networks, networks, (i, message) => report(at('networks', i), message));

    let subjects: SubjectMatcher | undefined;
    if (rule.subjects) {
      if (!admitsSubjects(rule.policy)) {
        report(at('subjects'), `is only allowed on authenticated and two_factor rules, but this rule's policy is ${rule.policy}`);
      } else {
        subjects = compileSubjects(rule.subjects, (i, text) => report(at('subjects', i), `${SUBJECT_SYNTAX}, but it's configured as '${text}'`));
      }
    }

    if (rule.viewer_write !== undefined && !admitsSubjects(rule.policy)) {
      report(at('viewer_write'), `is only allowed on authenticated and two_factor rules, but this rule's policy is ${rule.policy}`);
    }

    rules.push(
      Object.freeze({
        index,
        policy: rule.policy,
        hosts,
        paths,
        methods,
        networks: ranges,
        subjects,
        viewerWrite: rule.viewer_write === true,
        text: renderRule(index, rule),
      }),
    );
  });

  return { rules, shadowWarnings: shadowWarnings(rules) };
}

/** `access.networks`: each valid name with its ranges (a bad entry is reported and left out). */
function compileNamedNetworks(named: AccessSection['networks'], report: Report): Map<string, IpRange[]> {
  const networks = new Map<string, IpRange[]>();
  for (const [name, list] of Object.entries(named)) {
    if (!NETWORK_NAME.test(name)) {
      report(['networks', name], `is not a valid network name (letters, digits, '_' and '-', starting with a letter)`);
      continue;
    }
    const ranges: IpRange[] = [];
    list.forEach((text, i) => {
      const parsed = parseCidr(text);
      if (parsed.ok) ranges.push(...parsed.ranges);
      else report(['networks', name, i], parsed.problem);
    });
    networks.set(name, ranges);
  }
  return networks;
}

/** A rule's `networks`: names from access.networks, CIDRs and addresses, as one list of ranges. */
function compileNetworks(texts: readonly string[], named: ReadonlyMap<string, IpRange[]>, onBad: (index: number, message: string) => void): IpRange[] {
  const ranges: IpRange[] = [];
  for (const [i, text] of texts.entries()) {
    const known = named.get(text);
    if (known) {
      ranges.push(...known);
      continue;
    }
    if (NETWORK_NAME.test(text) && !text.includes(':')) {
      onBad(i, `names network '${text}', which is not defined under access.networks`);
      continue;
    }
    const parsed = parseCidr(text);
    if (parsed.ok) ranges.push(...parsed.ranges);
    else onBad(i, parsed.problem);
  }
  return ranges;
}

// ------------------------------------------------------------------------------------ public API

/**
 * Validate and compile the raw `access` section (`undefined` when absent) once at start-up.
 * `protectedDomain` is the session/cookie domain (`example.com` or `.example.com`).
 * Problems come back in `problems` as `access.rules[2].networks[0] names network 'hom', …`;
 * the caller refuses to start when there are any.
 */
export function compileAccess(raw: unknown, protectedDomain: string): CompiledAccess {
  const problems: string[] = [];
  const domain = canonicaliseHostName(protectedDomain.startsWith('.') ? protectedDomain.slice(1) : protectedDomain);
  if (!domain.ok) problems.push(`the protected domain ${show(protectedDomain)} is not a valid host name`);
  const protectedName = domain.ok ? domain.value : '';

  if (raw === undefined) {
    return deepFreeze({
      rules: [],
      hostIndex: buildHostIndex([]),
      defaultPolicy: 'authenticated',
      protectedDomain: protectedName,
      configured: false,
      problems,
      shadowWarnings: [],
    });
  }

  const parsed = sectionShape.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) problems.push(...formatIssue(issue));
    return deepFreeze({ rules: [], hostIndex: buildHostIndex([]), defaultPolicy: 'deny', protectedDomain: protectedName, configured: true, problems, shadowWarnings: [] });
  }
  const { rules, shadowWarnings } = compileRules(parsed.data, (path, message) => problems.push(`${dotted(path)} ${message}`));
  return deepFreeze({
    rules,
    hostIndex: buildHostIndex(rules),
    defaultPolicy: parsed.data.default_policy,
    protectedDomain: protectedName,
    configured: true,
    problems,
    shadowWarnings,
  });
}

/** `['rules', 2, 'networks', 0]` → `access.rules[2].networks[0]`. */
export function dotted(path: PathKey): string {
  let out = 'access';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(key)}]`;
  }
  return out;
}

function formatIssue(issue: z.core.$ZodIssue): string[] {
  const path = issue.path.filter((k): k is string | number => typeof k !== 'symbol');
  if (issue.code === 'unrecognized_keys') return issue.keys.map((key) => `${dotted([...path, key])} is not a known key`);
  return [`${dotted(path)} ${issue.message}`];
}
