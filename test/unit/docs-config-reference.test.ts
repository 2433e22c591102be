/**
 * docs/configuration.md is generated from the configuration schema (tools/docs/config-reference.ts).
 * This fails when the page and the schema have drifted apart; CALLSCREEN_UPDATE_DOCS=1 (`npm run docs`)
 * writes the page instead.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { configReference } from '../../tools/docs/config-reference';

const page = path.join(__dirname, '..', '..', 'docs', 'configuration.md');

describe('docs/configuration.md', () => {
  const generated = configReference();

  it('is what the schema generates (npm run docs rewrites it)', () => {
    if (process.env.CALLSCREEN_UPDATE_DOCS === '1') writeFileSync(page, generated);
    expect(readFileSync(page, 'utf8')).toBe(generated);
  });

  it('describes every key', () => {
    const undescribed = generated
      .split('\n')
      .filter((line) => line.startsWith('| `') && line.endsWith('|  |'))
      .map((line) => line.split(' | ')[0]?.slice(2));
    expect(undescribed).toEqual([]);
  });

  it('does not depend on the machine it was generated on', () => {
    const zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    expect(generated).toContain("| `screening.timeZone` | string | the machine's |");
    if (zone !== 'UTC') expect(generated).not.toContain(zone);
  });
});
