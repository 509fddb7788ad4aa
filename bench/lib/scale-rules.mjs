// P10: verify with 1 000 access rules ÷ with the example's 6. The 1 000: the example's rules last
// (so the rule that lets app.example.com through, `*.example.com`, is the very last one), after
// 994 generated rules: mostly host rules over many subdomains, some with path globs, regexes, methods,
// networks or nested wildcards, and 4 on app.example.com itself that a GET / never matches.
import fs from 'node:fs';
import path from 'node:path';
import { stringify } from 'yaml';
import { comparePosterns } from './sides.mjs';

/** `count` rules: generated ones, then the example's `exampleRules` unchanged. */
export function manyRules(count, exampleRules) {
  const generated = count - exampleRules.length;
  const app = [
    { hosts: ['app.example.com'], paths: ['/admin/**'], policy: 'deny' },
    { hosts: ['app.example.com'], paths: ['regex:^/api/v[0-9]+/export$'], policy: 'deny' },
    { hosts: ['app.example.com'], methods: ['DELETE'], policy: 'deny' },
    { hosts: ['app.example.com'], paths: ['/public/**', '/favicon.ico'], policy: 'bypass' },
  ];
  const rules = [];
  for (let i = 0; rules.length < generated; i++) {
    // The app's own rules spread through the list.
    if (i % 200 === 100 && app.length > 0) {
      rules.push(app.shift());
      continue;
    }
    const host = `svc${i}.example.com`;
    switch (i % 8) {
      case 4:
        rules.push({ hosts: [host], paths: [`/share/${i}/**`, '/api/public/**'], policy: 'bypass' });
        break;
      case 5:
        rules.push({ hosts: [host], methods: ['GET', 'HEAD'], paths: [`regex:^/v[0-9]+/item-${i}/[a-z0-9]+$`], policy: 'bypass' });
        break;
      case 6:
        rules.push({ hosts: [`*.zone${i}.example.com`], subjects: ['group:family'], policy: 'authenticated' });
        break;
      case 7:
        rules.push({ hosts: [host, `alt${i}.example.com`], networks: ['home'], policy: 'bypass' });
        break;
      default:
        rules.push({ hosts: [host], subjects: ['role:admin', `user:owner${i}`], policy: 'authenticated' });
    }
  }
  return [...rules, ...app, ...exampleRules].slice(0, Math.max(count, exampleRules.length));
}

/** The stack's postern.yml with `count` access rules, written beside it; returns its path. */
function writeManyRulesConfig(prepared, count) {
  const config = structuredClone(prepared.config);
  config.access.rules = manyRules(count, prepared.config.access.rules);
  const file = path.join(prepared.dir, `postern-${count}-rules.yml`);
  fs.writeFileSync(file, stringify(config));
  return file;
}

/**
 * P10: two fresh Posterns on the stack's Redis and users, the example's rules vs `count` rules; P2's
 * requests. `cli`: another build's dist/cli/main.js for both (to measure a change before and after).
 */
export async function measureRuleCount({ stack, count, requests, groups, cli, ...run }) {
  const { log } = run;
  const rules = stack.prepared.config.access.rules.length;
  log(`P10: two fresh Posterns, the example's ${rules} access rules vs ${count} (the one that matches app.example.com last)`);
  const other = cli ? { cli } : {};
  const { figure, runs } = await comparePosterns({
    ...run,
    label: 'P10 rules',
    sides: {
      [`${rules} rules`]: { prepared: stack.prepared, options: { label: 'postern-p10-few', ...other } },
      [`${count} rules`]: { prepared: { ...stack.prepared, configFile: writeManyRulesConfig(stack.prepared, count) }, options: { label: 'postern-p10-many', ...other } },
    },
    requests,
    groups,
  });
  return { figure: { ...figure, rules: count, exampleRules: rules }, details: runs };
}
