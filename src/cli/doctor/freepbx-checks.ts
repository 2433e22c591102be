/**
 * FreePBX, read from its generated dialplan: is it FreePBX, does a Custom Destination go to callscreen-inbound
 * with the number dialled (target callscreen-inbound,${FROM_DID},1), and does any inbound route go to that
 * Custom Destination (docs/install.md, FreePBX steps 3 and 4). Without the route step, callscreen never sees
 * a call, whatever else is right.
 *
 * FreePBX is recognised by two contexts it always writes: [from-internal] (its phones' context) and
 * [ext-did] (the inbound routes; written even with none). A plain Asterisk may well have a from-internal of
 * its own, and then is not taken for FreePBX. The routes are the extensions of the contexts [ext-did]
 * includes (ext-did-0001: routes with a caller ID, ext-did-0002: DID only); a route's destination is its
 * Goto to customdests,dest-<n>,1.
 */
import { fail, ok, warn, type DoctorCheck } from './doctor-check';

/** One row of AMI ShowDialPlan (ListDialplan): a priority of an extension, or an include. */
export interface DialplanRow {
  extension?: string;
  priority?: string;
  application?: string;
  appdata?: string;
  includecontext?: string;
}

/** A context's rows, or undefined when the context does not exist. */
export type ReadContext = (name: string) => Promise<readonly DialplanRow[] | undefined>;

const CUSTOM_DESTINATION_FIX =
  'Admin > Custom Destinations > Add: target callscreen-inbound,${FROM_DID},1; use it in your inbound routes';
const ROUTE_FIX =
  'Connectivity > Inbound Routes > your DID > Set Destination: Custom Destinations > the one going to callscreen-inbound; Apply Config';
/** extensions FreePBX writes into route contexts that are no route */
const NOT_ROUTES = new Set(['foo', 'fax', 'h', 'i', 't']);

/** Goto's arguments as context, extension, priority (undefined when the Goto does not name a context). */
function gotoTarget(row: DialplanRow): { context: string; extension: string } | undefined {
  if ((row.application ?? '').toLowerCase() !== 'goto') return undefined;
  const parts = (row.appdata ?? '').split(',').map((p) => p.trim());
  if (parts.length < 3) return undefined;
  return { context: parts[0] ?? '', extension: parts[1] ?? '' };
}

/** The checks on FreePBX; none when the dialplan is not FreePBX's. */
export async function freepbxChecks(read: ReadContext): Promise<DoctorCheck[]> {
  const extDid = await read('ext-did');
  if (extDid === undefined || (await read('from-internal')) === undefined) return [];

  // Custom Destinations that go to callscreen-inbound: dest-<n> -> the extension they hand over
  const toCallscreen = new Map<string, string>();
  for (const row of (await read('customdests')) ?? []) {
    const target = gotoTarget(row);
    if (target?.context === 'callscreen-inbound' && row.extension) toCallscreen.set(row.extension, target.extension);
  }
  if (toCallscreen.size === 0)
    return [
      fail(
        'freepbx',
        'custom destination',
        'FreePBX found, but no Custom Destination goes to callscreen-inbound',
        CUSTOM_DESTINATION_FIX,
      ),
    ];

  const checks: DoctorCheck[] = [];
  const named = [...toCallscreen].map(([dest, extension]) => `${dest} (callscreen-inbound,${extension},1)`);
  const wrong = [...toCallscreen].filter(([, extension]) => extension !== '${FROM_DID}');
  const fixed = wrong.filter(([, extension]) => /^\+?[0-9]{2,}$/.test(extension));
  if (wrong.length === 0)
    checks.push(ok('freepbx', 'custom destination', `goes to callscreen-inbound: ${named.join(', ')}`));
  else if (fixed.length === wrong.length)
    checks.push(
      warn(
        'freepbx',
        'custom destination',
        `${fixed.map(([dest, extension]) => `${dest} hands callscreen the DID ${extension}`).join(', ')} for every call, whatever number was dialled`,
        'target callscreen-inbound,${FROM_DID},1 hands over the number dialled (per-DID policies need it)',
      ),
    );
  else
    checks.push(
      fail(
        'freepbx',
        'custom destination',
        `${wrong
          .filter((w) => !fixed.includes(w))
          .map(([dest, extension]) => `${dest} targets callscreen-inbound,${extension},1`)
          .join(
            ', ',
          )}: callscreen gets that instead of the number dialled (and "s" matches no extension there: the call is lost)`,
        'Admin > Custom Destinations > edit it: target callscreen-inbound,${FROM_DID},1',
      ),
    );

  // inbound routes whose destination is one of those Custom Destinations
  const screened: string[] = [];
  const others: string[] = [];
  for (const include of extDid.map((row) => row.includecontext).filter((c): c is string => !!c)) {
    if (!include.startsWith('ext-did-')) continue;
    const routes = new Map<string, boolean>();
    for (const row of (await read(include)) ?? []) {
      const route = row.extension;
      if (!route || NOT_ROUTES.has(route)) continue;
      const target = gotoTarget(row);
      const toCustom = target?.context === 'customdests' && toCallscreen.has(target.extension);
      routes.set(route, (routes.get(route) ?? false) || toCustom);
    }
    for (const [route, toCustom] of routes) (toCustom ? screened : others).push(route);
  }
  const total = screened.length + others.length;
  checks.push(
    screened.length > 0
      ? ok(
          'freepbx',
          'inbound routes',
          `${screened.join(', ')} go${screened.length === 1 ? 'es' : ''} to callscreen (${screened.length} of ${total} inbound routes)`,
        )
      : fail(
          'freepbx',
          'inbound routes',
          `no inbound route goes to the Custom Destination ${[...toCallscreen.keys()].join(' / ')} (${total} routes): callscreen screens no call`,
          ROUTE_FIX,
        ),
  );
  return checks;
}
