/**
 * Issue 13 in the screening core: the repeat caller's credit only for people, DID walking, and the
 * reputation of the caller's number block. Pure: plain histories in, decisions out.
 */
import type { BlockListing, HistoryLookup } from '../../src/domain/caller-history';
import type { Decision } from '../../src/domain/decision';
import { buildRuleSet, compileRule, type Rule } from '../../src/domain/rule-set';
import { screenCall, type CallFacts } from '../../src/domain/screen-call';
import type { ScreeningModel } from '../../src/domain/screening-policy';
import { blockSaturation, maskedBlock } from '../../src/domain/signals';
import { compileTestModel, foundHistory } from '../support/screening-fixtures';

const AT = new Date('2026-11-23T15:00:00Z'); // a Monday, 10:00 in New York
const NOW = AT.getTime();
const DAY = 86_400_000;
const MINUTE = 60_000;
const HOTLINE = '+12125550100';
const LINE = '+12125550300';
const CALLER = '+16062846123';

const allowRule = ((): Rule => {
  const c = compileRule(
    { list: 'allow', number: CALLER, label: 'customer', source: { file: 'rules.yaml', line: 3, column: 5 } },
    'US',
  );
  if ('reason' in c) throw new Error(c.reason);
  return c;
})();
const noRules = buildRuleSet([]);

function modelOf(config: Record<string, unknown> = {}): ScreeningModel {
  return compileTestModel({
    didGroups: { hotline: [HOTLINE] },
    policies: [
      {
        name: 'crisis-hotline',
        dids: ['hotline'],
        maxVerdict: 'challenge',
        signals: { repeatCaller: { withinMinutes: 30, points: -100 } },
      },
    ],
    ...config,
  });
}
const defaults = modelOf();
const history = foundHistory;

function screen(
  lookup: HistoryLookup,
  extra: Partial<CallFacts> = {},
  model = defaults,
  rules = noRules,
  caller = CALLER,
): Decision {
  return screenCall({ callerNumber: caller, did: LINE, at: AT, ...extra }, { rules, history: lookup }, model);
}
const reason = (d: Decision, code: string) => d.reasons.find((r) => r.code === code);

/** the robocall list holds `numbers` numbers of the caller's 1000-block with these scores (percent) in total */
const block = (numbers: number, scoreSum: number, source = 'robocall'): BlockListing => ({
  blockDigits: 3,
  counts: [{ source, numbers, scoreSum }],
});

describe('the repeat caller: credit only for a person ringing again', () => {
  test('an earlier call to this line that reached a person minutes ago lowers the score', () => {
    const d = screen(history({ previousCallToDidAt: NOW - 4 * MINUTE, reachedHumanAt: NOW - 4 * MINUTE }));
    expect(reason(d, 'repeat-caller')?.points).toBe(-40);
    expect(reason(d, 'repeat-caller')?.text).toMatch(/reached a person on this number 4 min ago/);
  });

  test('an earlier call that reached nobody (voicemail, rejected, CAPTCHA failed) earns nothing', () => {
    expect(reason(screen(history({ previousCallToDidAt: NOW - 4 * MINUTE })), 'repeat-caller')).toBeUndefined();
  });

  test('no credit while the number calls in a burst, however recently a person answered', () => {
    const d = screen(
      history({
        reachedHumanAt: NOW - 20_000,
        numberCalls: [
          { windowSeconds: 60, calls: 3 },
          { windowSeconds: 3600, calls: 3 },
        ],
      }),
    );
    expect(reason(d, 'velocity.number')?.points).toBe(30);
    expect(reason(d, 'repeat-caller')).toBeUndefined();
  });

  test('no credit while the number is walking the DIDs', () => {
    const d = screen(history({ reachedHumanAt: NOW - 2 * MINUTE, didsCalled: 3 }));
    expect(reason(d, 'velocity.dids')?.points).toBe(30);
    expect(reason(d, 'repeat-caller')).toBeUndefined();
  });

  test('the crisis hotline: a caller who reached a counsellor rings again minutes later and gets through', () => {
    const d = screen(
      history({
        reputation: { entries: [{ score: 0.9, reports: 4, source: 'robocall' }] },
        reachedHumanAt: NOW - 6 * MINUTE,
      }),
      { did: HOTLINE, attestation: 'C' },
    );
    expect(reason(d, 'repeat-caller')?.points).toBe(-100);
    expect(d.verdict).toBe('allow');
  });

  test('the crisis hotline: a robot redialling three times a minute is challenged, not waved through', () => {
    const d = screen(
      history({
        reachedHumanAt: NOW - 30_000,
        numberCalls: [
          { windowSeconds: 60, calls: 3 },
          { windowSeconds: 3600, calls: 3 },
        ],
      }),
      { did: HOTLINE, attestation: 'C' },
    );
    expect(reason(d, 'repeat-caller')).toBeUndefined();
    expect(d.verdict).toBe('challenge');
  });
});

