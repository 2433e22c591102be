/**
 * Regular expressions in rules, refused at load when they could make matching slow. JavaScript's
 * regex engine backtracks, so a pattern like `(\d+)+` takes exponential time on an input that almost
 * matches. The guard is a conservative, documented heuristic rather than a proof; it refuses:
 *
 *   1. patterns longer than MAX_REGEX_LENGTH characters;
 *   2. patterns that do not compile (no flags: the `u` flag is off, no `g`, so `test` keeps no state);
 *   3. backreferences (`\1`, `\k<name>`) and lookahead/lookbehind (`(?=`, `(?!`, `(?<=`, `(?<!`);
 *   4. nested quantifiers: any quantifier (`*`, `+`, `?`, `{n,m}`) applied to a group that itself
 *      contains a quantifier or an alternation `|` (`(\d+)+`, `(a|aa)*`, `(\d{3})?`);
 *   5. too many ways to try one input: the product, along the pattern, of each repetition's choices
 *      (how many lengths it can take on a 16-character input) and each group's alternatives may not
 *      exceed MAX_REGEX_PATHS. This catches `\d*\d*\d*\d*x`, which has no nesting but is polynomial
 *      of high degree.
 *
 * Callers are E.164 strings of at most 16 characters (RuleSet.match refuses anything else), which
 * bounds what is left. Pure: no I/O.
 */

export const MAX_REGEX_LENGTH = 256;
/** Upper bound on backtracking paths per start position (see rule 5). */
export const MAX_REGEX_PATHS = 10_000;
/** The longest input a rule regex is ever run on: "+" and 15 digits. */
const MAX_INPUT_LENGTH = 16;

export function compileGuardedRegex(source: string): { regex: RegExp } | { reason: string } {
  if (source.length > MAX_REGEX_LENGTH)
    return { reason: `regex is ${source.length} characters long; at most ${MAX_REGEX_LENGTH} are allowed` };
  let regex: RegExp;
  try {
    regex = new RegExp(source);
  } catch (e) {
    return { reason: `regex does not compile: ${(e as Error).message}` };
  }
  // the scanner below relies on the syntax being valid, so it runs after the compile
  let tree: Alternatives;
  try {
    tree = new RegexScanner(source).scan();
  } catch (e) {
    if (e instanceof UnsafeRegex) return { reason: e.message };
    throw e;
  }
  const nested = findNestedQuantifier(tree, source);
  if (nested) return { reason: nested };
  const paths = countPaths(tree);
  if (paths > MAX_REGEX_PATHS) {
    return {
      reason: `regex has too many optional or repeated parts (about ${formatCount(paths)} ways to try one number, at most ${MAX_REGEX_PATHS.toLocaleString('en')}): it could make matching slow; simplify it`,
    };
  }
  return { regex };
}

/** A parsed pattern: alternatives of sequences of terms; only what the checks need is kept. */
type Alternatives = Term[][];
interface Term {
  /** a group's alternatives; undefined for a single character, class, escape or assertion */
  group?: Alternatives;
  /** where the term starts and ends in the source, for messages */
  start: number;
  end: number;
  quantifier?: { min: number; max: number };
}

class UnsafeRegex extends Error {}

/** A small recursive-descent scanner over a pattern that is known to compile without the `u` flag. */
class RegexScanner {
  private pos = 0;

  constructor(private readonly source: string) {}

  scan(): Alternatives {
    return this.alternatives(false);
  }

  private alternatives(inGroup: boolean): Alternatives {
    const result: Alternatives = [[]];
    while (this.pos < this.source.length) {
      const c = this.source[this.pos];
      if (c === ')' && inGroup) {
        this.pos++;
        return result;
      }
      if (c === '|') {
        this.pos++;
        result.push([]);
        continue;
      }
      const current = result[result.length - 1] as Term[];
      const quantifier = this.quantifier();
      if (quantifier) {
        const last = current[current.length - 1];
        if (last) {
          last.quantifier = quantifier;
          last.end = this.pos;
        }
        continue;
      }
      current.push(this.term());
    }
    return result;
  }

