/**
 * Weekly time windows ("mon-fri 18:00 to 08:00") in a named time zone. Pure: the instant is passed in.
 * A window whose end is not after its start runs past midnight: it starts on one of its days and ends
 * on the next day.
 */
export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

export interface WeeklyWindow {
  days: readonly Weekday[];
  /** HH:MM */
  from: string;
  /** HH:MM; 24:00 is the end of the day */
  to: string;
}

const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];
const formatters = new Map<string, Intl.DateTimeFormat>();

/** The last instant's minute read per time zone: every call in the same minute reads the same clock. */
const lastRead = new Map<string, { epochMinute: number; clock: { day: Weekday; minute: number } }>();

/** Day of the week and minute of the day of an instant, as a wall clock in timeZone shows it. */
export function wallClock(at: Date, timeZone: string): { day: Weekday; minute: number } {
  // formatToParts is costly per call (docs/benchmarks.md); zone offsets are whole minutes, so one read
  // per zone and minute suffices
  const epochMinute = Math.floor(at.getTime() / 60_000);
  const last = lastRead.get(timeZone);
  if (last && last.epochMinute === epochMinute) return last.clock;
  const clock = readWallClock(at, timeZone);
  lastRead.set(timeZone, { epochMinute, clock });
  return clock;
}

function readWallClock(at: Date, timeZone: string): { day: Weekday; minute: number } {
  let fmt = formatters.get(timeZone);
  if (!fmt) {
    fmt = new Intl.DateTimeFormat('en-US', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, fmt);
  }
  let day: Weekday = 'sun';
  let hour = 0;
  let minute = 0;
  for (const part of fmt.formatToParts(at)) {
    if (part.type === 'weekday') day = part.value.slice(0, 3).toLowerCase() as Weekday;
    else if (part.type === 'hour') hour = Number(part.value);
    else if (part.type === 'minute') minute = Number(part.value);
  }
  return { day, minute: hour * 60 + minute };
}

const minuteOf = (hhmm: string): number => Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
const dayBefore = (day: Weekday): Weekday => WEEKDAYS[(WEEKDAYS.indexOf(day) + 6) % 7] as Weekday;

export function inWindow(window: WeeklyWindow, at: Date, timeZone: string): boolean {
  const { day, minute } = wallClock(at, timeZone);
  const from = minuteOf(window.from);
  const to = minuteOf(window.to);
  if (from < to) return window.days.includes(day) && minute >= from && minute < to;
  // past midnight: the evening part on a listed day, the morning part on the day after a listed day
  return (window.days.includes(day) && minute >= from) || (window.days.includes(dayBefore(day)) && minute < to);
}

export function inAnyWindow(windows: readonly WeeklyWindow[], at: Date, timeZone: string): boolean {
  return windows.some((w) => inWindow(w, at, timeZone));
}

export function describeWindow(w: WeeklyWindow): string {
  const days = w.days.length === 7 ? 'every day' : w.days.join(',');
  return `${days} ${w.from}-${w.to}`;
}
