/**
 * Replacing a file that a running daemon reads (the managed allow list, a contacts source): never in
 * place, where a reader could see half a file, but as a temporary file in the same folder (a rename
 * does not cross file systems), flushed to disk and renamed over the file.
 */
import { randomBytes } from 'node:crypto';
import { promises as fs } from 'node:fs';
import path from 'node:path';

/** A temporary file in the same folder, flushed, renamed over the file: readers see old or new, never half. */
export async function writeAtomically(file: string, text: string): Promise<void> {
  const temp = path.join(
    path.dirname(file),
    `.${path.basename(file)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  const mode = await fs.stat(file).then(
    (s) => s.mode & 0o777,
    () => 0o644,
  );
  const handle = await fs.open(temp, 'wx', mode);
  try {
    await handle.writeFile(text, 'utf8');
    await handle.sync();
  } finally {
    await handle.close();
  }
  try {
    await fs.rename(temp, file);
  } catch (e) {
    await fs.unlink(temp).catch(() => undefined);
    throw e;
  }
}
