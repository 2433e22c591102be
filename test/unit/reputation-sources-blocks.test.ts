import { renderSources } from '../../src/cli/import-command';
import type { SourceRecord } from '../../src/adapters/redis/reputation-layout';

const base = { entries: 5, categories: [], importedAt: Date.UTC(2026, 11, 6), buckets: 1 };
const feed3: SourceRecord = { ...base, name: 'robocall', kind: 'feed', gen: 4, blockDigits: 3, blockBuckets: 1 };
const feed2: SourceRecord = { ...base, name: 'hundreds', kind: 'feed', gen: 5, blockDigits: 2, blockBuckets: 1 };
const legacyLive: SourceRecord = { ...base, name: 'manual', kind: 'live', gen: 0, buckets: 1024 };

describe('callscreen reputation sources: block counts', () => {
  test('the BLOCKS column names the size counted and flags one the configuration does not use', () => {
    const text = renderSources([feed2, legacyLive, feed3], [], 3);
    const rows = text.split('\n');
    expect(rows[0]).toMatch(/^NAME +KIND +ENTRIES +BUCKETS +BLOCKS +IMPORTED AT +ORIGIN$/);
    expect(rows[1]).toMatch(/^hundreds +feed +5 +1 +2 digits \(not 3\) +2026-12-06T00:00:00Z +-$/);
    expect(rows[2]).toMatch(/^manual +live +5 +1024 +none +/);
    expect(rows[3]).toMatch(/^robocall +feed +5 +1 +3 digits +/);
  });

  test('a note tells how to count each source the block signal leaves out, and only those', () => {
    const notes = renderSources([feed2, legacyLive, feed3], [], 3)
      .split('\n')
      .filter((l) => l.startsWith('note:'));
    expect(notes).toEqual([
      'note: source hundreds counts blocks of 2 digits, the configuration 3: block reputation leaves it out until you re-import it (callscreen import FILE --source hundreds)',
      'note: source manual has no block counts, the configuration 3: block reputation leaves it out until you run callscreen reputation rebuild-blocks manual (or it is counted at its next write)',
    ]);
  });

  test('with block reputation off (blockDigits 0) nothing needs counting', () => {
    const text = renderSources([feed2, legacyLive], [], 0);
    expect(text).not.toContain('note:');
    expect(text).toMatch(/\nmanual +live +5 +1024 +- +/);
  });
});
