/**
 * `callscreen log` input: --since/--until as durations and ISO times, --verdict, --number/--did
 * normalised like live callers, the filter matching stored records, and the stream-id range.
 */
import {
  idRange,
  matchesFilter,
  parseLogQuery,
  parseNumberFilter,
  parseTimeSpec,
  parseVerdicts,
} from '../../src/call-log/call-log-query';
import type { Decision } from '../../src/domain/decision';
import { normalisePhoneNumber } from '../../src/domain/phone-number';
import { ConfigError } from '../../src/errors/config-error';
import type { ScreenedCallRecord } from '../../src/ports/call-log';

const NOW = Date.parse('2026-11-23T15:00:00Z');

function record(caller: string, did: string, verdict: Decision['verdict']): ScreenedCallRecord {
  const decision: Decision = {
    verdict,
    score: 0,
    reasons: [],
    degraded: false,
    policies: [],
    caller: normalisePhoneNumber(caller, 'US'),
    did: normalisePhoneNumber(did, 'US'),
    at: '2026-11-23T14:00:00.000Z',
  };
  return {
    callId: 'c1',
    at: decision.at,
    channel: 'PJSIP/trunk-1',
    decision,
    routedTo: 'agents',
    decisionMs: 3,
    host: 'pbx1',
  };
}

function problem(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as ConfigError).message;
  }
  throw new Error('no error thrown');
}

describe('--since / --until', () => {
  it.each([
    ['90s', 90_000],
    ['15m', 15 * 60_000],
    ['2h', 2 * 3_600_000],
    ['7d', 7 * 86_400_000],
    ['1.5h', 1.5 * 3_600_000],
    ['2w', 14 * 86_400_000],
  ])('a duration %s counts back from now', (text, back) => {
    expect(parseTimeSpec(text, NOW, '--since')).toBe(NOW - back);
  });

  it('takes an ISO time with a Z or an offset as that instant', () => {
    expect(parseTimeSpec('2026-11-23T14:05:09Z', NOW, '--since')).toBe(Date.parse('2026-11-23T14:05:09Z'));
    expect(parseTimeSpec('2026-11-23T14:05:09+01:00', NOW, '--since')).toBe(Date.parse('2026-11-23T13:05:09Z'));
  });

  it('takes a time without an offset, as the table prints it, as the host local time', () => {
    expect(parseTimeSpec('2026-11-23 14:05:09', NOW, '--since')).toBe(new Date(2026, 10, 23, 14, 5, 9).getTime());
    expect(parseTimeSpec('2026-11-23T14:05', NOW, '--since')).toBe(new Date(2026, 10, 23, 14, 5, 0).getTime());
  });

  it('takes a bare date as local midnight, not UTC midnight', () => {
    expect(parseTimeSpec('2026-11-23', NOW, '--until')).toBe(new Date(2026, 10, 23).getTime());
    // UTC midnight shifted by the host's offset (holds in any time zone, UTC included)
    expect(parseTimeSpec('2026-11-23', NOW, '--until')).toBe(
      Date.parse('2026-11-23T00:00:00Z') + new Date(2026, 10, 23).getTimezoneOffset() * 60_000,
    );
  });

  it('takes now', () => {
    expect(parseTimeSpec('now', NOW, '--until')).toBe(NOW);
  });

  it.each(['yesterday', '2h ago', '15', '-2h', '2026-13-45', '2026-11-23T25:00', '12:00', ''])(
    'rejects %j naming the option',
    (text) => {
      expect(problem(() => parseTimeSpec(text, NOW, '--since'))).toContain('--since');
    },
  );

  it('rejects --until before --since', () => {
    expect(problem(() => parseLogQuery({ since: '1h', until: '2h' }, 'US', NOW))).toContain('--until');
  });

  it('defaults to the last 24 hours up to now, 1000 calls', () => {
    const q = parseLogQuery({}, 'US', NOW);
    expect(q).toEqual({ sinceMs: NOW - 86_400_000, filter: {}, limit: 1000, follow: false });
  });

  it('refuses --follow with --until', () => {
    expect(problem(() => parseLogQuery({ follow: true, until: '1h' }, 'US', NOW))).toContain('--follow');
  });

  it.each(['0', '-3', '2.5', 'ten'])('refuses --limit %j', (limit) => {
    expect(problem(() => parseLogQuery({ limit }, 'US', NOW))).toContain('--limit');
  });
});

