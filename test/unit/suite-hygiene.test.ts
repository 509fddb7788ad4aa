/**
 * What the suite itself relies on: `npm test` type-checks the tests too, the installer of test
 * binaries never stops a process it did not start, and no file points at a path on one machine.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = resolve(import.meta.dirname, '../..');
const read = (path: string): string => readFileSync(join(ROOT, path), 'utf8');

/** The files under `dir` that are the project's: not what git ignores (bench/results/, test-artifacts/, a profile's absolute paths). */
function filesUnder(dir: string): string[] {
  const ignored = new Set(
    execFileSync('git', ['ls-files', '--others', '--ignored', '--exclude-standard', '--', dir], { cwd: ROOT, encoding: 'utf8' }).split('\n').filter(Boolean),
  );
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && !e.parentPath.includes('node_modules'))
    .map((e) => relative(ROOT, join(e.parentPath, e.name)))
    .filter((file) => !ignored.has(file));
}

describe('npm test', () => {
  it('type-checks the whole project, tests included, before running anything', () => {
    const { scripts } = JSON.parse(read('package.json')) as { scripts: Record<string, string> };
    expect(scripts.pretest).toMatch(/npm run typecheck/);
    expect(scripts.typecheck).toBe('tsc -p tsconfig.json --noEmit');
    const { include } = JSON.parse(read('tsconfig.json')) as { include: string[] };
    expect(include).toEqual(expect.arrayContaining(['src', 'test']));
  });
});

describe('scripts/ensure-test-binaries.mjs', () => {
  const script = read('scripts/ensure-test-binaries.mjs');

  it('stops no process: no pkill, killall or kill', () => {
    expect(script).not.toMatch(/\b(pkill|killall|kill)\b/);
  });

  it('keeps packaged services from starting with a policy-rc.d that exits 101, created only if absent and removed after', () => {
    expect(script).toContain("'/usr/sbin/policy-rc.d'");
    expect(script).toContain('exit 101');
    expect(script).toMatch(/flag: 'wx'/);
    expect(script).toMatch(/finally \{\s*if \(ownPolicy\) rmSync\(POLICY_RC_D/);
  });
});

describe('paths', () => {
  it('no source, test, bench, example, deploy or script file refers to a directory of one machine', () => {
    // A provider named home in a URL path (…/oidc/home/start) is not a directory: only a path that starts there is.
    const machinePath = /(?<![\w}.-])\/(work|root|home)\//;
    const offenders = ['src', 'test', 'bench', 'examples', 'deploy', 'scripts']
      .flatMap(filesUnder)
      .flatMap((file) =>
        read(file)
          .split('\n')
          .flatMap((line, i) => (machinePath.test(line) ? [`${file}:${i + 1}: ${line.trim()}`] : [])),
      );
    expect(offenders).toEqual([]);
  });
});
