/**
 * The AriPort conformance suite: every adapter runs exactly these tests against the real Asterisk 22
 * of scripts/testbed (ari-native.test.ts, ari-client.test.ts). Nothing is mocked: faults come from
 * stopping Asterisk, from a TCP proxy that resets or blackholes connections, and, for bad event frames
 * only, from a relay that forwards Asterisk's real event stream and slips extra frames into it.
 *
 * Calls: the adapter registers the dialplan's Stasis app `callscreen` and a harness app. A test call
 * is `originate Local/<did>@callscreen-inbound` owned by the harness app: the `;2` half runs the
 * project's dialplan into Stasis(callscreen,inbound,<did>) like a trunk call would, the `;1` half
 * enters the harness app once the screened half is answered. Integration tests run serially
 * (--runInBand), so nothing else holds `callscreen` meanwhile. Adapters behind a proxy or relay use
 * an app of their own (originated into directly), so closing them never unregisters `callscreen`.
 */
import type { AriChannel, AriEvent, AriPort, AriPortOptions } from '../../src/ports/ari';
import { type AriAdapterKind, createAri } from '../../src/adapters/ari/create-ari';
import { AriRequestError } from '../../src/errors/ari-request-error';
import { AriTimeoutError } from '../../src/errors/ari-timeout-error';
import { AriUnavailableError } from '../../src/errors/ari-unavailable-error';
import { NativeAri } from '../../src/adapters/ari/native-ari';
import { startAsterisk, stopAsterisk, testbed } from '../support/testbed';
import {
  adminApps,
  adminHangup,
  AriRecorder,
  closedPort,
  eventually,
  sleep,
  timed,
  uniqueCall,
  waitFor,
} from './ari-contract-helpers';
import { AriEventRelay } from './ari-event-relay';
import { TcpFaultProxy } from './tcp-fault-proxy';

const SCREEN_APP = 'callscreen'; // hard-coded in dialplan/callscreen.conf
const OUTAGE_MS = 60_000;
/** Options that keep the suite quick; the production defaults are only slower, not different. */
const FAST = {
  username: testbed.ariUser,
  password: testbed.ariPassword,
  requestTimeoutMs: 2000,
  connectTimeoutMs: 5000,
  reconnectTimeoutMs: 2000,
  reconnectMinDelayMs: 100,
  reconnectMaxDelayMs: 1000,
  pingIntervalMs: 1000,
  pongTimeoutMs: 1000,
} satisfies Omit<AriPortOptions, 'url' | 'apps'>;

type EventOf<T extends AriEvent['type']> = Extract<AriEvent, { type: T }>;

/** Measured figures, printed once per adapter at the end (README: "which ARI adapter and why"). */
type Figures = Record<string, number | string>;

