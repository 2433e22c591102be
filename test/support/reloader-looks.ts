/**
 * Observing the hot reloaders' looks at their files, so a "nothing was reloaded" check follows a look that would
 * have reloaded, not a sleep that may end before any look. A look is FileReloader's 'checked' event.
 */
import { FileReloader } from '../../src/config/file-reloader';

/**
 * Resolves once the reloaders of `file` have finished two looks at it from now on: the first may have begun before
 * an edit made just now, the second has certainly seen the edit (and reloaded or rejected it, if it would). Watches
 * every FileReloader, so it works through a wrapper that does not forward 'checked' (RulesReloader).
 */
export async function twoLooksAt(file: string, withinMs = 5_000): Promise<void> {
  const emit = jest.spyOn(FileReloader.prototype, 'emit');
  try {
    const started = Date.now();
    // emit is generic over the event map; a look is emit('checked', file)
    const calls = () => emit.mock.calls as unknown as [event: unknown, looked?: unknown][];
    const looks = () => calls().filter(([event, looked]) => event === 'checked' && looked === file).length;
    while (looks() < 2) {
      if (Date.now() - started > withinMs) throw new Error(`no two looks at ${file} within ${withinMs} ms`);
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    emit.mockRestore();
  }
}
