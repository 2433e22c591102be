/* What the console's pages share: building the page from API data as text and SVG (never as HTML), and the
 * API itself (JSON both ways; every request with a body carries X-Callscreen-Request: 1, the server's CSRF
 * check). Imported by console.js and pages.js. */
/* global document, window, fetch */

export const VERDICTS = ['allow', 'challenge', 'voicemail', 'reject'];
const SVG_NS = 'http://www.w3.org/2000/svg';

export const $ = (id) => document.getElementById(id);

/** createElement with attributes and text children (strings become text nodes, never HTML) */
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') node.className = v;
    else node.setAttribute(k, v === true ? '' : String(v));
  }
  for (const child of children)
    node.append(child instanceof window.Node ? child : document.createTextNode(String(child)));
  return node;
}

/** an SVG element with attributes, and text when given */
export function svg(tag, attrs = {}, text) {
  const node = document.createElementNS(SVG_NS, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

/** fetch JSON; a failed answer throws with the server's message and `status` */
export async function api(path, init = {}) {
  const headers = { accept: 'application/json', ...(init.headers || {}) };
  if (init.body !== undefined) {
    headers['content-type'] = 'application/json';
    headers['x-callscreen-request'] = '1';
  }
  const res = await fetch(path, { ...init, headers, credentials: 'same-origin', cache: 'no-store' });
  const type = res.headers.get('content-type') || '';
  const data = type.includes('application/json') ? await res.json() : await res.text();
  if (!res.ok) {
    const message =
      data && typeof data === 'object' && typeof data.message === 'string' ? data.message : `HTTP ${res.status}`;
    const err = new Error(message);
    err.status = res.status;
    throw err;
  }
  return data;
}
