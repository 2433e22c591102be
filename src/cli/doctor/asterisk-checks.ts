/**
 * Asterisk as callscreen needs it, over ARI (and AMI for the dialplan, when ami.enabled): ARI reachable with
 * the configured credentials, the Stasis app name free or held (by a running daemon), the modules the
 * dialplan needs loaded, the dialplan's contexts and globals there and pointing at contexts that exist, the
 * Stasis app the dialplan sends calls to being the one the daemon registers, and on FreePBX the Custom
 * Destination and the inbound routes that send calls to callscreen (freepbx-checks.ts).
 */
import { AsteriskManagerAmi } from '../../adapters/ami/asterisk-manager-ami';
import { takesRestOverWebsocket } from '../../adapters/ari/websocket-rest';
import type { CallscreenConfig } from '../../config/schema';
import { errorText } from '../../errors/error-text';
import type { AmiPort } from '../../ports/ami';
import { fail, ok, warn, type DoctorCheck } from './doctor-check';
import { freepbxChecks, type ReadContext } from './freepbx-checks';

const TIMEOUT_MS = 5000;

interface Ari {
  get(path: string): Promise<{ status: number; body: unknown }>;
}

function ariClient(config: CallscreenConfig): Ari {
  const base = config.ari.url.replace(/\/+$/, '');
  const auth = `Basic ${Buffer.from(`${config.ari.username}:${config.ari.password}`).toString('base64')}`;
  return {
    async get(path) {
      const res = await fetch(`${base}/ari${path}`, {
        headers: { authorization: auth },
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      const text = await res.text();
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // not JSON: kept as text
      }
      return { status: res.status, body };
    },
  };
}

/** A global dialplan variable over ARI ("" when not set). */
async function globalVar(ari: Ari, name: string): Promise<string> {
  const res = await ari.get(`/asterisk/variable?variable=${encodeURIComponent(name)}`);
  if (res.status !== 200) return '';
  return String((res.body as { value?: unknown }).value ?? '');
}

export async function asteriskChecks(config: CallscreenConfig): Promise<DoctorCheck[]> {
  const ari = ariClient(config);
  const checks: DoctorCheck[] = [];
  let info: { status: number; body: unknown };
  try {
    info = await ari.get('/asterisk/info?only=system');
  } catch (e) {
    return [
      fail(
        'ari',
        'reachable',
        `${config.ari.url}: ${errorText(e)}`,
        "check ari.url, that Asterisk's HTTP server is on (http.conf: enabled = yes) and res_ari is loaded",
      ),
    ];
  }
  if (info.status === 401)
    return [
      fail(
        'ari',
        'credentials',
        `${config.ari.url} refused user "${config.ari.username}" (401)`,
        'set ari.username and ari.password (CALLSCREEN_ARI_PASSWORD) to a user of ari.conf',
      ),
    ];
  if (info.status !== 200)
    return [
      fail('ari', 'reachable', `${config.ari.url} answered HTTP ${info.status}`, 'check ari.url (http://host:8088)'),
    ];
  const version = (info.body as { system?: { version?: string } }).system?.version ?? '?';
  checks.push(ok('ari', 'reachable', `${config.ari.url} as "${config.ari.username}", Asterisk ${version}`));
  const oneRoundTrip = takesRestOverWebsocket(version);
  if (oneRoundTrip !== undefined)
    checks.push(
      oneRoundTrip
        ? ok('ari', 'routing', 'Asterisk takes REST requests over the websocket: a route is one round trip')
        : warn(
            'ari',
            'routing',
            `Asterisk ${version} takes no REST requests over the websocket: a route is two HTTP round trips (about 1-3 ms more post-dial delay)`,
            'upgrade Asterisk to 20.14, 21.9, 22.4 or later',
          ),
    );

  const apps = await ari.get('/applications');
  const names = Array.isArray(apps.body) ? (apps.body as Array<{ name?: string }>).map((a) => a.name) : [];
  checks.push(
    ok(
      'ari',
      'Stasis app',
      names.includes(config.ari.app)
        ? `"${config.ari.app}" is registered: a callscreen daemon is connected (a second one would take its calls)`
        : `"${config.ari.app}" is free`,
    ),
  );

  const modules = await ari.get('/asterisk/modules');
  const loaded = new Set(
    Array.isArray(modules.body)
      ? (modules.body as Array<{ name?: string; status?: string }>)
          .filter((m) => m.status === 'Running')
          .map((m) => String(m.name))
      : [],
  );
  for (const module of ['res_ari.so', 'res_stasis.so', 'app_stasis.so'])
    checks.push(
      loaded.has(module)
        ? ok('asterisk', module, 'loaded')
        : fail('asterisk', module, 'not loaded: calls cannot reach the daemon', `asterisk -rx 'module load ${module}'`),
    );
  const stirShaken = (await globalVar(ari, 'CALLSCREEN_STIR_SHAKEN')).toLowerCase() === 'yes';
  if (stirShaken)
    checks.push(
      loaded.has('res_stir_shaken.so')
        ? ok('asterisk', 'res_stir_shaken.so', 'loaded (CALLSCREEN_STIR_SHAKEN = yes)')
        : fail(
            'asterisk',
            'res_stir_shaken.so',
            'CALLSCREEN_STIR_SHAKEN = yes, but the module is not loaded',
            'load res_stir_shaken, or set CALLSCREEN_STIR_SHAKEN empty in [globals]',
          ),
    );
  if (!loaded.has('res_pjsip_diversion.so'))
    checks.push(
      warn(
        'asterisk',
        'res_pjsip_diversion.so',
        'not loaded: forwarded calls are not recognised (Diversion / History-Info)',
        "asterisk -rx 'module load res_pjsip_diversion.so'",
      ),
    );

  // the Stasis app the dialplan sends calls to
  const dialplanApp = (await globalVar(ari, 'CALLSCREEN_APP')) || 'callscreen';
  checks.push(
    dialplanApp === config.ari.app
      ? ok('dialplan', 'Stasis app name', `the dialplan and the daemon both use "${dialplanApp}"`)
      : fail(
          'dialplan',
          'Stasis app name',
          `the dialplan sends calls to Stasis app "${dialplanApp}", the daemon registers "${config.ari.app}": every call takes the fallback`,
          `set ari.app to "${dialplanApp}", or the global CALLSCREEN_APP to "${config.ari.app}"`,
        ),
  );
  const globals: Record<string, string> = {};
  for (const name of ['CALLSCREEN_AGENTS_CONTEXT', 'CALLSCREEN_VOICEMAIL_CONTEXT'])
    globals[name] = await globalVar(ari, name);
  for (const [name, value] of Object.entries(globals))
    if (value === '')
      checks.push(
        fail(
          'dialplan',
          name,
          'not set: calls screened to that target go nowhere',
          `set ${name} in [globals] (extensions.conf, or globals_custom.conf on FreePBX)`,
        ),
      );

  if (!config.ami.enabled) {
    checks.push(
      warn(
        'dialplan',
        'contexts',
        'not checked: reading the dialplan needs AMI',
        'set ami.enabled: true (and its credentials) to let doctor check the dialplan',
      ),
    );
    return checks;
  }
  checks.push(...(await dialplanChecks(config, globals)));
  return checks;
}

async function dialplanChecks(config: CallscreenConfig, globals: Record<string, string>): Promise<DoctorCheck[]> {
  const ami: AmiPort = new AsteriskManagerAmi({
    host: config.ami.host,
    port: config.ami.port,
    username: config.ami.username,
    password: config.ami.password,
    actionTimeoutMs: TIMEOUT_MS,
    connectTimeoutMs: TIMEOUT_MS,
  });
  ami.on('error', () => undefined);
  const checks: DoctorCheck[] = [];
  try {
    try {
      await ami.start();
    } catch (e) {
      return [
        fail(
          'ami',
          'login',
          `${config.ami.host}:${config.ami.port} as "${config.ami.username}": ${errorText(e)}`,
          'set ami.username and ami.password (CALLSCREEN_AMI_PASSWORD) to a user of manager.conf, and check ami.host/port',
        ),
      ];
    }
    checks.push(ok('ami', 'login', `${config.ami.host}:${config.ami.port} as "${config.ami.username}"`));
    /** the context's rows (ShowDialPlan), or undefined when the context does not exist */
    const context: ReadContext = async (name) => {
      try {
        return (await ami.listAction({ action: 'ShowDialPlan', context: name })).events;
      } catch (e) {
        const text = errorText(e);
        if (/did not find context|not found/i.test(text)) return undefined;
        if (/permission denied/i.test(text)) throw e;
        return undefined;
      }
    };
    try {
      const inbound = await context('callscreen-inbound');
      checks.push(
        inbound !== undefined
          ? ok('dialplan', 'callscreen-inbound', 'present')
          : fail(
              'dialplan',
              'callscreen-inbound',
              'missing: dialplan/callscreen.conf is not loaded',
              "copy dialplan/callscreen.conf to /etc/asterisk, #include it from extensions.conf, asterisk -rx 'dialplan reload'",
            ),
      );
      const targets = [
        ['routing.agents', config.routing.agents.context],
        ['routing.voicemail', config.routing.voicemail.context],
        ['CALLSCREEN_AGENTS_CONTEXT', globals.CALLSCREEN_AGENTS_CONTEXT ?? ''],
        ['CALLSCREEN_VOICEMAIL_CONTEXT', globals.CALLSCREEN_VOICEMAIL_CONTEXT ?? ''],
      ].filter(([, name]) => name !== '');
      for (const [what, name] of targets)
        checks.push(
          (await context(name as string)) !== undefined
            ? ok('dialplan', what as string, `context ${name} exists`)
            : fail(
                'dialplan',
                what as string,
                `context ${name} does not exist: calls sent there are lost to the dialplan`,
                `create [${name}] or point ${what} at a context that exists`,
              ),
        );
      // FreePBX: the inbound routes must reach callscreen through a Custom Destination
      checks.push(...(await freepbxChecks(context)));
    } catch (e) {
      checks.push(
        fail(
          'ami',
          'permissions',
          `ShowDialPlan refused: ${errorText(e)}`,
          'give the AMI user read = system,call,config,dialplan,reporting in manager.conf',
        ),
      );
    }
  } finally {
    await ami.close().catch(() => undefined);
  }
  return checks;
}
