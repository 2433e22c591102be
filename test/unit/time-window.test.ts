import { inWindow, wallClock } from '../../src/domain/time-window';

const NY = 'America/New_York';

describe('weekly time windows in a time zone', () => {
  test('the wall clock is read in the window’s time zone', () => {
    expect(wallClock(new Date('2026-11-24T03:00:00Z'), NY)).toEqual({ day: 'mon', minute: 22 * 60 });
    expect(wallClock(new Date('2026-11-24T03:00:00Z'), 'Europe/Zurich')).toEqual({ day: 'tue', minute: 4 * 60 });
  });

  test.each([
    ['office hours: inside', { days: ['mon'], from: '08:00', to: '18:00' }, '2026-11-23T14:00:00Z', true],
    [
      'office hours: the end is exclusive',
      { days: ['mon'], from: '08:00', to: '18:00' },
      '2026-11-23T23:00:00Z',
      false,
    ],
    ['office hours: another day', { days: ['tue'], from: '08:00', to: '18:00' }, '2026-11-23T14:00:00Z', false],
    [
      'past midnight: the evening of a listed day',
      { days: ['fri'], from: '18:00', to: '08:00' },
      '2026-11-28T00:30:00Z',
      true,
    ], // Fri 19:30
    [
      'past midnight: the morning after a listed day',
      { days: ['fri'], from: '18:00', to: '08:00' },
      '2026-11-28T12:00:00Z',
      true,
    ], // Sat 07:00
    [
      'past midnight: the morning after an unlisted day',
      { days: ['fri'], from: '18:00', to: '08:00' },
      '2026-11-27T12:00:00Z',
      false,
    ], // Fri 07:00
    ['a whole day', { days: ['sat'], from: '00:00', to: '24:00' }, '2026-11-28T23:59:00Z', true],
    [
      'daylight saving: 18:00 local in summer',
      { days: ['mon'], from: '18:00', to: '19:00' },
      '2026-07-06T22:30:00Z',
      true,
    ],
  ] as const)('%s', (_name, window, at, expected) => {
    expect(inWindow({ ...window, days: [...window.days] }, new Date(at), NY)).toBe(expected);
  });
});
