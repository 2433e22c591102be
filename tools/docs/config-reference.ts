/**
 * docs/configuration.md, generated from the configuration schema (src/config/schema.ts): one table per
 * section with every key's path, type, default and the description written beside it in the schema,
 * then the environment variables that override keys (ENV_OVERRIDES). The page is never edited by hand:
 * test/unit/docs-config-reference.test.ts fails when it differs from what this returns, and
 * `npm run docs` writes it.
 *
 * It walks the schema's JSON Schema (zod's toJSONSchema, as the file is written: io 'input'), which
 * carries the types, the defaults and the descriptions in one plain tree.
 */
import { z } from 'zod';
import { RELOADABLE_SECTIONS } from '../../src/config/config-reloader';
import { ENV_OVERRIDES } from '../../src/config/load-config';
import { configSections } from '../../src/config/schema';

type JsonSchema = z.core.JSONSchema.JSONSchema;

interface Row {
  key: string;
  type: string;
  default: string;
  description: string;
}

/** The markdown of docs/configuration.md. */
export function configReference(): string {
  const root = z.toJSONSchema(configSections, { io: 'input', unrepresentable: 'any' });
  const sections = Object.entries(root.properties ?? {}).flatMap(([name, node]) =>
    isSchema(node) ? [{ name, node }] : [],
  );
  const reloadable = new Set<string>(RELOADABLE_SECTIONS);
  const out: string[] = [...INTRO];
  out.push('## Sections', '');
  for (const { name, node } of sections)
    out.push(`- [\`${name}\`](#${name.toLowerCase()}): ${cell(node.description ?? '')}`);
  out.push('');
  for (const { name, node } of sections) {
    out.push(`## ${name}`, '');
    // a section that is one value (a map, a list) has its description in its own row
    if (node.description && isPlainObject(node)) out.push(sentence(node.description), '');
    out.push(
      reloadable.has(name)
        ? 'Takes effect without a restart: the daemon applies an edit within about a second.'
        : 'Read at start: a change needs a restart (until then the daemon logs that it keeps the running values).',
      '',
    );
    out.push(...table(sectionRows(name, node)), '');
  }
  out.push(...environment(root));
  return `${out.join('\n').trimEnd()}\n`;
}

const INTRO = [
  '# Configuration reference',
  '',
  '<!-- Generated from src/config/schema.ts by tools/docs/config-reference.ts. Do not edit: run `npm run docs`. -->',
  '',
  '`callscreen.yaml` (an example with every section: `config/callscreen.yaml`) is validated at start against',
  'the schema in `src/config/schema.ts`; this page is generated from it. An unknown key, a wrong value or bad',
  'YAML stops the daemon with exit code 2 and a message naming the file, line, column and reason:',
  '',
  '```',
  'callscreen: configuration error',
  '  callscreen.yaml:3:3 unknown key "denyVerdct" in screening',
  '```',
  '',
  'Every key is optional unless its default says *required*. The daemon watches the file: `screening`,',
  '`didGroups`, `policies`, `captcha` and `tags` take effect within about a second of saving it; a change to',
  'any other section is logged (`configuration changed that needs a restart`, naming the sections) and the',
  'running values stay. An edit with any problem is logged once with `file:line:column reason`, and the',
  'running settings stay. The rules files (`rules.file`, `rules.managedFile`) are watched the same way; their',
  'format is in [rules.md](rules.md). What the screening keys mean in a decision: [screening.md](screening.md).',
  '',
];

