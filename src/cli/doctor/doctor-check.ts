/**
 * One line of `callscreen doctor`: what was checked, ok / warn / fail, what was found, and for a warning or
 * a failure the one thing to do about it.
 */
export type DoctorStatus = 'ok' | 'warn' | 'fail';

export type DoctorArea = 'config' | 'redis' | 'ari' | 'asterisk' | 'dialplan' | 'ami' | 'freepbx';

export interface DoctorCheck {
  area: DoctorArea;
  /** what was checked, e.g. "maxmemory-policy" */
  name: string;
  status: DoctorStatus;
  /** what was found */
  detail: string;
  /** warn / fail: the fix, in one line */
  fix?: string;
}

export const ok = (area: DoctorArea, name: string, detail: string): DoctorCheck => ({
  area,
  name,
  status: 'ok',
  detail,
});
export const warn = (area: DoctorArea, name: string, detail: string, fix: string): DoctorCheck => ({
  area,
  name,
  status: 'warn',
  detail,
  fix,
});
export const fail = (area: DoctorArea, name: string, detail: string, fix: string): DoctorCheck => ({
  area,
  name,
  status: 'fail',
  detail,
  fix,
});
