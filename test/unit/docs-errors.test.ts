/**
 * docs/errors.md against src/errors/codes.ts, both ways: every code the code defines has its section on
 * the page, and every CS_ERR_* code the docs name is one the code defines (no dead codes documented).
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { ErrorCode } from '../../src/errors/codes';

const root = path.join(__dirname, '..', '..');
const errorsPage = readFileSync(path.join(root, 'docs', 'errors.md'), 'utf8');
const defined = Object.values(ErrorCode).sort();

describe('docs/errors.md', () => {
  it('has a section for every code defined in src/errors/codes.ts, and none other', () => {
    const sections = [...errorsPage.matchAll(/^## (CS_ERR_[A-Z_]+)\s*$/gm)].map((m) => m[1]).sort();
    expect(sections).toEqual(defined);
  });

  it('says something under every code', () => {
    const empty = errorsPage
      .split(/^## /m)
      .slice(1)
      .filter((section) => section.split('\n').slice(1).join('').trim() === '')
      .map((section) => section.split('\n')[0]);
    expect(empty).toEqual([]);
  });

  it('names no undefined code anywhere in the docs or the README', () => {
    const pages = [
      path.join(root, 'README.md'),
      ...readdirSync(path.join(root, 'docs'))
        .filter((f) => f.endsWith('.md'))
        .map((f) => path.join(root, 'docs', f)),
    ];
    const unknown = pages.flatMap((page) =>
      [...readFileSync(page, 'utf8').matchAll(/CS_ERR_[A-Z_]*[A-Z]/g)]
        .map((m) => m[0])
        .filter((code) => !defined.includes(code as ErrorCode))
        .map((code) => `${path.relative(root, page)}: ${code}`),
    );
    expect(unknown).toEqual([]);
  });
});
