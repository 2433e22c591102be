/**
 * Where the test bed (scripts/testbed) listens, and how tests stop and start its parts.
 */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import { testbedSettings } from '../../tools/testbed/testbed-settings';

const run = promisify(execFile);

export const repoRoot = path.resolve(__dirname, '..', '..');

/** the test bed's connection settings (src/testbed/testbed-settings.ts) */
export const testbed = testbedSettings;

/** Run `scripts/testbed <command>`; resolves with its output, rejects with its stderr on failure. */
export async function testbedCommand(...args: string[]): Promise<string> {
  const { stdout } = await run('bash', [path.join(repoRoot, 'scripts', 'testbed'), ...args], { timeout: 120_000 });
  return stdout;
}

export const stopAsterisk = (): Promise<string> => testbedCommand('asterisk-stop');
export const startAsterisk = (): Promise<string> => testbedCommand('asterisk-start');
