/**
 * A small Dockerfile reader for the deploy tests: enough of the format to check what the runtime
 * stage does and to perform it. Not a general parser: no escape directive, no heredocs, no ARG
 * expansion (the tests fail on an ARG, so a new one cannot be silently ignored).
 */

export interface Instruction {
  /** Upper-cased: FROM, RUN, COPY, ... */
  readonly keyword: string;
  /** `--name=value` options written before the arguments (`COPY --from=build`, `RUN --mount=...`). */
  readonly flags: Readonly<Record<string, string>>;
  /** The arguments after the flags, continuation lines joined. */
  readonly args: string;
  /** Line of the keyword, 1-based. */
  readonly line: number;
}

export interface Stage {
  readonly image: string;
  readonly name: string | undefined;
  readonly instructions: readonly Instruction[];
}

export interface Dockerfile {
  /** Instructions before the first FROM (ARG only, in a valid file). */
  readonly preamble: readonly Instruction[];
  readonly stages: readonly Stage[];
}

/** Splits `text` into instructions and groups them by FROM. */
export function parseDockerfile(text: string): Dockerfile {
  const instructions = logicalLines(text).map(({ text: lineText, line }) => {
    const match = /^(\S+)\s*(.*)$/s.exec(lineText);
    if (!match) throw new Error(`line ${line}: cannot read '${lineText}'`);
    const keyword = match[1]!.toUpperCase();
    const { flags, rest } = takeFlags(match[2]!);
    return { keyword, flags, args: rest, line };
  });
  const preamble: Instruction[] = [];
  const stages: { image: string; name: string | undefined; instructions: Instruction[] }[] = [];
  for (const instruction of instructions) {
    if (instruction.keyword === 'FROM') {
      const from = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(instruction.args);
      if (!from) throw new Error(`line ${instruction.line}: cannot read FROM ${instruction.args}`);
      stages.push({ image: from[1]!, name: from[2], instructions: [] });
    } else if (stages.length === 0) {
      preamble.push(instruction);
    } else {
      stages.at(-1)!.instructions.push(instruction);
    }
  }
  return { preamble, stages };
}

/** Logical lines: comments and blank lines dropped, `\` continuations joined (comment lines inside a continuation are skipped, as Docker does). */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let current: { text: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const continued = /\\\s*$/.test(raw);
    const body = continued ? raw.replace(/\\\s*$/, '') : raw;
    if (current === undefined) current = { text: body.trim(), line: index + 1 };
    else current.text += ' ' + body.trim();
    if (!continued) {
      out.push(current);
      current = undefined;
    }
  });
  if (current !== undefined) out.push(current);
  return out;
}

function takeFlags(args: string): { flags: Record<string, string>; rest: string } {
  const flags: Record<string, string> = {};
  let rest = args.trim();
  for (;;) {
    const flag = /^--([a-z-]+)(?:=(\S*))?\s*/i.exec(rest);
    if (!flag) return { flags, rest };
    flags[flag[1]!] = flag[2] ?? 'true';
    rest = rest.slice(flag[0].length);
  }
}

/** A command in exec form (`["node", "x"]`) as its argv; shell form as `/bin/sh -c <text>`, as Docker runs it. */
export function commandArgv(args: string): string[] {
  const exec = execForm(args);
  return exec ?? ['/bin/sh', '-c', args];
}

/** The JSON array of an exec-form argument, or undefined for shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.startsWith('[')) return undefined;
  try {
    const parsed: unknown = JSON.parse(args);
    if (Array.isArray(parsed) && parsed.every((item) => typeof item === 'string')) return parsed as string[];
  } catch {
    // Docker treats an invalid JSON array as shell form.
  }
  return undefined;
}

/** `KEY=value KEY2="quoted value"`, or the legacy `KEY value` form. */
export function parseEnv(args: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!/^[^\s=]+=/.test(args)) {
    const legacy = /^(\S+)\s+(.*)$/s.exec(args);
    if (!legacy) throw new Error(`cannot read ENV ${args}`);
    out[legacy[1]!] = legacy[2]!;
    return out;
  }
  for (const word of shellWords(args)) {
    const eq = word.indexOf('=');
    if (eq <= 0) throw new Error(`cannot read ENV ${args}`);
    out[word.slice(0, eq)] = word.slice(eq + 1);
  }
  return out;
}

/** COPY/ADD arguments: sources and destination, from JSON or whitespace form. */
export function copyArgs(args: string): { sources: string[]; dest: string } {
  const words = execForm(args) ?? shellWords(args);
  if (words.length < 2) throw new Error(`COPY needs a source and a destination: ${args}`);
  return { sources: words.slice(0, -1), dest: words.at(-1)! };
}

/** VOLUME and EXPOSE arguments: JSON array or whitespace-separated. */
export function listArgs(args: string): string[] {
  return execForm(args) ?? shellWords(args);
}

/** `HEALTHCHECK [--opt=v] CMD ...`: its options and the command's argv (undefined for `NONE`). */
export function healthcheck(instruction: Instruction): { options: Readonly<Record<string, string>>; argv: string[] | undefined } {
  if (/^NONE$/i.test(instruction.args)) return { options: instruction.flags, argv: undefined };
  const cmd = /^CMD\s+(.*)$/is.exec(instruction.args);
  if (!cmd) throw new Error(`line ${instruction.line}: HEALTHCHECK needs CMD or NONE`);
  return { options: instruction.flags, argv: commandArgv(cmd[1]!) };
}

/** Whitespace-separated words; double or single quotes group, and are removed. */
function shellWords(text: string): string[] {
  const words: string[] = [];
  for (const match of text.matchAll(/"((?:[^"\\]|\\.)*)"|'([^']*)'|([^\s"']+)/g)) {
    // A word like KEY="a b" arrives in two pieces; glue a quoted piece to the word it touches.
    const piece = match[1] !== undefined ? match[1].replace(/\\(.)/g, '$1') : (match[2] ?? match[3]!);
    const touchesPrevious = match.index > 0 && !/\s/.test(text[match.index - 1]!);
    if (touchesPrevious && words.length > 0) words[words.length - 1] += piece;
    else words.push(piece);
  }
  return words;
}