describe('DID walking: one number calling several of the DIDs', () => {
  test('three distinct DIDs within the window add the points and say how many', () => {
    const r = reason(screen(history({ didsCalled: 3 })), 'velocity.dids');
    expect(r).toMatchObject({ points: 30, value: 3 });
    expect(r?.text).toMatch(/called 3 different numbers of this company in the last 10 min \(3 or more add points\)/);
  });

  test('two DIDs (a customer calling sales, then support) add nothing', () => {
    expect(reason(screen(history({ didsCalled: 2 })), 'velocity.dids')).toBeUndefined();
  });

  test('a history without a DID count (not asked for) adds nothing', () => {
    expect(reason(screen(history({ didsCalled: undefined })), 'velocity.dids')).toBeUndefined();
  });

  test('windowSeconds 0 turns it off', () => {
    const model = modelOf({ screening: { signals: { didSpread: { windowSeconds: 0 } } } });
    expect(reason(screen(history({ didsCalled: 9 }), {}, model), 'velocity.dids')).toBeUndefined();
  });

  test('a policy changes its points and DID count for its lines', () => {
    const model = modelOf({
      policies: [{ name: 'strict', dids: [LINE], signals: { didSpread: { dids: 2, points: 45 } } }],
    });
    expect(reason(screen(history({ didsCalled: 2 }), {}, model), 'velocity.dids')?.points).toBe(45);
  });
});

