/**
 * The demo's calls: one of each kind, with where the example config (config/callscreen.yaml,
 * config/rules.yaml) and the demo's reputation feeds (a sample of the public-domain robocall list,
 * test/fixtures/robocall-caller-ids-sample.csv, imported as source `robocall` without its
 * likely_admin=yes rows; config/sample-reputation.csv as source `sample`) should send it.
 */
export interface DemoCall {
  label: string;
  caller: string;
  expected: 'agents' | 'voicemail';
  /** the DID called; default DEMO_DID (a line without policies) */
  did?: string;
  /** STIR/SHAKEN attestation the dialplan hands over (channel variable CALLSCREEN_ATTESTATION) */
  attestation?: string;
  /** placed over real SIP with sipp instead of a Local channel */
  sip?: boolean;
  /** a challenged caller: types the code the CAPTCHA says, types wrong codes, or stays silent */
  captcha?: 'pass' | 'wrong' | 'silent';
  /** a `callscreen` command the demo runs before placing the call (e.g. an agent's feedback) */
  before?: string[];
}

/** A DID no policy in the example config names. */
export const DEMO_DID = '+16465550123';
const HOTLINE = '+12125550100';
const SHADOW_SALES_LINE = '+12125550201';

// Challenged calls go through the CAPTCHA IVR: the demo plays the caller, typing the code the IVR says
// (the demo's daemon logs it: CALLSCREEN_TEST_LOG_CAPTCHA_CODE=1, a test-only switch), typing wrong codes
// or staying silent. A pass reaches the agents; a failure goes to voicemail (captcha.failVerdict).
export const DEMO_CALLS: readonly DemoCall[] = [
  { label: 'clean number', caller: '+13125550111', expected: 'agents' },
  { label: 'allow-listed customer', caller: '+1 (212) 555-0147', expected: 'agents' },
  { label: 'allow-listed, Swiss office', caller: '+41446681800', expected: 'agents' },
  { label: 'deny-listed number', caller: '+12015550123', expected: 'voicemail' },
  { label: 'deny wildcard (+1 900*)', caller: '+19005550100', expected: 'voicemail' },
  { label: 'reputation list, score 0.95', caller: '+18336317911', expected: 'voicemail' },
  { label: 'reputation list, score 0.9', caller: '+18333041447', expected: 'voicemail' },
  { label: 'reputation list, score 0.4', caller: '+14155550199', expected: 'agents' },
  { label: 'robocall list: SSA impostor, 3 reports', caller: '+19856022086', expected: 'voicemail' },
  { label: 'robocall list: Amazon impostor', caller: '+17706888993', expected: 'voicemail' },
  {
    label: 'robocall list: FTC office (likely_admin, left out of the import)',
    caller: '+12162633413',
    expected: 'agents',
  },
  {
    label: 'robocall list, but an agent reported it "not spam"',
    caller: '+15705162573',
    before: ['report', '+1 570 516 2573', 'ok', '--agent', 'demo', '--note', 'our debt collection partner'],
    expected: 'agents',
  },
  { label: 'anonymous: CAPTCHA passed', caller: 'anonymous', captcha: 'pass', expected: 'agents' },
  { label: 'no caller ID: silent, CAPTCHA failed', caller: '', captcha: 'silent', expected: 'voicemail' },
  { label: 'garbage caller ID: CAPTCHA passed', caller: 'abc', captcha: 'pass', expected: 'agents' },
  {
    label: '40 digits: wrong codes, CAPTCHA failed',
    caller: '1234567890123456789012345678901234567890',
    captcha: 'wrong',
    expected: 'voicemail',
  },
  { label: 'unicode caller ID: CAPTCHA passed', caller: 'Müller ☎', captcha: 'pass', expected: 'agents' },
  { label: 'STIR/SHAKEN attestation A', caller: '+13125550112', attestation: 'A', expected: 'agents' },
  // passes, so the number is trusted afterwards (a second demo run lets it straight through)
  {
    label: 'STIR/SHAKEN verification failed: CAPTCHA passed',
    caller: '+13125550113',
    attestation: 'failed',
    captcha: 'pass',
    expected: 'agents',
  },
  {
    label: 'listed robocaller on the crisis hotline: capped at challenge, CAPTCHA passed',
    caller: '+18336317911',
    did: HOTLINE,
    captcha: 'pass',
    expected: 'agents',
  },
  {
    label: 'listed robocaller on a sales line in shadow mode',
    caller: '+18333041447',
    did: SHADOW_SALES_LINE,
    expected: 'agents',
  },
  { label: 'over real SIP (sipp), reputation-listed', caller: '+18667581276', expected: 'voicemail', sip: true },
];