describe('--verdict', () => {
  it('takes one or several verdicts, comma-separated, any case', () => {
    expect([...parseVerdicts('reject')]).toEqual(['reject']);
    expect([...parseVerdicts('Allow, challenge')]).toEqual(['allow', 'challenge']);
  });

  it('names the verdicts when one is unknown', () => {
    expect(problem(() => parseVerdicts('allow,block'))).toMatch(
      /"block" is not a verdict.*allow, challenge, voicemail, reject/,
    );
  });
});

describe('--number / --did', () => {
  it('normalises a number written any way to the E.164 a live caller gets', () => {
    expect(parseNumberFilter('(212) 555-0147', 'US', '--number')).toBe('+12125550147');
    expect(parseNumberFilter('+1 212 555 0147', 'US', '--number')).toBe('+12125550147');
    expect(parseNumberFilter('044 668 18 00', 'CH', '--number')).toBe('+41446681800');
    // an extension reaches the same number (docs/screening.md, "How caller IDs are normalised")
    expect(parseNumberFilter('+1 212 555 0147 ext. 9', 'US', '--number')).toBe('+12125550147');
  });

  it('takes withheld (and the words trunks use for it) to mean withheld callers', () => {
    expect(parseNumberFilter('withheld', 'US', '--number')).toBe('withheld');
    expect(parseNumberFilter('anonymous', 'US', '--number')).toBe('withheld');
  });

  it.each(['abc', '12', 'DROP TABLE', '+1 212 555 0147 #9', ''])('rejects %j naming the option', (text) => {
    expect(problem(() => parseNumberFilter(text, 'US', '--did'))).toContain('--did');
  });
});

describe('filter matching', () => {
  const call = record('+1 212 555 0147', '+1 212 555 0100', 'challenge');

  it('matches everything without a filter', () => {
    expect(matchesFilter(call, {})).toBe(true);
  });

  it('matches the verdict against any of the given ones', () => {
    expect(matchesFilter(call, { verdicts: new Set(['challenge', 'reject'] as const) })).toBe(true);
    expect(matchesFilter(call, { verdicts: new Set(['allow'] as const) })).toBe(false);
  });

  it('matches caller and DID by E.164, all filters together', () => {
    const q = parseLogQuery({ number: '212-555-0147', did: '(212) 555-0100', verdict: 'challenge' }, 'US', NOW);
    expect(matchesFilter(call, q.filter)).toBe(true);
    expect(matchesFilter(call, { ...q.filter, did: '+12125550200' })).toBe(false);
    expect(matchesFilter(call, { ...q.filter, caller: '+12125550148' })).toBe(false);
  });

  it('matches withheld callers with --number withheld, and never an unparseable caller', () => {
    expect(matchesFilter(record('anonymous', '+12125550100', 'challenge'), { caller: 'withheld' })).toBe(true);
    expect(matchesFilter(record('not a number', '+12125550100', 'challenge'), { caller: 'withheld' })).toBe(false);
    expect(matchesFilter(call, { caller: 'withheld' })).toBe(false);
  });
});

describe('stream-id range', () => {
  it('ranges by the ids millisecond part: from the first entry of since through the last of until', () => {
    expect(idRange({ sinceMs: 1000.4, untilMs: 2000.6 })).toEqual({ start: '1001', end: '2000' });
  });

  it('runs to the newest entry without --until, or to the id given', () => {
    expect(idRange({ sinceMs: 5 })).toEqual({ start: '5', end: '+' });
    expect(idRange({ sinceMs: 5 }, '1700000000000-3')).toEqual({ start: '5', end: '1700000000000-3' });
  });
});