function environment(root: JsonSchema): string[] {
  const rows = Object.entries(ENV_OVERRIDES).map(([variable, path]) => {
    const node = at(root, path);
    const note = ENV_NOTES[variable];
    return `| \`${variable}\` | \`${path.join('.')}\` | ${cell([node?.description, note].filter(Boolean).join('; '))} |`;
  });
  return [
    '## Environment',
    '',
    'These variables override keys of the file (secrets belong in the environment, not in the file). An empty',
    'variable counts as not set.',
    '',
    '| variable | overrides | meaning |',
    '|---|---|---|',
    ...rows,
    '',
    'Other variables the daemon and the command line read:',
    '',
    '| variable | meaning |',
    '|---|---|',
    '| `CALLSCREEN_REDIS_PASSWORD` | the Redis password when the configuration gives none (for the url form: when the URL holds none) |',
    '| `CALLSCREEN_CONFIG` | the configuration file the commands read when `--config` is not given (default `config/callscreen.yaml`) |',
    '| `CALLSCREEN_DEBUG` | any value: a failing command also prints the stack trace |',
    '| `NO_COLOR` | any value: `callscreen log` prints no colours |',
    '| `CALLSCREEN_TEST_LOG_CAPTCHA_CODE` | `1`: the daemon logs each CAPTCHA code it says, for the tests and the demo. **Never in production**: whoever reads the log could pass every CAPTCHA |',
    '',
    'The variables that name a secret (`passwordEnv`, `sentinelPasswordEnv`, `http.auth.tokenEnv`,',
    '`http.auth.basic.passwordEnv`) are yours to choose; a name that is not set stops the start with `CS_ERR_CONFIG`.',
  ];
}

/** What the schema's description of the overridden key does not say. */
const ENV_NOTES: Readonly<Record<string, string>> = {
  CALLSCREEN_AMI_PORT: 'read as a number',
  CALLSCREEN_REDIS_URL: 'selects the url form: a sentinel or cluster block in the file is then ignored',
};

function sectionRows(name: string, node: JsonSchema): Row[] {
  const rows: Row[] = [];
  if (isPlainObject(node)) {
    for (const [key, child] of Object.entries(node.properties ?? {}))
      if (isSchema(child)) walk(child, `${name}.${key}`, node.required?.includes(key) ?? false, rows);
  } else walk(node, name, false, rows);
  return rows;
}

/** Rows for one key and, for an object or a list of objects, the keys beneath it. */
function walk(node: JsonSchema, key: string, required: boolean, rows: Row[]): void {
  if (isPlainObject(node) && !isOverrides(node)) {
    if (node.description || hasDefault(node)) rows.push(row(key, node, required));
    for (const [name, child] of Object.entries(node.properties ?? {}))
      if (isSchema(child)) walk(child, `${key}.${name}`, node.required?.includes(name) ?? false, rows);
    return;
  }
  rows.push(row(key, node, required));
  const items = isSchema(node.items) ? node.items : undefined;
  if (node.type === 'array' && items && isPlainObject(items)) walkChildren(items, `${key}[]`, rows);
  const values = isSchema(node.additionalProperties) ? node.additionalProperties : undefined;
  if (values && isPlainObject(values)) walkChildren(values, `${key}.<name>`, rows);
}

function walkChildren(node: JsonSchema, key: string, rows: Row[]): void {
  for (const [name, child] of Object.entries(node.properties ?? {}))
    if (isSchema(child)) walk(child, `${key}.${name}`, node.required?.includes(name) ?? false, rows);
}

function row(key: string, node: JsonSchema, required: boolean): Row {
  return {
    key: `\`${key}\``,
    type: typeName(node),
    default: defaultText(node, required),
    description: cell(node.description ?? ''),
  };
}

function table(rows: Row[]): string[] {
  return [
    '| key | type | default | description |',
    '|---|---|---|---|',
    ...rows.map((r) => `| ${r.key} | ${r.type} | ${r.default} | ${r.description} |`),
  ];
}

