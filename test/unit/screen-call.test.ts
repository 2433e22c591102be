/**
 * The screening core, table-driven: each row is a behaviour a call centre relies on, decided from
 * plain inputs (no Redis, no Asterisk, no clock).
 */
import type { CallerHistory, HistoryLookup } from '../../src/domain/caller-history';
import type { Decision } from '../../src/domain/decision';
import { buildRuleSet, compileRule, type Rule } from '../../src/domain/rule-set';
import { screenCall, type CallFacts } from '../../src/domain/screen-call';
import { compileTestModel, foundHistory } from '../support/screening-fixtures';

const AT = new Date('2026-11-23T15:00:00Z'); // a Monday, 10:00 in New York
const DAY = 86_400_000;
const HOTLINE = '+12125550100';
const SALES = '+12125550200';

const rule = (list: 'allow' | 'deny', number: string, line: number): Rule => {
  const c = compileRule(
    { list, number, label: `${list} ${line}`, source: { file: 'rules.yaml', line, column: 5 } },
    'US',
  );
  if ('reason' in c) throw new Error(c.reason);
  return c;
};
const rules = buildRuleSet([
  rule('allow', '+1 212 555 0147', 3),
  rule('deny', '+1 201 555 0123', 8),
  rule('deny', '+1900*', 9),
]);

const modelOf = compileTestModel;
const defaults = modelOf();
const history = foundHistory;
const listed = (score: number, extra: object = {}): HistoryLookup =>
  history({ reputation: { entries: [{ score, reports: 12, category: 'robocall', source: 'feed', ...extra }] } });
const down: HistoryLookup = { status: 'unavailable', reason: 'no answer within the 200 ms deadline' };

function screen(
  caller: string,
  lookup: HistoryLookup | undefined = history(),
  extra: Partial<CallFacts> = {},
  model = defaults,
): Decision {
  return screenCall(
    { callerNumber: caller, did: HOTLINE, at: AT, ...extra },
    { rules, ...(lookup ? { history: lookup } : {}) },
    model,
  );
}
const codes = (d: Decision): string[] => d.reasons.map((r) => r.code);
const pointsOf = (d: Decision, code: string): number | undefined => d.reasons.find((r) => r.code === code)?.points;

describe('precedence: allow list, then deny list, then the score', () => {
  test.each([
    [
      'an allow-listed customer is let through even when every signal says spam',
      '+12125550147',
      listed(1),
      { attestation: 'failed' },
      'allow',
      'rule.allow',
    ],
    [
      'a deny-listed number gets the deny verdict even with a clean history',
      '+1 (201) 555-0123',
      history(),
      {},
      'voicemail',
      'rule.deny',
    ],
    ['a deny prefix catches premium-rate callers', '+19005551234', history(), {}, 'voicemail', 'rule.deny'],
    ['deny rules hold while Redis is down', '+12015550123', down, {}, 'voicemail', 'rule.deny'],
    ['a clean number is allowed', '+13125550111', history(), {}, 'allow', 'score'],
  ] as const)('%s', (_name, caller, lookup, extra, verdict, code) => {
    const d = screen(caller, lookup, extra);
    expect(d.verdict).toBe(verdict);
    expect(codes(d)).toContain(code);
  });

  test('an allow-listed decision scores nothing and names the rule, file and line', () => {
    const d = screen('+12125550147', listed(1));
    expect(d).toMatchObject({ verdict: 'allow', score: 0 });
    expect(d.reasons[0]).toMatchObject({
      code: 'rule.allow',
      rule: { source: { file: 'rules.yaml', line: 3 }, label: 'allow 3' },
    });
    expect(d.reasons[0]?.text).toContain('rules.yaml:3');
  });
});

