import { execFileSync } from 'node:child_process';
import path from 'node:path';

/** Which code was measured: the commit, and src/ files that differ from it (other people work in this tree). */
export function codeState() {
  const git = (args) => {
    try {
      return execFileSync('git', args, { cwd: path.join(import.meta.dirname, '..', '..'), encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trimEnd();
    } catch {
      return '';
    }
  };
  const commit = git(['rev-parse', '--short', 'HEAD']) || 'unknown';
  const changed = git(['status', '--porcelain', '--', 'src'])
    .split('\n')
    .filter(Boolean)
    .map((l) => l.slice(3));
  return { commit, srcChanges: changed, describe: `${commit}${changed.length ? ` + uncommitted src/ changes (${changed.join(', ')})` : ''}` };
}

