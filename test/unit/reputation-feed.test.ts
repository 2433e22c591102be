import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { readReputationFeed, type FeedItem } from '../../src/feeds/reputation-feed';

async function read(file: string, region: 'US' | 'CH' = 'US'): Promise<FeedItem[]> {
  const items: FeedItem[] = [];
  for await (const item of readReputationFeed(file, region, 'test')) items.push(item);
  return items;
}

describe('readReputationFeed', () => {
  test('reads the robocall list layout and reports broken lines with their line numbers', async () => {
    const items = await read(path.join(__dirname, '../fixtures/robocall-sample.csv'));
    const good = items.filter((i) => 'e164' in i);
    const bad = items.filter((i) => 'problem' in i);
    expect(good.map((i) => 'e164' in i && i.e164)).toEqual(['+18336317911', '+18333041447', '+18667581276', '+17244428039']);
    expect(good[3]).toMatchObject({ entry: { score: 1, reports: 15, category: 'Utility-SupplyCharges', source: 'test' } });
    expect(bad.map((i) => i.line)).toEqual([7, 8]);
  });

  test('reads the demo feed with scores', async () => {
    const items = await read(path.join(__dirname, '../../config/sample-reputation.csv'));
    expect(items.every((i) => 'e164' in i)).toBe(true);
    expect(items[0]).toMatchObject({ e164: '+18336317911', entry: { score: 0.95, reports: 26 } });
  });

  test('a file without a number column says so once', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'feed-')), 'x.csv');
    writeFileSync(file, 'name,score\nfoo,1\n');
    expect(await read(file)).toEqual([{ line: 1, problem: expect.stringContaining('no number column') }]);
  });

  test('a score out of range is a problem on that line only', async () => {
    const file = path.join(mkdtempSync(path.join(tmpdir(), 'feed-')), 'y.csv');
    writeFileSync(file, 'number,score\n+41 44 668 18 00,7\n044 668 18 01,0.5\n');
    const items = await read(file, 'CH');
    expect(items[0]).toMatchObject({ line: 2, problem: expect.stringContaining('score') });
    expect(items[1]).toMatchObject({ line: 3, e164: '+41446681801' });
  });
});
