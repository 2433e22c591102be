/**
 * The review console's static files (the package's console/ folder: index.html, console.js,
 * console.css, and the What if and Accuracy pages with their scripts), read once when the server starts and served from memory. The folder is found by
 * walking up from this module to the package root, so it works from dist/ and from the sources (tests).
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';

export interface ConsoleAsset {
  type: string;
  body: Buffer;
}

export interface ConsoleAssets {
  /** the page (GET /) */
  index: ConsoleAsset;
  /** by file name (GET /assets/<name>) */
  assets: ReadonlyMap<string, ConsoleAsset>;
  /** the other pages by their path without the slash (GET /what-if, /accuracy); absent: none */
  pages?: ReadonlyMap<string, ConsoleAsset>;
  dir: string;
}

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

/** The console/ folder of the package this module belongs to, or undefined when it is not there. */
export function findConsoleDir(from: string = __dirname): string | undefined {
  for (let dir = from; ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'console', 'index.html')))
      return path.join(dir, 'console');
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Reads the files; throws when the folder or the page is missing. */
export function loadConsoleAssets(dir: string | undefined = findConsoleDir()): ConsoleAssets {
  if (dir === undefined) throw new Error('the console/ folder was not found beside package.json');
  const index = { type: 'text/html; charset=utf-8', body: readFileSync(path.join(dir, 'index.html')) };
  const assets = new Map<string, ConsoleAsset>();
  for (const name of ['console.js', 'console-dom.js', 'console.css', 'pages.js']) {
    const type = TYPES[path.extname(name)] as string;
    assets.set(name, { type, body: readFileSync(path.join(dir, name)) });
  }
  const pages = new Map<string, ConsoleAsset>();
  for (const name of ['what-if', 'accuracy'])
    pages.set(name, { type: index.type, body: readFileSync(path.join(dir, `${name}.html`)) });
  return { index, assets, pages, dir };
}