function typeName(node: JsonSchema): string {
  if (node.enum) return `one of ${node.enum.map((v) => `\`${String(v)}\``).join(', ')}`;
  if (node.anyOf) return node.anyOf.map(typeName).join(' or ');
  switch (node.type) {
    case 'integer':
    case 'number':
      return `${node.type === 'integer' ? 'integer' : 'number'}${range(node.minimum, node.maximum)}`;
    case 'string':
      if (node.format === 'uri') return 'URL';
      return node.maxLength !== undefined ? `string, at most ${node.maxLength} characters` : 'string';
    case 'boolean':
      return 'boolean';
    case 'array': {
      const items = isSchema(node.items) ? node.items : undefined;
      if (!items) return 'list';
      return isPlainObject(items) ? 'list of objects (keys below)' : `list of ${plural(typeName(items))}`;
    }
    case 'object': {
      const values = isSchema(node.additionalProperties) ? node.additionalProperties : undefined;
      if (values && !node.properties)
        return isPlainObject(values) ? 'map: name → object (keys below)' : `map: name → ${typeName(values)}`;
      const keys = Object.keys(node.properties ?? {});
      return isOverrides(node) ? `object with any of ${keys.map((k) => `\`${k}\``).join(', ')}` : 'object';
    }
    default:
      return 'any';
  }
}

function range(low: number | undefined, high: number | undefined): string {
  // zod's int() bounds an integer by the safe range: no bound worth printing
  const min = low !== undefined && low > Number.MIN_SAFE_INTEGER ? low : undefined;
  const max = high !== undefined && high < Number.MAX_SAFE_INTEGER ? high : undefined;
  if (min !== undefined && max !== undefined) return `, ${min} to ${max}`;
  if (min !== undefined) return `, at least ${min}`;
  if (max !== undefined) return `, at most ${max}`;
  return '';
}

function plural(type: string): string {
  if (type.startsWith('one of ') || type === 'URL') return type === 'URL' ? 'URLs' : `values, each ${type}`;
  return type.replace(/^(string|integer|number|boolean)/, '$1s');
}

function defaultText(node: JsonSchema, required: boolean): string {
  if (typeof node.defaultText === 'string') return node.defaultText;
  if (hasDefault(node)) {
    const value = node.default;
    if (isRecord(value) && Object.keys(value).length === 0 && isPlainObject(node)) return '';
    return `\`${flow(value)}\``;
  }
  return required ? '*required*' : '';
}

function hasDefault(node: JsonSchema): boolean {
  if (!('default' in node)) return false;
  return !(isRecord(node.default) && Object.keys(node.default).length === 0 && isPlainObject(node));
}

/** A value as YAML flow style would write it, short enough for a table cell. */
function flow(value: unknown): string {
  if (typeof value === 'string')
    return value === '' ? '""' : /^[\w.:/+@-]+$/.test(value) ? value : JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(flow).join(', ')}]`;
  if (isRecord(value))
    return `{${Object.entries(value)
      .map(([k, v]) => `${k}: ${flow(v)}`)
      .join(', ')}}`;
  return String(value);
}

/** An object with named keys (not a map of any names). */
function isPlainObject(node: JsonSchema): boolean {
  return node.type === 'object' && node.properties !== undefined;
}

/**
 * An object of overrides: every key optional and without a default (a policy's signals, thresholds,
 * CAPTCHA settings; the number types' points). Listing its keys as rows would repeat the section it
 * overrides, so it is one row.
 */
function isOverrides(node: JsonSchema): boolean {
  const properties = Object.values(node.properties ?? {});
  return (
    properties.length > 0 &&
    (node.required ?? []).length === 0 &&
    properties.every((p) => isSchema(p) && !('default' in p))
  );
}

function at(root: JsonSchema, path: readonly string[]): JsonSchema | undefined {
  let node: JsonSchema | undefined = root;
  for (const key of path) {
    const next: unknown = node?.properties?.[key];
    node = isSchema(next) ? next : undefined;
  }
  return node;
}

function isSchema(value: unknown): value is JsonSchema {
  return isRecord(value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function sentence(text: string): string {
  const capital = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/** Text for a table cell: `|` escaped everywhere, `<` outside code spans (GitHub would take <name> for a tag). */
function cell(text: string): string {
  return text
    .split('`')
    .map((part, i) => (i % 2 === 1 ? part.replace(/\|/g, '\\|') : part.replace(/\|/g, '\\|').replace(/</g, '&lt;')))
    .join('`');
}