describe('each signal adds its named points', () => {
  test.each([
    ['a withheld caller ID', 'anonymous', history(), {}, 'caller.withheld', 30],
    ['an empty caller ID counts as withheld', '', history(), {}, 'caller.withheld', 30],
    ['a caller ID that is not a number', 'abc', history(), {}, 'caller.unparseable', 40],
    ['a number outside the numbering plan', '+15551234567', history(), {}, 'caller.invalid', 30],
    ['a number of impossible length', '+1212555012', history(), {}, 'caller.impossible', 45],
    ['a premium-rate number as caller', '+449098790000', history(), {}, 'caller.number-type', 50],
    ['a toll-free number as caller', '+18005551212', history(), {}, 'caller.number-type', 15],
    ['a caller from abroad on a US line', '+442079460000', history(), {}, 'caller.foreign-country', 15],
    ['attestation A lowers the score', '+13125550111', history(), { attestation: 'A' }, 'attestation', -15],
    ['attestation C raises it', '+13125550111', history(), { attestation: 'c' }, 'attestation', 10],
    [
      'failed STIR/SHAKEN verification raises it a lot',
      '+13125550111',
      history(),
      { attestation: 'failed' },
      'attestation',
      40,
    ],
    ['no identity at all raises it a little', '+13125550111', history(), { attestation: 'none' }, 'attestation', 5],
    [
      'a fresh reputation entry counts in full',
      '+13125550111',
      listed(0.9, { lastSeenAt: AT.getTime() }),
      {},
      'reputation.listed',
      63,
    ],
    [
      'a reputation entry fades by half every 30 days',
      '+13125550111',
      listed(0.9, { lastSeenAt: AT.getTime() - 30 * DAY }),
      {},
      'reputation.listed',
      32,
    ],
    ['an unlisted number adds nothing for reputation', '+13125550111', history(), {}, 'reputation.unlisted', 0],
    [
      'a burst from one number',
      '+13125550111',
      history({
        numberCalls: [
          { windowSeconds: 60, calls: 3 },
          { windowSeconds: 3600, calls: 3 },
        ],
      }),
      {},
      'velocity.number',
      30,
    ],
    [
      'many calls in an hour',
      '+13125550111',
      history({
        numberCalls: [
          { windowSeconds: 60, calls: 1 },
          { windowSeconds: 3600, calls: 12 },
        ],
      }),
      {},
      'velocity.number',
      25,
    ],
    [
      'a burst from one number block',
      '+13125550111',
      history({ blockCalls: [{ windowSeconds: 60, calls: 20 }] }),
      {},
      'velocity.block',
      25,
    ],
    [
      'a CAPTCHA passed recently: trusted',
      '+13125550111',
      history({ captcha: { lastPassedAt: AT.getTime() - 2 * DAY, failures: 0 } }),
      {},
      'captcha.passed',
      -60,
    ],
    [
      'CAPTCHA failures raise the score per failure',
      '+13125550111',
      history({ captcha: { lastFailedAt: AT.getTime() - DAY, failures: 2 } }),
      {},
      'captcha.failed',
      50,
    ],
    [
      'CAPTCHA failures count up to a cap',
      '+13125550111',
      history({ captcha: { lastFailedAt: AT.getTime() - DAY, failures: 9 } }),
      {},
      'captcha.failed',
      75,
    ],
    [
      'a repeat call to the same line within minutes of one that reached a person',
      '+13125550111',
      history({ previousCallToDidAt: AT.getTime() - 5 * 60_000, reachedHumanAt: AT.getTime() - 5 * 60_000 }),
      {},
      'repeat-caller',
      -40,
    ],
    [
      'neighbour spoofing: the called number with its last digits changed',
      '+12125559876',
      history(),
      {},
      'neighbour-spoofing',
      30,
    ],
  ] as const)('%s', (_name, caller, lookup, extra, code, points) => {
    const d = screen(caller, lookup, extra);
    expect(pointsOf(d, code)).toBe(points);
    expect(d.score).toBe(d.reasons.reduce((s, r) => s + (r.points ?? 0), 0));
  });

  test.each([
    [
      'a call in a quiet window adds no velocity points',
      history({
        numberCalls: [
          { windowSeconds: 60, calls: 2 },
          { windowSeconds: 3600, calls: 9 },
        ],
      }),
      'velocity.number',
    ],
    [
      'an old CAPTCHA pass is no longer trusted',
      history({ captcha: { lastPassedAt: AT.getTime() - 31 * DAY, failures: 0 } }),
      'captcha.passed',
    ],
    [
      'old CAPTCHA failures are forgotten',
      history({ captcha: { lastFailedAt: AT.getTime() - 8 * DAY, failures: 3 } }),
      'captcha.failed',
    ],
    [
      'a pass after failures wins',
      history({ captcha: { lastFailedAt: AT.getTime() - 2 * DAY, lastPassedAt: AT.getTime() - DAY, failures: 0 } }),
      'captcha.failed',
    ],
    [
      'a call to the same line an hour ago is no repeat',
      history({ previousCallToDidAt: AT.getTime() - 60 * 60_000, reachedHumanAt: AT.getTime() - 60 * 60_000 }),
      'repeat-caller',
    ],
    [
      'a call to the same line minutes ago that reached nobody earns no repeat credit',
      history({ previousCallToDidAt: AT.getTime() - 5 * 60_000 }),
      'repeat-caller',
    ],
  ])('%s', (_name, lookup, absent) => {
    expect(codes(screen('+13125550111', lookup))).not.toContain(absent);
  });

  test('a neighbour who passed the CAPTCHA or reached a person on this line before is known, not spoofed', () => {
    expect(
      codes(screen('+12125559876', history({ captcha: { lastPassedAt: AT.getTime() - DAY, failures: 0 } }))),
    ).not.toContain('neighbour-spoofing');
    expect(
      codes(
        screen(
          '+12125559876',
          history({ previousCallToDidAt: AT.getTime() - 60_000, reachedHumanAt: AT.getTime() - 60_000 }),
        ),
      ),
    ).not.toContain('neighbour-spoofing');
  });

  test("a neighbour's own earlier call that reached nobody does not make it known", () => {
    expect(codes(screen('+12125559876', history({ previousCallToDidAt: AT.getTime() - 60_000 })))).toContain(
      'neighbour-spoofing',
    );
  });

  test('the reputation reason says score, reports, category, source and age', () => {
    const d = screen('+13125550111', listed(0.9, { lastSeenAt: AT.getTime() - 3 * DAY }));
    expect(d.reasons.find((r) => r.code === 'reputation.listed')?.text).toMatch(
      /feed \(score 0\.9, 12 reports, robocall, last report 3 days ago, weighs 93%\)/,
    );
  });
});