  private term(): Term {
    const start = this.pos;
    const c = this.source[this.pos];
    if (c === '(') return { group: this.group(), start, end: this.pos };
    if (c === '[') this.skipClass();
    else if (c === '\\') this.escape();
    else this.pos++;
    return { start, end: this.pos };
  }

  private group(): Alternatives {
    const rest = this.source.slice(this.pos);
    if (/^\(\?<?[=!]/.test(rest))
      throw new UnsafeRegex(
        `regex uses a lookahead or lookbehind (${rest.slice(0, rest.startsWith('(?<') ? 4 : 3)}...): not allowed in rules`,
      );
    const named = /^\(\?<[^>]*>/.exec(rest);
    this.pos += named ? named[0].length : rest.startsWith('(?:') ? 3 : 1;
    return this.alternatives(true);
  }

  private escape(): void {
    const next = this.source[this.pos + 1] ?? '';
    if (/[1-9]/.test(next)) throw new UnsafeRegex(`regex uses a backreference (\\${next}): not allowed in rules`);
    if (next === 'k' && this.source[this.pos + 2] === '<')
      throw new UnsafeRegex('regex uses a backreference (\\k<...>): not allowed in rules');
    this.pos += 2;
  }

  private skipClass(): void {
    // In JavaScript the first ']' closes the class, even right after '[' or '[^' ("[]" matches nothing).
    this.pos++;
    if (this.source[this.pos] === '^') this.pos++;
    while (this.pos < this.source.length && this.source[this.pos] !== ']')
      this.pos += this.source[this.pos] === '\\' ? 2 : 1;
    this.pos++;
  }

  /** A quantifier at the current position (consumed, with a lazy '?'), or undefined. */
  private quantifier(): { min: number; max: number } | undefined {
    const c = this.source[this.pos];
    let q: { min: number; max: number } | undefined;
    if (c === '*') q = { min: 0, max: Infinity };
    else if (c === '+') q = { min: 1, max: Infinity };
    else if (c === '?') q = { min: 0, max: 1 };
    if (q) this.pos++;
    else {
      // without the u flag, a '{' that does not form {n}, {n,} or {n,m} is a literal
      const braces = /^\{(\d+)(,(\d*))?\}/.exec(this.source.slice(this.pos));
      if (!braces) return undefined;
      const min = Number(braces[1]);
      q = { min, max: braces[2] === undefined ? min : braces[3] ? Number(braces[3]) : Infinity };
      this.pos += braces[0].length;
    }
    if (this.source[this.pos] === '?') this.pos++; // lazy: same choices, other order
    return q;
  }
}

function findNestedQuantifier(tree: Alternatives, source: string): string | undefined {
  for (const term of tree.flat()) {
    if (!term.group) continue;
    if (term.quantifier && repeatsOrAlternates(term.group)) {
      const text = source.slice(term.start, term.end);
      return `regex repeats a group that itself repeats or has alternatives (${text}): this can take exponential time (catastrophic backtracking); write it without the nesting`;
    }
    const inner = findNestedQuantifier(term.group, source);
    if (inner) return inner;
  }
  return undefined;
}

function repeatsOrAlternates(group: Alternatives): boolean {
  if (group.length > 1) return true;
  return group
    .flat()
    .some((t) => t.quantifier !== undefined || (t.group !== undefined && repeatsOrAlternates(t.group)));
}

/**
 * An upper bound on the backtracking paths per start position: alternatives add up, a sequence
 * multiplies, a repetition contributes how many lengths it can take on a 16-character input. A
 * quantified group contains no quantifier or alternation here (rule 4), so it counts as one choice.
 */
function countPaths(alternatives: Alternatives): number {
  let total = 0;
  for (const sequence of alternatives) {
    let product = 1;
    for (const term of sequence)
      product *= (term.group && !term.quantifier ? countPaths(term.group) : 1) * repetitionChoices(term.quantifier);
    total += product;
  }
  return total;
}

function repetitionChoices(q: Term['quantifier']): number {
  if (!q) return 1;
  return Math.max(1, Math.min(q.max, MAX_INPUT_LENGTH) - q.min + 1);
}

function formatCount(n: number): string {
  return Number.isFinite(n) && n < 1e12 ? Math.round(n).toLocaleString('en') : 'more than a trillion';
}