describe('block reputation: listed numbers in the caller’s number block', () => {
  test('one listed neighbour sends a first-time caller to the CAPTCHA, even one its carrier attests A', () => {
    for (const attestation of ['A', 'B', 'C', 'none'] as const) {
      const d = screen(history({ block: block(1, 100) }), { attestation });
      expect(reason(d, 'reputation.block')?.points).toBe(45);
      expect(d.verdict).toBe('challenge');
    }
  });

  test('with halfAtNumbers 3 (a list of millions) one listed neighbour adds little', () => {
    const model = modelOf({ screening: { signals: { blockReputation: { halfAtNumbers: 3 } } } });
    const d = screen(history({ block: block(1, 100) }), { attestation: 'none' }, model);
    expect(reason(d, 'reputation.block')?.points ?? 0).toBeLessThanOrEqual(2);
    expect(d.verdict).toBe('allow');
  });

  test('a first-time caller from a badly listed block goes to the CAPTCHA, not to voicemail', () => {
    for (const attestation of ['C', 'none'] as const) {
      const d = screen(history({ block: block(6, 6 * 90) }), { attestation });
      expect(d.verdict).toBe('challenge');
    }
  });

  test('a block full of listed numbers, with attestation C, scores voicemail but is the CAPTCHA: the neighbours are not the number’s record', () => {
    const d = screen(history({ block: block(500, 500 * 100) }), { attestation: 'C' });
    expect(reason(d, 'reputation.block')?.points).toBe(60);
    expect(d.score).toBe(70);
    expect(d.verdict).toBe('challenge');
    expect(reason(d, 'score.capped')?.text).toMatch(/^voicemail becomes challenge: nothing is on record/);
  });

  test('a listed block and a burst from the number itself go to voicemail: the burst is on record', () => {
    const burst = history({
      block: block(1, 100),
      numberCalls: [
        { windowSeconds: 60, calls: 3 },
        { windowSeconds: 3600, calls: 3 },
      ],
    });
    const d = screen(burst, { attestation: 'C' });
    expect(reason(d, 'velocity.number')?.points).toBe(30);
    expect(d.score).toBe(85);
    expect(d.verdict).toBe('voicemail');
  });

  test('the points grow with how many numbers are listed and how bad they are', () => {
    const points = (n: number, meanPercent: number) =>
      reason(screen(history({ block: block(n, n * meanPercent) })), 'reputation.block')?.points ?? 0;
    expect(points(1, 90)).toBeLessThan(points(2, 90));
    expect(points(2, 90)).toBeLessThanOrEqual(points(5, 90));
    expect(points(5, 30)).toBeLessThan(points(5, 90));
  });

  test('the reason names how many numbers of which block are on which list, and their mean score', () => {
    const d = screen(
      history({
        block: {
          blockDigits: 3,
          counts: [
            { source: 'robocall', numbers: 3, scoreSum: 270 },
            { source: 'manual', numbers: 1, scoreSum: 100 },
          ],
        },
      }),
    );
    expect(reason(d, 'reputation.block')).toMatchObject({
      text: '3 numbers of +1 606 284 6xxx are on the robocall list (mean score 0.9); 1 on the manual list',
      value: 3,
    });
  });

  test('a caller listed itself gets its own reputation, not its block’s', () => {
    const d = screen(
      history({ reputation: { entries: [{ score: 0.5, reports: 3, source: 'robocall' }] }, block: block(8, 800) }),
    );
    expect(reason(d, 'reputation.listed')).toBeDefined();
    expect(reason(d, 'reputation.block')).toBeUndefined();
  });

  test('an entry with score 0 is not a listing: the block counts', () => {
    const d = screen(
      history({ reputation: { entries: [{ score: 0, reports: 0, source: 'manual' }] }, block: block(8, 800) }),
    );
    expect(reason(d, 'reputation.block')?.points).toBeGreaterThan(30);
  });

  test('trusted callers are not touched: a recent CAPTCHA pass, the agents’ ok, an allow rule', () => {
    const passed = screen(history({ block: block(8, 800), captcha: { lastPassedAt: NOW - DAY, failures: 0 } }));
    expect(reason(passed, 'reputation.block')).toBeUndefined();
    const ok = screen(
      history({
        block: block(8, 800),
        reputation: { entries: [], feedback: { spam: 0, ok: 1, last: 'ok', firstAt: NOW - DAY, lastAt: NOW - DAY } },
      }),
    );
    expect(reason(ok, 'reputation.block')).toBeUndefined();
    const allowed = screen(history({ block: block(8, 800) }), {}, defaults, buildRuleSet([allowRule]));
    expect(allowed.verdict).toBe('allow');
    expect(reason(allowed, 'reputation.block')).toBeUndefined();
  });

  test('a CAPTCHA failed since the last pass does not make the caller trusted', () => {
    const d = screen(
      history({
        block: block(8, 800),
        captcha: { lastPassedAt: NOW - 5 * DAY, lastFailedAt: NOW - DAY, failures: 1 },
      }),
    );
    expect(reason(d, 'reputation.block')).toBeDefined();
  });

  test('a source of weight 0 is ignored; sources are not added up, the strongest counts', () => {
    const model = modelOf({ screening: { signals: { reputation: { sources: { robocall: { weight: 0 } } } } } });
    expect(reason(screen(history({ block: block(8, 800) }), {}, model), 'reputation.block')).toBeUndefined();
    const both = screen(
      history({
        block: {
          blockDigits: 3,
          counts: [
            { source: 'robocall', numbers: 4, scoreSum: 400 },
            { source: 'manual', numbers: 4, scoreSum: 400 },
          ],
        },
      }),
    );
    const one = screen(history({ block: block(4, 400) }));
    expect(reason(both, 'reputation.block')?.points).toBe(reason(one, 'reputation.block')?.points);
  });

  test('counts of another block size than the configured one are not read as this one', () => {
    const d = screen(
      history({ block: { blockDigits: 4, counts: [{ source: 'robocall', numbers: 9, scoreSum: 900 }] } }),
    );
    expect(reason(d, 'reputation.block')).toBeUndefined();
  });

  test('a policy changes the weight for its lines', () => {
    const model = modelOf({
      policies: [{ name: 'strict', dids: [LINE], signals: { blockReputation: { weight: 80 } } }],
    });
    expect(reason(screen(history({ block: block(500, 50_000) }), {}, model), 'reputation.block')?.points).toBe(80);
  });

  test('the saturation: ~4 % of the weight for one number, half at halfAtNumbers, ~90 % at twice that', () => {
    expect(blockSaturation(1, 3)).toBeCloseTo(1 / 28, 5);
    expect(blockSaturation(3, 3)).toBe(0.5);
    expect(blockSaturation(6, 3)).toBeCloseTo(8 / 9, 5);
    expect(blockSaturation(0, 3)).toBe(0);
  });

  test('a block is written as people write the number', () => {
    expect(maskedBlock('+16062846123', 3)).toBe('+1 606 284 6xxx');
    expect(maskedBlock('+41446681800', 3)).toBe('+41446681xxx');
  });
});