describe('the score gives the verdict', () => {
  test.each([
    ['below the challenge threshold: allow', '+13125550111', listed(0.3), 'allow'],
    ['at the challenge threshold: challenge', 'anonymous', history(), 'challenge'],
    ['a listed robocaller on a toll-free number: voicemail', '+18336317911', listed(0.95), 'voicemail'],
    [
      'listed, bursting, spoofed: reject',
      '+13125550111',
      history({
        reputation: { entries: [{ score: 1, reports: 80 }] },
        numberCalls: [
          { windowSeconds: 60, calls: 5 },
          { windowSeconds: 3600, calls: 5 },
        ],
      }),
      'reject',
    ],
  ] as const)('%s', (_name, caller, lookup, verdict) => {
    expect(screen(caller, lookup).verdict).toBe(verdict);
  });

  test('a CAPTCHA pass brings a listed number back under the threshold', () => {
    expect(screen('+13125550111', listed(0.95)).verdict).toBe('voicemail');
    expect(
      screen(
        '+13125550111',
        history({
          reputation: { entries: [{ score: 0.95, reports: 3 }] },
          captcha: { lastPassedAt: AT.getTime() - DAY, failures: 0 },
        }),
      ).verdict,
    ).toBe('allow');
  });

  test('the last reason states the score against the threshold it reached', () => {
    const d = screen('+18336317911', listed(0.95));
    expect(d.reasons.at(-1)).toMatchObject({
      code: 'score',
      text: `score ${d.score} reaches the voicemail threshold 60`,
    });
  });
});

describe('Redis slow or down: decided on local facts, marked degraded', () => {
  test('a listed number without its history is decided on the number alone', () => {
    const d = screen('+18336317911', down);
    expect(d).toMatchObject({ degraded: true, verdict: 'allow' });
    expect(d.reasons.find((r) => r.code === 'history.unavailable')?.text).toContain('200 ms deadline');
    expect(codes(d)).toContain('caller.number-type');
  });

  test('local signals still count: a premium-rate caller with failed verification is screened out', () => {
    const d = screen('+19005551234', down, { did: SALES, attestation: 'failed' }, modelOf());
    expect(d.degraded).toBe(true);
    expect(d.verdict).toBe('voicemail'); // deny rule +1900*
  });

  test('a decision with its history is not degraded', () => {
    expect(screen('+13125550111').degraded).toBe(false);
  });
});

