import { headlineTable, scoredList, summarise, unknownSpamLine } from '../../bench/quality/report';
import type { CallResult, Route } from '../../bench/quality/runner';
import { SPAM, type Kind } from '../../bench/quality/traffic';
import type { Verdict } from '../../src/domain/decision';

let n = 0;
function result(kind: Kind, verdict: Verdict, route: Route): CallResult {
  n++;
  return {
    call: {
      at: n,
      callerNumber: `212555${String(n).padStart(4, '0')}`,
      did: '+12125550100',
      attestation: 'C',
      kind,
      spam: SPAM[kind],
      caller: `${kind}-${n}`,
    },
    verdict,
    route,
    challenged: verdict === 'challenge',
    degraded: false,
    reasons: verdict === 'allow' ? ['attestation +10'] : [],
    lookups: [],
  };
}

describe('bench/quality report', () => {
  const results = [
    result('customer', 'allow', 'agents'),
    result('customer', 'allow', 'agents'),
    result('customer', 'allow', 'agents'),
    result('customer', 'challenge', 'agents'), // a person passes the CAPTCHA
    result('withheld', 'voicemail', 'voicemail'), // shut out without a CAPTCHA
    result('burst', 'allow', 'agents'),
    result('burst', 'challenge', 'voicemail'), // a robot fails the CAPTCHA
    result('burst', 'reject', 'reject'),
    result('block-neighbour', 'challenge', 'voicemail'),
  ];
  const { kinds, headline, spamThrough, customersChallenged } = summarise(results);

  it('gives each kind the shares of its calls that reached the agents, were challenged, and ended elsewhere', () => {
    const customer = kinds.find((k) => k.kind === 'customer')!;
    expect(customer).toMatchObject({ calls: 4, agents: 1, challenged: 0.25, voicemailOrReject: 0 });
    const burst = kinds.find((k) => k.kind === 'burst')!;
    expect(burst.agents).toBeCloseTo(1 / 3);
    expect(burst.challenged).toBeCloseTo(1 / 3);
    expect(burst.voicemailOrReject).toBeCloseTo(2 / 3);
    expect(Number.isNaN(kinds.find((k) => k.kind === 'impossible')!.agents)).toBe(true);
  });

  it('counts spam through, customers challenged and legit callers shut out without a CAPTCHA', () => {
    expect(headline.spamToAgents).toBeCloseTo(1 / 4);
    expect(headline.burstsToAgents).toBeCloseTo(1 / 3);
    expect(headline.blockNeighboursToAgents).toBe(0);
    expect(headline.customersChallenged).toBe(0.25);
    expect(headline.legitShutOut).toBe(1);
    expect(spamThrough).toEqual([{ reasons: 'attestation +10', calls: 1 }]);
  });

  it('tells what the challenged customers scored with, and only theirs', () => {
    expect(customersChallenged).toEqual([{ reasons: '(nothing)', calls: 1 }]);
  });

  it("prints reason tallies and the day's floor as one line each", () => {
    expect(
      scoredList([
        { reasons: 'attestation +10', calls: 12 },
        { reasons: '(nothing)', calls: 3 },
      ]),
    ).toBe('12x [attestation +10]; 3x [(nothing)]');
    expect(unknownSpamLine({ calls: 41, spam: 277 })).toMatch(
      /^spam nothing on record knows: 41 calls, 14\.8 % of the spam/,
    );
    expect(unknownSpamLine({ calls: 0, spam: 0 })).toMatch(/: 0 calls, 0\.0 % of the spam/);
  });

  it('judges the targets on the last run', () => {
    const table = headlineTable([
      { title: 'without', figures: summarise([result('burst', 'allow', 'agents')]) },
      { title: 'with', figures: summarise([result('burst', 'challenge', 'voicemail')]) },
    ]);
    expect(table).toMatch(/bursts reaching the agents\s+100\.0 %\s+0\.0 %\s+<= 25 %: met/);
    expect(table).toMatch(/spam reaching the agents\s+100\.0 %\s+0\.0 %\s+<= 10 % with the provider: met/);
  });
});
