import { CodeEntry, randomCode } from '../../src/calls/captcha/code-entry';
import { Limiter } from '../../src/calls/limited-ari';

describe('randomCode', () => {
  test('has the length asked for, digits only, from the draw given', () => {
    const draws = [4, 0, 9];
    expect(randomCode(3, () => draws.shift() ?? 0)).toBe('409');
    for (let i = 0; i < 200; i++) expect(randomCode(4)).toMatch(/^[0-9]{4}$/);
  });

  test('uses every digit (crypto.randomInt)', () => {
    const seen = new Set([...Array.from({ length: 300 }, () => randomCode(1))]);
    expect(seen.size).toBe(10);
  });
});

describe('CodeEntry', () => {
  test('right once all digits match', () => {
    const entry = new CodeEntry('42');
    expect(entry.press('4')).toBe('more');
    expect(entry.press('2')).toBe('right');
  });

  test('wrong as soon as it has as many keys as the code', () => {
    const entry = new CodeEntry('42');
    expect(entry.press('2')).toBe('more');
    expect(entry.press('4')).toBe('wrong');
    expect(entry.entered).toBe('24');
  });

  test('# ends the entry early: incomplete is wrong; * counts as a (wrong) key', () => {
    const hash = new CodeEntry('123');
    expect(hash.press('1')).toBe('more');
    expect(hash.press('#')).toBe('wrong');
    const star = new CodeEntry('12');
    expect(star.press('*')).toBe('more');
    expect(star.press('2')).toBe('wrong');
  });

  test('a code must be digits', () => {
    expect(() => new CodeEntry('4a')).toThrow(RangeError);
  });
});

describe('Limiter', () => {
  test('runs at most max tasks at once, in order, and passes results and errors through', async () => {
    const limiter = new Limiter(2);
    let running = 0;
    let peak = 0;
    const order: number[] = [];
    const task = (i: number) => async () => {
      running += 1;
      peak = Math.max(peak, running);
      await new Promise((r) => setTimeout(r, 5));
      running -= 1;
      order.push(i);
      if (i === 3) throw new Error('task 3');
      return i;
    };
    const results = await Promise.allSettled([0, 1, 2, 3, 4, 5].map((i) => limiter.run(task(i))));
    expect(peak).toBe(2);
    expect(results.map((r) => (r.status === 'fulfilled' ? r.value : (r.reason as Error).message))).toEqual([
      0,
      1,
      2,
      'task 3',
      4,
      5,
    ]);
    expect(limiter.inFlight).toBe(0);
    expect(limiter.queued).toBe(0);
  });

  test('a task with a weight counts as that many requests, waits its turn in order and never waits forever', async () => {
    const limiter = new Limiter(4);
    const started: string[] = [];
    const gates = new Map<string, () => void>();
    const task = (name: string) => () =>
      new Promise<string>((resolve) => {
        started.push(name);
        gates.set(name, () => resolve(name));
      });
    const a = limiter.run(task('a'), 3);
    const b = limiter.run(task('b'), 2); // 3 + 2 > 4: waits
    const c = limiter.run(task('c')); // would fit, but b came first
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a']);
    expect(limiter.inFlight).toBe(3);
    expect(limiter.queued).toBe(2);
    gates.get('a')?.();
    await a;
    await new Promise((r) => setImmediate(r));
    expect(started).toEqual(['a', 'b', 'c']);
    expect(limiter.inFlight).toBe(3);
    gates.get('b')?.();
    gates.get('c')?.();
    await expect(Promise.all([b, c])).resolves.toEqual(['b', 'c']);
    expect(limiter.inFlight).toBe(0);
    const big = limiter.run(task('big'), 9); // more than max: runs alone rather than never
    await new Promise((r) => setImmediate(r));
    expect(limiter.inFlight).toBe(4);
    gates.get('big')?.();
    await expect(big).resolves.toBe('big');
    expect(limiter.inFlight).toBe(0);
  });
});
