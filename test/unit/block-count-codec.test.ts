import {
  blockCountDelta,
  decodeBlockCount,
  encodeBlockCount,
  MAX_BLOCK_NUMBERS,
} from '../../src/domain/reputation-entry';
import { blockField } from '../../src/adapters/redis/reputation-layout';

describe('block count codec', () => {
  test('a count reads back as written', () => {
    for (const count of [
      { numbers: 0, scoreSum: 0 },
      { numbers: 3, scoreSum: 230 },
      { numbers: 1000, scoreSum: 100_000 },
      { numbers: MAX_BLOCK_NUMBERS, scoreSum: 2 ** 27 - 1 },
    ])
      expect(decodeBlockCount(encodeBlockCount(count))).toEqual(count);
  });

  test('adding and removing numbers with HINCRBY deltas gives the count of the numbers left', () => {
    const scores = [100, 80, 50, 1];
    let value = 0;
    for (const s of scores) value += blockCountDelta(s, 1);
    value += blockCountDelta(80, -1);
    expect(decodeBlockCount(String(value))).toEqual({ numbers: 3, scoreSum: 151 });
    expect(String(value)).toBe(encodeBlockCount({ numbers: 3, scoreSum: 151 }));
  });

  test('a value that is not a count is not read as one', () => {
    for (const value of ['', 'x', '-1', '1.5', '99', String(2 ** 27 + 101)]) expect(decodeBlockCount(value)).toBeNull();
  });

  test("a number's block is its digits without the last blockDigits; none when it has no more digits", () => {
    expect(blockField('+16062846001', 3)).toBe('16062846');
    expect(blockField('+16062846001', 2)).toBe('160628460');
    expect(blockField('+123', 3)).toBeNull();
    expect(blockField('+16062846001', 0)).toBeNull();
  });
});