describe('policies per DID and time of day', () => {
  const model = modelOf({
    screening: { timeZone: 'America/New_York' },
    didGroups: { hotline: [HOTLINE], sales: ['+1 (212) 555-0200', '+1 212 555 0201'] },
    policies: [
      {
        name: 'crisis-hotline',
        dids: ['hotline'],
        maxVerdict: 'challenge',
        signals: { repeatCaller: { points: -100 } },
      },
      {
        name: 'sales-after-hours',
        dids: ['sales'],
        when: [
          { days: ['mon', 'tue', 'wed', 'thu', 'fri'], from: '18:00', to: '08:00' },
          { days: ['sat', 'sun'], from: '00:00', to: '24:00' },
        ],
        verdicts: { challenge: 'voicemail' },
      },
      { name: 'sales-rollout', dids: ['sales'], shadow: true },
      { name: 'sales-rollout-ends', dids: ['+12125550201'], shadow: false, denyVerdict: 'reject' },
    ],
  });
  const call = (caller: string, did: string, at: Date, lookup: HistoryLookup = history()): Decision =>
    screenCall({ callerNumber: caller, did, at }, { rules, history: lookup }, model);
  const weekdayNight = new Date('2026-11-24T03:00:00Z'); // Monday 22:00 in New York
  const weekdayNoon = new Date('2026-11-23T17:00:00Z'); // Monday 12:00 in New York

  test('a hotline never rejects or sends to voicemail: at worst it challenges', () => {
    const d = call(
      '+13125550111',
      HOTLINE,
      weekdayNoon,
      history({
        reputation: { entries: [{ score: 1, reports: 90 }] },
        numberCalls: [
          { windowSeconds: 60, calls: 9 },
          { windowSeconds: 3600, calls: 9 },
        ],
      }),
    );
    expect(d.verdict).toBe('challenge');
    expect(d.policies).toEqual(['crisis-hotline']);
    expect(d.reasons.find((r) => r.code === 'policy.verdict')?.text).toMatch(
      /reject capped at challenge by policy crisis-hotline/,
    );
  });

  test('a hotline deny rule is capped too', () => {
    expect(call('+12015550123', HOTLINE, weekdayNoon).verdict).toBe('challenge');
  });

  test('a desperate caller ringing the hotline again gets through', () => {
    const d = call('anonymous', HOTLINE, weekdayNoon);
    expect(d.verdict).toBe('challenge');
    const again = call(
      '+13125550111',
      HOTLINE,
      weekdayNoon,
      history({
        reputation: { entries: [{ score: 0.9, reports: 4 }] },
        previousCallToDidAt: weekdayNoon.getTime() - 3 * 60_000,
        reachedHumanAt: weekdayNoon.getTime() - 3 * 60_000,
      }),
    );
    expect(pointsOf(again, 'repeat-caller')).toBe(-100);
    expect(again.verdict).toBe('allow');
  });

  test('the sales line in office hours is in shadow mode: decided and logged, always let through', () => {
    const d = call('anonymous', SALES, weekdayNoon);
    expect(d).toMatchObject({ verdict: 'allow', shadowVerdict: 'challenge', policies: ['sales-rollout'] });
    expect(codes(d)).toContain('policy.shadow');
  });

  test('after hours the sales line sends suspect calls to voicemail (the remap comes before shadow mode)', () => {
    const d = call('anonymous', SALES, weekdayNight);
    expect(d.policies).toEqual(['sales-after-hours', 'sales-rollout']);
    expect(d).toMatchObject({ verdict: 'allow', shadowVerdict: 'voicemail' });
  });

  test('a later policy overrides an earlier one: the second sales DID has left shadow mode', () => {
    const d = call('anonymous', '+12125550201', weekdayNight);
    expect(d.policies).toEqual(['sales-after-hours', 'sales-rollout', 'sales-rollout-ends']);
    expect(d.verdict).toBe('voicemail');
    expect(d.shadowVerdict).toBeUndefined();
    expect(call('+12015550123', '+12125550201', weekdayNoon).verdict).toBe('reject');
  });

  test('a window starts with its minute: a call at 17:59:59 and one at 18:00:00 to one DID get different policies', () => {
    const before = call('anonymous', SALES, new Date('2026-11-23T22:59:59.999Z')); // Monday 17:59:59 in New York
    expect(call('anonymous', SALES, new Date('2026-11-23T22:59:00Z')).policies).toEqual(['sales-rollout']);
    expect(before.policies).toEqual(['sales-rollout']);
    expect(call('anonymous', SALES, new Date('2026-11-23T23:00:00Z')).policies).toEqual([
      'sales-after-hours',
      'sales-rollout',
    ]);
    // and back: a call of the earlier minute after it is not given the later minute's settings
    expect(call('anonymous', SALES, new Date('2026-11-23T22:59:30Z')).policies).toEqual(['sales-rollout']);
  });

  test('the weekend window covers the whole day', () => {
    expect(call('anonymous', '+12125550201', new Date('2026-11-28T17:00:00Z')).verdict).toBe('voicemail'); // Saturday noon
  });

  test('a clean caller passes every policy untouched', () => {
    for (const did of [HOTLINE, SALES, '+12125550201', '+14155559999'])
      expect(call('+13125550111', did, weekdayNight).verdict).toBe('allow');
  });

  test('a DID with no policy uses the defaults', () => {
    expect(call('anonymous', '+14155559999', weekdayNoon)).toMatchObject({ verdict: 'challenge', policies: [] });
  });

  test('expected countries per policy: a Canadian caller on a line that serves the US and Canada', () => {
    const m = modelOf({ policies: [{ name: 'north-america', expectedCountries: ['US', 'CA'] }] });
    expect(
      codes(screenCall({ callerNumber: '+14165550111', did: HOTLINE, at: AT }, { rules, history: history() }, m)),
    ).not.toContain('caller.foreign-country');
    expect(codes(screen('+14165550111'))).toContain('caller.foreign-country');
  });
});

