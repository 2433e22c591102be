/**
 * Load config/rules.yaml into a RuleSet. Every entry keeps the file, line and column it was written
 * on. Any problem (YAML syntax, shape, a number that is not one) fails the whole load with every
 * problem listed, so a caller can keep the last good rules.
 *
 *   allow:
 *     - "+49 30 1234567"                  # a number, written any way people write numbers
 *     - number: "030 7654321"
 *       label: Key account Müller
 *   deny:
 *     - number: "+1 (833) 631-7911"
 *       label: Warranty robocaller
 *     - "+4990*"                          # a prefix: every number starting with it
 */
import type { CountryCode } from 'libphonenumber-js';
import { z } from 'zod';
import { buildRuleSet, compileRule, type Rule, type RuleDefinition, type RuleList, type RuleSet } from '../domain/rule-set';
import { ConfigError, type ConfigProblem } from '../errors/config-error';
import { validateYaml } from './validate';
import { readYamlFile, type LocatedYaml } from './yaml-document';

const entrySchema = z.union([
  z.string().min(1),
  z.object({ number: z.string().min(1), label: z.string().optional() }).strict(),
]);

export const rulesSchema = z
  .object({
    allow: z.array(entrySchema).nullable().default([]),
    deny: z.array(entrySchema).nullable().default([]),
  })
  .strict();

export function loadRulesFile(file: string, defaultRegion: CountryCode, displayName = file): RuleSet {
  return compileRulesDocument(readYamlFile(file, displayName), defaultRegion);
}

export function compileRulesDocument(doc: LocatedYaml, defaultRegion: CountryCode): RuleSet {
  const parsed = validateYaml(doc, rulesSchema);
  const rules: Rule[] = [];
  const problems: ConfigProblem[] = [];
  for (const list of ['allow', 'deny'] as const satisfies readonly RuleList[]) {
    (parsed[list] ?? []).forEach((entry, index) => {
      const def: RuleDefinition = {
        list,
        number: typeof entry === 'string' ? entry : entry.number,
        source: { file: doc.file, ...doc.locate([list, index]) },
      };
      if (typeof entry !== 'string' && entry.label !== undefined) def.label = entry.label;
      const compiled = compileRule(def, defaultRegion);
      if ('reason' in compiled) problems.push({ ...compiled.source, reason: compiled.reason });
      else rules.push(compiled);
    });
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return buildRuleSet(rules);
}
