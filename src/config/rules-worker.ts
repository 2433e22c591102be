/**
 * The rules worker: one thread per reload (started by rules-off-thread.ts) that reads a rules file (bounded by
 * rules.maxFileBytes), hashes it, and unless the hash is a known one parses and compiles it, so that the
 * daemon's event loop keeps answering calls and /healthz meanwhile. It answers once, in the compact form of
 * rules-transfer.ts, and ends. A thread per reload: its memory (a big file's parse takes hundreds of MB) goes
 * with it.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { RuleSet } from '../domain/rule-set';
import { ConfigError, type ConfigProblem } from '../errors/config-error';
import { contentHash } from './file-reloader';
import {
  compileContactsRulesText,
  compileManagedRulesText,
  compileRulesText,
  isFileNotFound,
  readRulesText,
} from './rules-file';
import { encodeRules, type RulesCompileReply, type RulesCompileRequest } from './rules-transfer';

/** What one look at a rules file found; the worker sends `set` encoded (rules-transfer.ts). */
export type RulesFileLook =
  | { kind: 'known'; hash: string }
  | { kind: 'compiled'; hash: string; set: RuleSet }
  | { kind: 'problems'; hash: string; problems: ConfigProblem[] }
  | { kind: 'unreadable'; key: string; problems: ConfigProblem[]; judged: boolean }
  | { kind: 'missing' };

/** Read, hash and compile as the request says; every outcome is a look (an unexpected error is thrown). */
export function lookAtRulesFile(request: RulesCompileRequest): RulesFileLook {
  const { file, displayName, kind, defaultRegion, limits } = request;
  let text: string;
  try {
    text = readRulesText(file, displayName, limits);
  } catch (e) {
    if (isFileNotFound(e)) return { kind: 'missing' };
    if (!(e instanceof ConfigError)) throw e;
    // over a limit (no system error behind it): the file as it is has been judged; else read it again later
    const judged = e.cause === undefined;
    return { kind: 'unreadable', key: `unreadable:${e.message}`, problems: [...e.problems], judged };
  }
  const hash = contentHash(text);
  if (request.known.includes(hash)) return { kind: 'known', hash };
  try {
    const set =
      kind === 'managed'
        ? compileManagedRulesText(text, displayName, defaultRegion, limits)
        : kind === 'contacts'
          ? compileContactsRulesText(text, displayName, defaultRegion, limits)
          : compileRulesText(text, displayName, defaultRegion, limits);
    return { kind: 'compiled', hash, set };
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    return { kind: 'problems', hash, problems: [...e.problems] };
  }
}

function reply(look: RulesFileLook): RulesCompileReply {
  if (look.kind !== 'compiled') return look;
  return { kind: 'compiled', hash: look.hash, count: look.set.rules.length, rules: encodeRules(look.set.rules) };
}

if (parentPort && (workerData as { rulesCompile?: RulesCompileRequest } | undefined)?.rulesCompile) {
  const port = parentPort;
  port.postMessage({ kind: 'ready' } satisfies RulesCompileReply);
  const answer = reply(lookAtRulesFile((workerData as { rulesCompile: RulesCompileRequest }).rulesCompile));
  port.postMessage(answer, answer.kind === 'compiled' ? [answer.rules.buffer] : []);
}