describe('the decision explains itself', () => {
  test('every reason that scores carries its points, and the score is their sum', () => {
    const d = screen('+18336317911', listed(0.95), { attestation: 'C' });
    const scored = d.reasons.filter((r) => r.points !== undefined);
    expect(scored.map((r) => r.code)).toEqual(
      expect.arrayContaining(['reputation.listed', 'caller.number-type', 'attestation']),
    );
    expect(d.score).toBe(scored.reduce((s, r) => s + (r.points as number), 0));
    expect(d.attestation).toBe('C');
    expect(d.at).toBe(AT.toISOString());
  });

  test('an unknown attestation value is ignored, not guessed', () => {
    const d = screen('+13125550111', history(), { attestation: 'maybe' });
    expect(codes(d)).not.toContain('attestation');
    expect(d.attestation).toBeUndefined();
  });
});

describe('several reputation sources and agents’ feedback', () => {
  const at = AT.getTime();
  const view = (entries: object[], feedback?: object): HistoryLookup =>
    history({ reputation: { entries, ...(feedback ? { feedback } : {}) } as CallerHistory['reputation'] });
  const points = (d: Decision, code: string) => d.reasons.find((r) => r.code === code)?.points;

  test.each<[string, HistoryLookup, string, number | undefined]>([
    [
      'two sources agreeing count more than either alone (1 - (1-0.5)(1-0.5) = 0.75)',
      view([
        { source: 'a', score: 0.5, reports: 1, lastSeenAt: at },
        { source: 'b', score: 0.5, reports: 1, lastSeenAt: at },
      ]),
      'reputation.listed',
      53,
    ],
    [
      'an entry last reported longer ago than maxAgeDays (180) is ignored',
      view([{ source: 'a', score: 1, reports: 9, lastSeenAt: at - 200 * DAY }]),
      'reputation.listed',
      0,
    ],
    [
      'agents saying not spam overrule every feed',
      view([{ source: 'a', score: 1, reports: 9, lastSeenAt: at }], {
        spam: 0,
        ok: 1,
        last: 'ok',
        firstAt: at - DAY,
        lastAt: at - DAY,
      }),
      'reputation.listed',
      0,
    ],
    [
      'and give their own points towards allow',
      view([{ source: 'a', score: 1, reports: 9, lastSeenAt: at }], {
        spam: 0,
        ok: 1,
        last: 'ok',
        firstAt: at - DAY,
        lastAt: at - DAY,
      }),
      'feedback.ok',
      -60,
    ],
    [
      'the last verdict decides: spam after ok counts as spam',
      view([], { spam: 1, ok: 2, last: 'spam', firstAt: at - 2 * DAY, lastAt: at }),
      'feedback.spam',
      40,
    ],
    [
      'an agent’s spam report fades like a feed entry',
      view([], { spam: 1, ok: 0, last: 'spam', firstAt: at - 30 * DAY, lastAt: at - 30 * DAY }),
      'feedback.spam',
      20,
    ],
  ])('%s', (_name, lookup, code, expected) => {
    expect(points(screen('+13125550111', lookup), code)).toBe(expected);
  });

  test('a source weight of 0 in screening.signals.reputation.sources ignores that source', () => {
    const model = modelOf({ screening: { signals: { reputation: { sources: { noisy: { weight: 0 } } } } } });
    const d = screen('+13125550111', view([{ source: 'noisy', score: 1, reports: 50, lastSeenAt: at }]), {}, model);
    expect(points(d, 'reputation.listed')).toBe(0);
  });

  test('a caller cleared by agents is allowed although every feed lists it', () => {
    const d = screen(
      '+13125550111',
      view(
        [
          { source: 'a', score: 1, reports: 40, lastSeenAt: at },
          { source: 'b', score: 0.9, reports: 3, lastSeenAt: at },
        ],
        { spam: 1, ok: 2, last: 'ok', firstAt: at - 9 * DAY, lastAt: at - DAY },
      ),
    );
    expect(d.verdict).toBe('allow');
    expect(d.reasons.find((r) => r.code === 'reputation.listed')?.text).toMatch(
      /overruled: agents said not spam.*a \(score 1, 40 reports.*b \(score 0\.9/,
    );
  });
});