export function describeAriPortContract(kind: AriAdapterKind): void {
  const harnessApp = `cs-contract-${kind}`;
  const faultApp = `cs-contract-${kind}-fault`;
  const figures: Figures = {};
  const channels = new Set<string>();
  const suiteStart = Date.now();

  const make = (overrides: Partial<AriPortOptions> = {}): AriPort =>
    createAri(kind, { url: testbed.ariUrl, apps: [SCREEN_APP, harnessApp], ...FAST, ...overrides });

  /** A call from the PSTN as the dialplan sees it; resolves once the screened half is in Stasis. */
  async function placeCall(
    ari: AriPort,
    rec: AriRecorder,
  ): Promise<{ screened: AriChannel; harnessId: string; did: string; caller: string; start: AriEvent }> {
    const { caller, did } = uniqueCall();
    const since = rec.mark();
    const harness = await ari.originate({
      endpoint: `Local/${did}@callscreen-inbound`,
      app: harnessApp,
      appArgs: did,
      callerId: `"Contract ${kind}" <${caller}>`,
      timeoutSec: 15,
    });
    channels.add(harness.id);
    const start = await rec.waitEvent(
      since,
      (e) =>
        e.type === 'StasisStart' && e.application === SCREEN_APP && (e.channel as AriChannel).caller.number === caller,
      5000,
      `StasisStart in ${SCREEN_APP} for ${caller}`,
    );
    const screened = (start as EventOf<'StasisStart'>).channel;
    channels.add(screened.id);
    return { screened, harnessId: harness.id, did, caller, start };
  }

  /** A call straight into `app`, no dialplan: for adapters behind a proxy or relay. */
  async function callInto(ari: AriPort, rec: AriRecorder, app: string, marker: string): Promise<AriEvent> {
    const since = rec.mark();
    const channel = await ari.originate({ endpoint: 'Local/s@testbed-caller', app, appArgs: marker, timeoutSec: 15 });
    channels.add(channel.id);
    return rec.waitEvent(
      since,
      (e) => e.type === 'StasisStart' && e.application === app && (e.args as string[])[0] === marker,
      5000,
      `StasisStart in ${app} (${marker})`,
    );
  }

  const expectRequestError = async (promise: Promise<unknown>, statusCode: number): Promise<AriRequestError> => {
    const { error } = await timed(promise);
    expect(error).toBeInstanceOf(AriRequestError);
    const e = error as AriRequestError;
    expect(e.code).toBe('CS_ERR_ARI_REQUEST');
    expect(e.statusCode).toBe(statusCode);
    return e;
  };

  describe(`AriPort contract: ${kind} adapter`, () => {
    let ari: AriPort;
    let rec: AriRecorder;

    beforeAll(async () => {
      ari = make();
      rec = new AriRecorder(ari);
      await ari.start();
    }, 20_000);

    afterEach(async () => {
      await adminHangup(channels);
      channels.clear();
    });

    afterAll(async () => {
      await ari?.close();
      await startAsterisk(); // whatever happened above, the next suite finds Asterisk running
      figures.suiteSeconds = Math.round((Date.now() - suiteStart) / 1000);
      console.log(`[ari contract figures] ${kind}: ${JSON.stringify(figures)}`);
    }, 130_000);

    describe('with a healthy Asterisk', () => {
      test('start() registers the apps and asteriskInfo() reports Asterisk 22', async () => {
        expect(ari.kind).toBe(kind);
        expect(ari.state).toBe('connected');
        const apps = await ari.listApplications();
        expect(apps).toEqual(expect.arrayContaining([SCREEN_APP, harnessApp]));
        const info = await ari.asteriskInfo();
        expect(info.version).toMatch(/^22/);
        expect(rec.statesSince(0).map((s) => s.state)).toEqual(['connecting', 'connected']);
      });

      test('delivers StasisStart with caller number and args, and continueInDialplan moves the call on', async () => {
        const { screened, harnessId, did, caller, start } = await placeCall(ari, rec);
        // the dialplan hands over the DID, the STIR/SHAKEN attestation, the carrier's verstat, the From number,
        // who forwarded the call and the PJSIP endpoint (a Local channel: none known, each empty)
        expect(start).toMatchObject({
          type: 'StasisStart',
          application: SCREEN_APP,
          args: ['inbound', did, '', '', '', '', ''],
        });
        expect(screened.caller).toEqual({ name: `Contract ${kind}`, number: caller });
        expect(screened.dialplan?.exten).toBe(did);

        const since = rec.mark();
        await ari.continueInDialplan(screened.id, { context: 'callscreen-agents', extension: did, priority: 1 });
        await rec.waitEvent(
          since,
          (e) => e.type === 'StasisEnd' && (e.channel as AriChannel).id === screened.id,
          5000,
          'StasisEnd',
        );
        // the agents' stand-in answers, which lets the caller's half into the harness app
        await rec.waitEvent(
          since,
          (e) => e.type === 'StasisStart' && e.application === harnessApp && (e.channel as AriChannel).id === harnessId,
          5000,
          'caller half answered by the agents',
        );
      }, 20_000);

      test('continueWithVariables sets every variable before the call continues: the dialplan at the target reads them', async () => {
        const { screened, did } = await placeCall(ari, rec);
        if (ari instanceof NativeAri)
          await waitFor(() => ari instanceof NativeAri && ari.routesOverWebsocket, 3000, 'routes over the websocket');
        const awkward = 'SPAM? Zoë "quoted", a&b=c+d %41 ;|';
        const since = rec.mark();
        // the last variable names the app the target's Stasis() sends the call to: set too late, the
        // call would go back to SCREEN_APP instead
        const unset = await ari.continueWithVariables(
          screened.id,
          [
            ['CS_CONTRACT_A', awkward],
            ['CALLERID(name)', awkward],
            ['CALLSCREEN_APP', harnessApp],
          ],
          { context: 'callscreen-inbound', extension: did, priority: 1 },
        );
        expect(unset).toEqual([]);
        const again = await rec.waitEvent(
          since,
          (e) => e.type === 'StasisStart' && (e.channel as AriChannel).id === screened.id,
          5000,
          'the call back in Stasis',
        );
        expect(again.application).toBe(harnessApp);
        expect((again as EventOf<'StasisStart'>).channel.caller.name).toBe(awkward);
        await expect(ari.getChannelVar(screened.id, 'CS_CONTRACT_A')).resolves.toBe(awkward);
        await expectRequestError(
          ari.continueWithVariables('cs-contract-no-such-channel', [['CS_X', '1']], {
            context: 'callscreen-agents',
            extension: did,
          }),
          404,
        );
      }, 20_000);

      test('answers, plays and stops a prompt, passes DTMF both ways, sets and reads variables, hangs up', async () => {
        const { screened, harnessId, caller } = await placeCall(ari, rec);
        let since = rec.mark();
        await ari.answer(screened.id);
        await rec.waitEvent(
          since,
          (e) => e.type === 'StasisStart' && e.application === harnessApp && (e.channel as AriChannel).id === harnessId,
          5000,
          'caller half up',
        );

        since = rec.mark();
        const playback = await ari.play(screened.id, { media: 'sound:demo-instruct', lang: 'en' });
        expect(playback).toMatchObject({ media_uri: 'sound:demo-instruct', target_uri: `channel:${screened.id}` });
        await rec.waitEvent(
          since,
          (e) => e.type === 'PlaybackStarted' && (e.playback as { id: string }).id === playback.id,
          5000,
          'PlaybackStarted',
        );
        await ari.stopPlayback(playback.id);
        await rec.waitEvent(
          since,
          (e) => e.type === 'PlaybackFinished' && (e.playback as { id: string }).id === playback.id,
          5000,
          'PlaybackFinished',
        );

        since = rec.mark();
        await ari.sendDtmf(harnessId, '5', { duration: 120 });
        const toScreened = await rec.waitEvent(
          since,
          (e) => e.type === 'ChannelDtmfReceived' && (e.channel as AriChannel).id === screened.id,
          5000,
          'digit on the screened half',
        );
        expect((toScreened as EventOf<'ChannelDtmfReceived'>).digit).toBe('5');
        await ari.sendDtmf(screened.id, '7', { duration: 120 });
        const toCaller = await rec.waitEvent(
          since,
          (e) => e.type === 'ChannelDtmfReceived' && (e.channel as AriChannel).id === harnessId,
          5000,
          'digit on the caller half',
        );
        expect((toCaller as EventOf<'ChannelDtmfReceived'>).digit).toBe('7');

        await ari.setChannelVar(screened.id, 'CS_CONTRACT', `value ${kind}`);
        await expect(ari.getChannelVar(screened.id, 'CS_CONTRACT')).resolves.toBe(`value ${kind}`);
        await expect(ari.getChannel(screened.id)).resolves.toMatchObject({
          id: screened.id,
          state: 'Up',
          caller: { number: caller },
        });
        expect((await ari.listChannels()).map((c) => c.id)).toEqual(expect.arrayContaining([screened.id, harnessId]));

        since = rec.mark();
        await ari.hangup(screened.id);
        await rec.waitEvent(
          since,
          (e) => e.type === 'StasisEnd' && (e.channel as AriChannel).id === screened.id,
          5000,
          'StasisEnd after hangup',
        );
        await rec.waitEvent(
          since,
          (e) => e.type === 'ChannelDestroyed' && (e.channel as AriChannel).id === screened.id,
          5000,
          'ChannelDestroyed',
        );
      }, 30_000);

      test("rejects unknown channels and playbacks with AriRequestError 404 and Asterisk's message", async () => {
        const e = await expectRequestError(ari.getChannel('cs-contract-no-such-channel'), 404);
        expect(e).toMatchObject({
          method: 'GET',
          path: '/channels/cs-contract-no-such-channel',
          responseMessage: 'Channel not found',
        });
        await expectRequestError(
          ari.continueInDialplan('cs-contract-no-such-channel', { context: 'callscreen-agents', extension: '1' }),
          404,
        );
        await expectRequestError(ari.hangup('cs-contract-no-such-channel'), 404);
        await expectRequestError(ari.answer('cs-contract-no-such-channel'), 404);
        const p = await expectRequestError(ari.stopPlayback('cs-contract-no-such-playback'), 404);
        expect(p.responseMessage).toBe('Playback not found');
      });

      test('rejects requests with missing parameters with AriRequestError 400', async () => {
        const v = await expectRequestError(ari.getChannelVar('cs-contract-no-such-channel', ''), 400);
        expect(v.responseMessage).toBe('Variable name is required');
        const o = await expectRequestError(ari.originate({ endpoint: '', app: harnessApp }), 400);
        expect(o.responseMessage).toBe('Endpoint must be specified');
        await expectRequestError(ari.getChannel(''), 400); // refused before sending, like Asterisk would
      });
    });

    describe('when the transport breaks', () => {
      let proxy: TcpFaultProxy | undefined;
      let relay: AriEventRelay | undefined;
      const extra: AriPort[] = [];
      const viaProxy = async (
        overrides: Partial<AriPortOptions> = {},
      ): Promise<{ a: AriPort; r: AriRecorder; p: TcpFaultProxy }> => {
        proxy = await TcpFaultProxy.start(testbed.ariUrl);
        const a = make({ url: proxy.url, apps: [faultApp], ...overrides });
        extra.push(a);
        const r = new AriRecorder(a);
        await a.start();
        return { a, r, p: proxy };
      };

      afterEach(async () => {
        await Promise.allSettled(extra.splice(0).map((a) => a.close()));
        await proxy?.close();
        await relay?.close();
        proxy = undefined;
        relay = undefined;
      });

      test('rejects with AriTimeoutError when Asterisk stops answering, instead of hanging', async () => {
        const { a, p } = await viaProxy({ requestTimeoutMs: 800, pingIntervalMs: 60_000 });
        await expect(a.listApplications()).resolves.toContain(faultApp);
        p.blackhole({ newConnections: true });
        const list = await timed(a.listChannels());
        expect(list.error).toBeInstanceOf(AriTimeoutError);
        expect(list.error).toMatchObject({
          code: 'CS_ERR_ARI_TIMEOUT',
          method: 'GET',
          path: '/channels',
          timeoutMs: 800,
        });
        expect(list.ms).toBeLessThan(800 + 2000);
        const get = await timed(a.getChannel('cs-contract-anything'));
        expect(get.error).toBeInstanceOf(AriTimeoutError);
        expect(get.ms).toBeLessThan(800 + 2000);
        figures.timeoutRejectMs = list.ms;
      }, 20_000);

      test('rejects with AriUnavailableError when the connection is refused, and close() then stops the retries', async () => {
        const { a, r, p } = await viaProxy();
        const since = r.mark();
        await p.refuse();
        await r.waitState(since, 'reconnecting', 5000);
        const call = await timed(a.listChannels());
        expect(call.error).toBeInstanceOf(AriUnavailableError);
        expect(call.error).toMatchObject({ code: 'CS_ERR_ARI_UNAVAILABLE', method: 'GET', path: '/channels' });
        expect(call.ms).toBeLessThan(FAST.requestTimeoutMs);
        figures.refusedRejectMs = call.ms;

        await a.close();
        const closed = r.mark();
        await sleep(1500);
        expect(r.statesSince(closed)).toEqual([]);
        expect(a.state).toBe('closed');
      }, 20_000);

      test('start() rejects with AriUnavailableError when Asterisk cannot be reached within connectTimeoutMs', async () => {
        const a = make({ url: `http://127.0.0.1:${await closedPort()}`, apps: [faultApp], connectTimeoutMs: 1500 });
        extra.push(a);
        const r = new AriRecorder(a);
        const started = await timed(a.start());
        expect(started.error).toBeInstanceOf(AriUnavailableError);
        expect(started.ms).toBeLessThan(1500 + 2000);
        expect(a.state).toBe('idle');
        const retries = r.states.filter((s) => s.value.state === 'connecting' && s.value.attempt !== undefined);
        expect(retries.length).toBeGreaterThan(0);
        await expect(a.listChannels()).rejects.toBeInstanceOf(AriUnavailableError);
      }, 10_000);

      test('where Asterisk takes no REST requests on the websocket (before 22.4), routes go over HTTP in order', async () => {
        relay = await AriEventRelay.start(testbed.ariUrl); // passes nothing the client sends on the socket
        const a = make({ url: relay.url, apps: [faultApp] });
        extra.push(a);
        const r = new AriRecorder(a);
        await a.start();
        await sleep(FAST.requestTimeoutMs + 300); // the probe on the socket found no answer
        if (a instanceof NativeAri) expect(a.routesOverWebsocket).toBe(false);
        const start = await callInto(a, r, faultApp, 'http-route');
        const id = (start as EventOf<'StasisStart'>).channel.id;
        const since = r.mark();
        await expect(
          a.continueWithVariables(
            id,
            [
              ['CS_CONTRACT_B', 'over http'],
              ['CALLSCREEN_APP', faultApp],
            ],
            { context: 'callscreen-inbound', extension: '+12125550100', priority: 1 },
          ),
        ).resolves.toEqual([]);
        const again = await r.waitEvent(
          since,
          (e) =>
            e.type === 'StasisStart' && (e.channel as AriChannel).id === id && (e.args as string[])[0] === 'inbound',
          5000,
          'the call back in Stasis through callscreen-inbound',
        );
        expect(again.application).toBe(faultApp);
        await expect(a.getChannelVar(id, 'CS_CONTRACT_B')).resolves.toBe('over http');
      }, 20_000);

      test('reports malformed event frames through error, passes unknown types on, and keeps delivering', async () => {
        relay = await AriEventRelay.start(testbed.ariUrl);
        const a = make({ url: relay.url, apps: [faultApp] });
        extra.push(a);
        const r = new AriRecorder(a, { errors: false }); // first without an 'error' listener: must not crash
        await a.start();
        await waitFor(() => relay?.streamCount === 1, 3000, 'relayed event stream');
        const bad = ['not json {', '[1,2]', 'null', '{"type":42}', '{"application":"x"}'];
        const unknown = (n: number): string =>
          JSON.stringify({ type: 'CallscreenContractUnknown', application: faultApp, n, nested: { ok: true } });

        let since = r.mark();
        for (const frame of bad) relay.inject(frame);
        relay.inject(unknown(1));
        const first = await r.waitEvent(since, (e) => e.type === 'CallscreenContractUnknown', 3000, 'unknown event 1');
        expect(first).toEqual(JSON.parse(unknown(1)));

        r.listenForErrors();
        since = r.mark();
        for (const frame of bad) relay.inject(frame);
        relay.inject(unknown(2));
        await r.waitEvent(since, (e) => e.type === 'CallscreenContractUnknown' && e.n === 2, 3000, 'unknown event 2');
        expect(r.errors.map((e) => e.value.message)).toEqual(
          bad.map(() => expect.stringMatching(/malformed ARI event frame/)),
        );
        expect(r.errors.every((e) => (e.value as { code?: string }).code === 'CS_ERR_ARI_FRAME')).toBe(true);

        const listenerBug = new Error('a listener with a bug');
        a.on('event', () => {
          throw listenerBug;
        });
        const start = await callInto(a, r, faultApp, 'after-bad-frames');
        expect(start.type).toBe('StasisStart');
        expect(r.errors.some((e) => e.value === listenerBug)).toBe(true);
        expect(a.state).toBe('connected');
      }, 20_000);

      test('start() keeps trying while Asterisk answers 503 (as while it starts) and connects once it answers', async () => {
        relay = await AriEventRelay.start(testbed.ariUrl);
        relay.answerWith(503);
        const a = make({ url: relay.url, apps: [faultApp], connectTimeoutMs: 15_000 });
        extra.push(a);
        const r = new AriRecorder(a);
        const started = a.start();
        await waitFor(
          () => r.states.filter((s) => s.value.attempt !== undefined).length >= 3,
          10_000,
          'three failed attempts',
        );
        expect(a.state).toBe('connecting');
        relay.answerWith(undefined);
        await started;
        expect(a.state).toBe('connected');
        await expect(callInto(a, r, faultApp, 'after-503')).resolves.toMatchObject({ type: 'StasisStart' });
      }, 30_000);

      test('reconnects after the websocket is reset without a close frame', async () => {
        const { a, r, p } = await viaProxy();
        const since = r.mark();
        const t0 = Date.now();
        p.reset();
        const down = await r.waitState(since, 'reconnecting', 5000);
        const up = await r.waitState(since, 'connected', 15_000);
        figures.resetDetectMs = down.at - t0;
        figures.resetRecoverMs = up.at - t0;
        await expect(callInto(a, r, faultApp, 'after-reset')).resolves.toMatchObject({ type: 'StasisStart' });
      }, 30_000);

      test('notices a blackholed websocket through ping/pong and reconnects', async () => {
        const { a, r, p } = await viaProxy({ pingIntervalMs: 1000, pongTimeoutMs: 1000 });
        const since = r.mark();
        const t0 = Date.now();
        p.blackhole();
        const down = await r.waitState(since, 'reconnecting', 10_000);
        expect(down.value.reason).toMatch(/pong/);
        const up = await r.waitState(since, 'connected', 20_000);
        figures.blackholeDetectMs = down.at - t0;
        figures.blackholeRecoverMs = up.at - t0;
        await expect(callInto(a, r, faultApp, 'after-blackhole')).resolves.toMatchObject({ type: 'StasisStart' });
      }, 40_000);
    });

    describe('when Asterisk restarts', () => {
      test('reconnects after Asterisk restarts while idle, apps registered again', async () => {
        const since = rec.mark();
        try {
          await stopAsterisk();
          await rec.waitState(since, 'reconnecting', 5000);
        } finally {
          await startAsterisk();
        }
        const back = Date.now();
        const up = await rec.waitState(since, 'connected', 20_000);
        figures.idleRestartRecoverMs = up.at - back;
        const down = rec.statesSince(since).find((s) => s.state === 'reconnecting');
        expect(down).toMatchObject({
          previous: 'connected',
          attempt: 1,
          delayMs: expect.any(Number),
          reason: expect.any(String),
        });
        expect(await adminApps()).toEqual(expect.arrayContaining([SCREEN_APP, harnessApp]));
        await placeCall(ari, rec);
      }, 60_000);

      test('survives Asterisk restarting while a call is in Stasis: typed errors for the dead call, new calls work', async () => {
        const { screened } = await placeCall(ari, rec);
        const since = rec.mark();
        try {
          await stopAsterisk();
          await rec.waitState(since, 'reconnecting', 5000);
          const during = await timed(ari.getChannel(screened.id));
          expect(during.error).toBeInstanceOf(AriUnavailableError);
          figures.callDuringOutageRejectMs = during.ms;
        } finally {
          await startAsterisk();
        }
        const back = Date.now();
        const up = await rec.waitState(since, 'connected', 20_000);
        figures.inCallRestartRecoverMs = up.at - back;
        await expectRequestError(ari.getChannel(screened.id), 404);
        await expectRequestError(
          ari.continueInDialplan(screened.id, { context: 'callscreen-agents', extension: '1' }),
          404,
        );
        await expectRequestError(ari.hangup(screened.id), 404);
        await placeCall(ari, rec);
      }, 60_000);

      test('keeps retrying through a 60 s outage and is connected soon after Asterisk returns', async () => {
        const since = rec.mark();
        let back = 0;
        try {
          await stopAsterisk();
          await rec.waitState(since, 'reconnecting', 5000);
          await sleep(OUTAGE_MS);
        } finally {
          await startAsterisk();
          back = Date.now();
        }
        const retries = rec.states.filter((s) => s.seq > since && s.at <= back && s.value.state === 'reconnecting');
        expect(retries.length).toBeGreaterThan(10); // ari-client alone stops after 10
        expect(back - (retries.at(-1)?.at ?? 0)).toBeLessThan(
          FAST.reconnectMaxDelayMs + FAST.reconnectTimeoutMs + 1000,
        ); // still trying at the end
        expect(retries.map((s) => s.value.attempt)).toEqual(retries.map((_, i) => i + 1));
        const up = await rec.waitState(since, 'connected', 20_000);
        figures.outageAttempts = retries.length;
        figures.outageRecoverMs = up.at - back;
        await placeCall(ari, rec);
      }, 110_000);
    });

    test('close() is idempotent, unregisters the apps and later calls reject with AriUnavailableError', async () => {
      const first = ari.close();
      const second = ari.close();
      expect(second).toBe(first);
      await first;
      expect(ari.state).toBe('closed');
      // Asterisk drops the app when it has cleaned up the session, a moment after the close handshake;
      // on a loaded machine (the full suite with coverage) that moment was seen to pass 10 s
      await eventually(async () => !(await adminApps()).includes(harnessApp), 30_000, `${harnessApp} unregistered`);
      const closed = rec.mark();
      await expect(ari.getChannel('cs-contract-anything')).rejects.toBeInstanceOf(AriUnavailableError);
      await expect(ari.listApplications()).rejects.toMatchObject({
        code: 'CS_ERR_ARI_UNAVAILABLE',
        reason: 'adapter closed',
      });
      await expect(ari.start()).rejects.toBeInstanceOf(AriUnavailableError);
      await sleep(500);
      expect(rec.statesSince(closed)).toEqual([]);
    }, 45_000); // its own waits add up to ~31 s at most: jest's default 5 s cut it short on a loaded machine
  });
}
