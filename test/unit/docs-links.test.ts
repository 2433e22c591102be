/**
 * The README and the pages in docs/ link to each other by relative paths: every such link must lead to a
 * file that exists, and a link to a heading (#anchor) in a Markdown page to a heading that is there (as
 * GitHub makes anchors). The README stays short: the rest belongs in docs/.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '..', '..');
const pages = [
  'README.md',
  ...readdirSync(path.join(root, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];

/** The page's text without fenced code blocks and code spans: a link written in code is not a link. */
function prose(text: string): string {
  return text.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Relative link targets: [text](target) and ![alt](target), without a title. */
function relativeLinks(text: string): string[] {
  return [...prose(text).matchAll(/!?\[[^\]]*\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map((m) => m[1] as string)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target));
}

/** The anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces to hyphens. */
function anchors(text: string): Set<string> {
  const seen = new Map<string, number>();
  const result = new Set<string>();
  for (const m of text.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6}\s+(.+?)\s*#*\s*$/gm)) {
    const slug = (m[1] as string)
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    result.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return result;
}

describe('docs links', () => {
  it.each(pages)('%s links only to files and headings that exist', (page) => {
    const text = readFileSync(path.join(root, page), 'utf8');
    const broken = relativeLinks(text).filter((target) => {
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file === '' ? path.join(root, page) : path.resolve(path.dirname(path.join(root, page)), file);
      if (!existsSync(resolved)) return true;
      if (anchor === undefined || !resolved.endsWith('.md')) return false;
      return !anchors(readFileSync(resolved, 'utf8')).has(decodeURIComponent(anchor));
    });
    expect(broken).toEqual([]);
  });

  it('finds the links it checks', () => {
    expect(relativeLinks(readFileSync(path.join(root, 'README.md'), 'utf8'))).toContain('docs/install.md');
    expect(anchors("## Checking a number: `callscreen check`\n## STIR/SHAKEN\n## Agents' feedback")).toEqual(
      new Set(['checking-a-number-callscreen-check', 'stirshaken', 'agents-feedback']),
    );
  });

  it('keeps the README at most 200 lines', () => {
    const lines = readFileSync(path.join(root, 'README.md'), 'utf8').split('\n').length - 1;
    expect(lines).toBeLessThanOrEqual(200);
  });

  it('links every page in docs/ from the docs index', () => {
    const index = relativeLinks(readFileSync(path.join(root, 'docs', 'README.md'), 'utf8'));
    const unlinked = pages
      .filter((p) => p.startsWith('docs/') && p !== 'docs/README.md')
      .filter((p) => !index.includes(path.basename(p)));
    expect(unlinked).toEqual([]);
  });
});
