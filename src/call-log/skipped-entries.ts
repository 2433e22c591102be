/**
 * Entries of the screened-call log that a read left out because they are not call records (the
 * reader's onUnreadable): how many, and the first one with what is wrong with it, so an admin can look
 * at it (`XRANGE <stream> <id> <id>`). Shared by `callscreen log` and the review console's API.
 */
export class SkippedEntries {
  count = 0;
  first: { id: string; problem: string } | undefined;

  /** pass as ReadOptions.onUnreadable */
  readonly add = (id: string, problem: string): void => {
    this.count++;
    this.first ??= { id, problem };
  };

  /** one line for a person, or undefined when nothing was skipped */
  note(): string | undefined {
    if (!this.first) return undefined;
    const { id, problem } = this.first;
    if (this.count === 1) return `skipped 1 log entry that is not a call record (${id}: ${problem})`;
    return `skipped ${this.count} log entries that are not call records (the first: ${id}: ${problem})`;
  }
}
