/**
 * Reading a YAML file so that every later complaint can name its line and column: parse errors from
 * the yaml package come with positions, and schema errors are mapped back to the node at their path.
 */
import { readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isSeq, type Document, type Node } from 'yaml';
import { ConfigError, type ConfigProblem } from '../errors/config-error';

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
  if (doc.errors.length > 0) {
    const problems: ConfigProblem[] = doc.errors.map((e) => {
      const pos = lineCounter.linePos(e.pos[0]);
      return { file, line: pos.line, column: pos.col, reason: firstLine(e.message) };
    });
    throw new ConfigError(problems, { cause: doc.errors[0] });
  }
  const locate = (path: readonly PropertyKey[], options?: { key?: boolean }): { line: number; column: number } => {
    const node = (options?.key ? keyNode(doc, path) : undefined) ?? nearestNode(doc, path);
    const offset = node?.range?.[0] ?? 0;
    const pos = lineCounter.linePos(offset);
    return { line: pos.line, column: pos.col };
  };
  return { file, value: doc.toJS({ maxAliasCount: 100 }) as unknown, locate };
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
