/**
 * The demo's calls: one of each kind, with where the example config (config/callscreen.yaml,
 * config/rules.yaml, config/sample-reputation.csv) should send it.
 */
export interface DemoCall {
  label: string;
  caller: string;
  expected: 'agents' | 'voicemail';
  /** placed over real SIP with sipp instead of a Local channel */
  sip?: boolean;
}

export const DEMO_DID = '+12125550100';

export const DEMO_CALLS: readonly DemoCall[] = [
  { label: 'clean number', caller: '+13125550111', expected: 'agents' },
  { label: 'allow-listed customer', caller: '+1 (212) 555-0147', expected: 'agents' },
  { label: 'allow-listed, Swiss office', caller: '+41446681800', expected: 'agents' },
  { label: 'deny-listed number', caller: '+12015550123', expected: 'voicemail' },
  { label: 'deny prefix (+1 900*)', caller: '+19005550100', expected: 'voicemail' },
  { label: 'reputation list, score 0.95', caller: '+18336317911', expected: 'voicemail' },
  { label: 'reputation list, score 0.9', caller: '+18333041447', expected: 'voicemail' },
  { label: 'reputation list, score 0.4', caller: '+14155550199', expected: 'agents' },
  { label: 'anonymous', caller: 'anonymous', expected: 'agents' },
  { label: 'no caller ID', caller: '', expected: 'agents' },
  { label: 'garbage caller ID', caller: 'abc', expected: 'agents' },
  { label: '40 digits', caller: '1234567890123456789012345678901234567890', expected: 'agents' },
  { label: 'unicode caller ID', caller: 'Müller ☎', expected: 'agents' },
  { label: 'over real SIP (sipp), reputation-listed', caller: '+18667581276', expected: 'voicemail', sip: true },
];
