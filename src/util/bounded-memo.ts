/**
 * Remembers the answers of a pure function of one string, for inputs that repeat on the verify
 * path (the Host a proxy asks about, the peer and forwarding header of a client): a Map lookup
 * instead of parsing again. At most `maxEntries` are kept; when full, all are forgotten at once, so
 * a stream of distinct inputs (an attacker's random Host headers) costs at most one parse each
 * and memory stays bounded. Answers must be immutable: every caller gets the same object.
 */
export function boundedMemo<T>(compute: (input: string) => T, maxEntries = 1024): (input: string) => T {
  if (!Number.isInteger(maxEntries) || maxEntries < 1) throw new RangeError(`maxEntries must be a positive integer, got ${maxEntries}`);
  const answers = new Map<string, T>();
  return (input) => {
    const known = answers.get(input);
    if (known !== undefined) return known;
    const answer = compute(input);
    if (answers.size >= maxEntries) answers.clear();
    answers.set(input, answer);
    return answer;
  };
}
