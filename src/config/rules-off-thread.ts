/**
 * A rules reload off the event loop: FileReloader's readAndCompile hook for the rules files. A worker thread
 * (rules-worker.ts) reads, hashes, parses and compiles the file; its compiled rules come back as a few JSON
 * strings that are turned into a RuleSet one string per turn of the event loop (rules-transfer.ts). Measured
 * with 100k rules: the loop never stood still for more than a few milliseconds, where compiling in place held
 * it for about 5 s (docs/benchmarks.md).
 *
 * The worker's script is found next to this module: rules-worker.js when running from dist/; when running from
 * the sources (the tests, under jest) only rules-worker.ts is there, and it is compiled as it loads with
 * @swc/core (a development dependency). When no worker can start, the file is compiled here, on the event loop,
 * as before, and a warning says so once.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import type { RuleSet } from '../domain/rule-set';
import { ConfigError } from '../errors/config-error';
import type { ReadAndCompiled } from './file-reloader';
import { decodeRules, type RulesCompileReply, type RulesCompileRequest } from './rules-transfer';
import { lookAtRulesFile, type RulesFileLook } from './rules-worker';

/** Runs a worker script written in TypeScript (the sources, under the tests): compiled as each file loads. */
const SOURCE_BOOTSTRAP = `
const fs = require('node:fs');
const { workerData } = require('node:worker_threads');
const { transformSync } = require(workerData.swcCore);
require.extensions['.ts'] = (module, filename) => {
  const options = { filename, jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } };
  module._compile(transformSync(fs.readFileSync(filename, 'utf8'), options).code, filename);
};
require(workerData.script);
`;

/** A worker for one request, its script in `directory`; throws when none can be made here. */
function startWorker(request: RulesCompileRequest, directory: string): Worker {
  const compiled = path.join(directory, 'rules-worker.js');
  if (existsSync(compiled)) return new Worker(compiled, { workerData: { rulesCompile: request } });
  const source = path.join(directory, 'rules-worker.ts');
  if (!existsSync(source)) throw new Error(`no rules-worker.js in ${directory}`);
  // running from the sources: only with the TypeScript compiler the tests use
  const swcCore = require.resolve('@swc/core');
  return new Worker(SOURCE_BOOTSTRAP, { eval: true, workerData: { rulesCompile: request, script: source, swcCore } });
}

export interface RulesCompilerOptions {
  /** called once, the first time a reload is compiled on the event loop because no worker could start */
  onNoWorker(reason: string): void;
  /** where the worker's script is; default: beside this module */
  workerDirectory?: string;
}

/** Compiles rules files in worker threads, one per reload; close() ends a reload under way. */
export class RulesCompiler {
  private readonly running = new Set<Worker>();
  private noWorker: string | undefined;

  constructor(private readonly options: RulesCompilerOptions) {}

  async readAndCompile(request: RulesCompileRequest): Promise<ReadAndCompiled<RuleSet>> {
    if (this.noWorker === undefined) {
      const reply = await this.inWorker(request);
      if ('reply' in reply) return toReadAndCompiled(reply.reply, request.displayName);
      if ('failed' in reply) {
        const reason = `the rules could not be compiled: ${reply.failed}`;
        return { unreadable: problemOf(request, reason), key: `worker:${reply.failed}` };
      }
      this.noWorker = reply.noWorker;
      this.options.onNoWorker(reply.noWorker);
    }
    return fromLook(lookAtRulesFile(request));
  }

  /** Ends the workers of reloads under way (their reloads come to nothing). */
  close(): void {
    for (const worker of this.running) void worker.terminate();
    this.running.clear();
  }

  /** the worker's reply; `noWorker` when it did not start (compile here), `failed` when it died after */
  private inWorker(
    request: RulesCompileRequest,
  ): Promise<{ reply: RulesCompileReply } | { noWorker: string } | { failed: string }> {
    let worker: Worker;
    try {
      worker = startWorker(request, this.options.workerDirectory ?? __dirname);
    } catch (e) {
      return Promise.resolve({ noWorker: (e as Error).message });
    }
    worker.unref(); // a reload never holds the process open
    this.running.add(worker);
    return new Promise((resolve) => {
      let ready = false;
      const done = (result: { reply: RulesCompileReply } | { noWorker: string } | { failed: string }): void => {
        this.running.delete(worker);
        resolve(result);
      };
      worker.on('message', (message: RulesCompileReply) => {
        if (message.kind === 'ready') ready = true;
        else {
          done({ reply: message });
          void worker.terminate();
        }
      });
      worker.on('error', (e) => done(ready ? { failed: e.message } : { noWorker: e.message }));
      worker.on('exit', (code) => done({ failed: `the rules worker ended (exit code ${code})` }));
    });
  }
}

function problemOf(request: RulesCompileRequest, reason: string): ConfigError {
  return new ConfigError([{ file: request.displayName, line: 0, column: 0, reason }]);
}

async function toReadAndCompiled(reply: RulesCompileReply, file: string): Promise<ReadAndCompiled<RuleSet>> {
  if (reply.kind === 'compiled') return { hash: reply.hash, value: await decodeRules(reply.rules, file) };
  if (reply.kind === 'ready') return { missing: true }; // not a reply (inWorker waits past it); look again
  return fromLook(reply);
}

function fromLook(
  look: RulesFileLook | Exclude<RulesCompileReply, { kind: 'compiled' | 'ready' }>,
): ReadAndCompiled<RuleSet> {
  switch (look.kind) {
    case 'compiled':
      return { hash: look.hash, value: look.set };
    case 'known':
      return { hash: look.hash };
    case 'problems':
      return { hash: look.hash, error: new ConfigError(look.problems) };
    case 'unreadable':
      return { unreadable: new ConfigError(look.problems), key: look.key, judged: look.judged };
    case 'missing':
      return { missing: true };
  }
}
