/**
 * Integration tests need the real test bed. They never skip: if it is not reachable they fail here
 * and say what to run. Prints the Asterisk version the run talks to.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { repoRoot, testbed } from './testbed';

function redisPing(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: hostname, port: Number(port || 6379) });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer in 2 s'));
    }, 2000);
    socket.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (d) => {
      clearTimeout(timer);
      socket.end();
      resolve(d.toString().trim());
    });
  });
}

export default async function globalSetup(): Promise<void> {
  // integration tests run the daemon as users do (bin/callscreen.js -> dist/): build it first
  execFileSync(
    process.execPath,
    [path.join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.build.json'],
    { cwd: repoRoot, stdio: 'inherit' },
  );
  const hint =
    'Integration tests need the test bed: run `npm test` as root (it brings the test bed up), or `sudo bash scripts/testbed up` first.';
  let version: string;
  try {
    const auth = 'Basic ' + Buffer.from(`${testbed.ariUser}:${testbed.ariPassword}`).toString('base64');
    const res = await fetch(`${testbed.ariUrl}/ari/asterisk/info?only=system`, {
      headers: { authorization: auth },
      signal: AbortSignal.timeout(3000),
    });
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const info = (await res.json()) as { system?: { version?: string } };
    version = info.system?.version ?? 'unknown';
  } catch (e) {
    throw new Error(`Asterisk ARI at ${testbed.ariUrl} is not reachable (${(e as Error).message}). ${hint}`, {
      cause: e,
    });
  }
  try {
    const pong = await redisPing(testbed.redisUrl);
    if (pong !== '+PONG') throw new Error(`answered ${pong}`);
  } catch (e) {
    throw new Error(`Redis at ${testbed.redisUrl} is not reachable (${(e as Error).message}). ${hint}`, { cause: e });
  }
  console.log(
    `\nIntegration tests run against Asterisk ${version} (ARI ${testbed.ariUrl}) and Redis ${testbed.redisUrl}\n`,
  );
}
