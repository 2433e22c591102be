/**
 * Reading a YAML file so that every later complaint can name its line and column: parse errors from
 * the yaml package come with positions, and schema errors are mapped back to the node at their path.
 *
 * Aliases are checked here, before the value is built, so that their problems have a position too: an
 * alias without an anchor before it, an alias inside the node it names (a loop), and aliases that
 * repeat more than MAX_ALIAS_EXPANSION nodes in all (a "billion laughs" bomb: a few lines of nested
 * aliases that expand to billions of entries).
 */
import { readFileSync } from 'node:fs';
import {
  isAlias,
  isCollection,
  isMap,
  isPair,
  isSeq,
  LineCounter,
  parseDocument,
  visit,
  type Alias,
  type Document,
  type Node,
} from 'yaml';
import { ConfigError } from '../errors/config-error';
import { ProblemList } from './problem-list';

/**
 * Aliases may repeat at most this many nodes in all (a rule repeated through an alias counts each of
 * its keys and values). Ordinary use (one list of DIDs shared by a few dozen rules) stays far below.
 */
export const MAX_ALIAS_EXPANSION = 10_000;

export interface LocatedYaml {
  file: string;
  value: unknown;
  /** line and column of the node at a path (or of its nearest existing parent); of the key itself with `key` */
  locate(path: readonly PropertyKey[], options?: { key?: boolean }): { line: number; column: number };
}

export function readYamlFile(file: string, displayName = file): LocatedYaml {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    const why = err.code === 'ENOENT' ? 'file not found' : err.code === 'EACCES' ? 'permission denied' : err.message;
    throw new ConfigError([{ file: displayName, line: 0, column: 0, reason: why }], { cause: e });
  }
  return parseYamlText(text, displayName);
}

export function parseYamlText(text: string, file: string): LocatedYaml {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true, strict: true });
  const at = (offset: number): { line: number; column: number } => {
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  const problems = new ProblemList(file);
  for (const e of doc.errors) problems.add({ file, ...at(e.pos[0]), reason: firstLine(e.message) });
  if (problems.count > 0) throw problems.toError({ cause: doc.errors[0] });
  // an alias is written with "*": without one in the text there is nothing to check
  if (text.includes('*'))
    checkAliases(doc, (alias, reason) => problems.add({ file, ...at(alias.range?.[0] ?? 0), reason }));
  if (problems.count > 0) throw problems.toError();
  const locate = (path: readonly PropertyKey[], options?: { key?: boolean }): { line: number; column: number } => {
    const node = (options?.key ? keyNode(doc, path) : undefined) ?? nearestNode(doc, path);
    const offset = node?.range?.[0] ?? 0;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  let value: unknown;
  try {
    // the package's own alias limit, as a second line behind checkAliases
    value = doc.toJS({ maxAliasCount: MAX_ALIAS_EXPANSION }) as unknown;
  } catch (e) {
    const reason = `cannot read the aliases: ${(e as Error).message}`;
    throw new ConfigError([{ file, ...at(firstAliasOffset(doc)), reason }], { cause: e });
  }
  return { file, value, locate };
}

/**
 * Every alias in document order (the order the yaml package resolves them in): its anchor must come
 * before it and must not contain it, and all aliases together may repeat at most MAX_ALIAS_EXPANSION
 * nodes. The first alias past that limit is the one reported (and the check stops there).
 */
function checkAliases(doc: Document, problem: (alias: Alias, reason: string) => void): void {
  const anchors = new Map<string, Node>();
  const targets = new Map<Alias, Node>();
  const sizes = new Map<Node, number>();
  /** nodes an alias at this point repeats: the target's own nodes and, through its aliases, theirs */
  const sizeOf = (node: unknown): number => {
    if (isAlias(node)) {
      const target = targets.get(node);
      return target ? sizeOf(target) : 0;
    }
    if (isPair(node)) return sizeOf(node.key) + sizeOf(node.value);
    if (!isCollection(node)) return 1;
    const known = sizes.get(node);
    if (known !== undefined) return known;
    let size = 1;
    for (const item of node.items as unknown[]) {
      size += sizeOf(item);
      if (size > MAX_ALIAS_EXPANSION) break; // enough to know it is too many
    }
    sizes.set(node, size);
    return size;
  };
  let repeated = 0;
  visit(doc, {
    Node: (_key, node, path) => {
      if (!isAlias(node)) {
        if (node.anchor) anchors.set(node.anchor, node); // a later anchor of the same name wins from here on
        return undefined;
      }
      const target = anchors.get(node.source);
      if (!target) {
        problem(node, `alias *${node.source} has no anchor &${node.source} before it`);
        return undefined;
      }
      if (path.includes(target)) {
        problem(
          node,
          `alias *${node.source} is inside the node it names (&${node.source}): it would repeat itself forever`,
        );
        return undefined;
      }
      targets.set(node, target);
      repeated += sizeOf(target);
      if (repeated <= MAX_ALIAS_EXPANSION) return undefined;
      problem(
        node,
        `aliases repeat more than ${MAX_ALIAS_EXPANSION.toLocaleString('en')} entries and values by here (a YAML alias bomb?); write them out instead`,
      );
      return visit.BREAK;
    },
  });
}

function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias: (_key, node) => {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

function nearestNode(doc: Document, path: readonly PropertyKey[]): Node | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = doc.getIn(path.slice(0, n) as unknown[], true);
    if (node && (isMap(node) || isSeq(node) || typeof node === 'object')) return node as Node;
  }
  return undefined;
}

function keyNode(doc: Document, path: readonly PropertyKey[]): Node | undefined {
  const parent = doc.getIn(path.slice(0, -1) as unknown[], true);
  if (!isMap(parent)) return undefined;
  const last = String(path[path.length - 1]);
  const pair = parent.items.find((p) => (p.key as { value?: unknown } | null)?.value === last);
  return (pair?.key as Node | undefined) ?? undefined;
}

function firstLine(message: string): string {
  // the yaml package appends a context excerpt after a blank line; keep the sentence only
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}
