import { AriRequestError } from '../../src/errors/ari-request-error';
import { AriTimeoutError } from '../../src/errors/ari-timeout-error';
import { AriUnavailableError } from '../../src/errors/ari-unavailable-error';
import { takesRestOverWebsocket, WebsocketRest } from '../../src/adapters/ari/websocket-rest';

interface Sent {
  type: string;
  request_id: string;
  method: string;
  uri: string;
}

function socket(timeoutMs = 1000): { rest: WebsocketRest; sent: Sent[]; failNext: (e: Error) => void } {
  const sent: Sent[] = [];
  let failure: Error | undefined;
  const rest = new WebsocketRest((text, done) => {
    sent.push(JSON.parse(text) as Sent);
    const e = failure;
    failure = undefined;
    queueMicrotask(() => done(e));
  }, timeoutMs);
  return { rest, sent, failNext: (e) => (failure = e) };
}

describe('WebsocketRest (ARI REST requests over the event websocket)', () => {
  test('sends RESTRequest messages in the order asked, with the path unslashed and the query encoded', () => {
    const { rest, sent } = socket();
    const a = rest.request('POST', '/channels/c1/variable', {
      variable: 'CALLERID(name)',
      value: 'SPAM? Zoë "x", a&b=c+d',
    });
    const b = rest.request('POST', '/channels/c1/continue', {
      context: 'agents',
      extension: '+12125550100',
      priority: 1,
    });
    expect(sent.map((m) => m.type)).toEqual(['RESTRequest', 'RESTRequest']);
    expect(sent[0]?.request_id).not.toBe(sent[1]?.request_id);
    expect(sent[0]?.uri.startsWith('channels/c1/variable?')).toBe(true);
    const query = new URLSearchParams(sent[0]?.uri.split('?')[1]);
    expect(query.get('variable')).toBe('CALLERID(name)');
    expect(query.get('value')).toBe('SPAM? Zoë "x", a&b=c+d');
    expect(sent[1]?.uri).toBe('channels/c1/continue?context=agents&extension=%2B12125550100&priority=1');
    expect(sent[1]?.method).toBe('POST');
    rest.close('test over');
    return Promise.allSettled([a, b]);
  });

  test('a 2xx answer resolves with its body; a 204 without one resolves undefined', async () => {
    const { rest, sent } = socket();
    const get = rest.request('GET', '/channels/c1/variable', { variable: 'X' });
    const post = rest.request('POST', '/channels/c1/continue');
    expect(rest.settle({ type: 'RESTResponse', request_id: sent[1]?.request_id, status_code: 204 })).toBe(true);
    expect(
      rest.settle({
        type: 'RESTResponse',
        request_id: sent[0]?.request_id,
        status_code: 200,
        message_body: { value: 'v' },
      }),
    ).toBe(true);
    await expect(get).resolves.toEqual({ value: 'v' });
    await expect(post).resolves.toBeUndefined();
    expect(rest.waiting).toBe(0);
  });

  test("a non-2xx answer rejects with AriRequestError carrying the status and Asterisk's message", async () => {
    const { rest, sent } = socket();
    const p = rest.request('POST', '/channels/gone/continue');
    rest.settle({
      type: 'RESTResponse',
      request_id: sent[0]?.request_id,
      status_code: 404,
      message_body: { message: 'Channel not found' },
    });
    const e = await p.catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AriRequestError);
    expect(e).toMatchObject({
      statusCode: 404,
      method: 'POST',
      path: '/channels/gone/continue',
      responseMessage: 'Channel not found',
    });
    const q = rest.request('POST', '/channels/x/continue');
    rest.settle({
      type: 'RESTResponse',
      request_id: sent[1]?.request_id,
      status_code: 409,
      message_body: '{"message":"Channel not in Stasis application"}',
    });
    await expect(q).rejects.toMatchObject({ statusCode: 409, responseMessage: 'Channel not in Stasis application' });
  });

  test("answers to nobody's request are not ours: late, unknown or without an id", async () => {
    const { rest, sent } = socket(20);
    const p = rest.request('GET', '/asterisk/ping');
    await expect(p).rejects.toBeInstanceOf(AriTimeoutError);
    expect(rest.settle({ type: 'RESTResponse', request_id: sent[0]?.request_id, status_code: 200 })).toBe(false);
    expect(rest.settle({ type: 'RESTResponse', request_id: 'someone-else', status_code: 200 })).toBe(false);
    expect(rest.settle({ type: 'RESTResponse', status_code: 200 })).toBe(false);
  });

  test('no answer within the timeout rejects with AriTimeoutError naming the request', async () => {
    const { rest } = socket(30);
    const started = Date.now();
    const e = await rest.request('POST', '/channels/c1/continue').catch((x: unknown) => x);
    expect(e).toBeInstanceOf(AriTimeoutError);
    expect(e).toMatchObject({ method: 'POST', path: '/channels/c1/continue', timeoutMs: 30 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(rest.waiting).toBe(0);
  });

  test('the link going down rejects every request waiting, and later ones at once, with AriUnavailableError', async () => {
    const { rest, sent } = socket();
    const a = rest.request('POST', '/channels/c1/variable', { variable: 'A', value: '1' });
    const b = rest.request('POST', '/channels/c1/continue');
    rest.close('websocket closed (code 1006)');
    await expect(a).rejects.toBeInstanceOf(AriUnavailableError);
    await expect(b).rejects.toMatchObject({ reason: 'websocket closed (code 1006)', path: '/channels/c1/continue' });
    await expect(rest.request('GET', '/asterisk/ping')).rejects.toBeInstanceOf(AriUnavailableError);
    expect(sent).toHaveLength(2); // nothing sent after the link went down
    expect(rest.waiting).toBe(0);
  });

  test('a message the socket could not send rejects its request with AriUnavailableError', async () => {
    const { rest, failNext } = socket();
    failNext(new Error('WebSocket is not open'));
    await expect(rest.request('POST', '/channels/c1/continue')).rejects.toMatchObject({
      code: 'CS_ERR_ARI_UNAVAILABLE',
      reason: 'websocket send failed',
    });
  });

  test('probe(): true when Asterisk answers on the socket (whatever the status), false when it stays silent', async () => {
    const answering = socket();
    const yes = answering.rest.probe();
    answering.rest.settle({
      type: 'RESTResponse',
      request_id: answering.sent[0]?.request_id,
      status_code: 200,
      message_body: { ping: 'pong' },
    });
    await expect(yes).resolves.toBe(true);
    expect(answering.sent[0]).toMatchObject({ method: 'GET', uri: 'asterisk/ping' });

    const refusing = socket();
    const no404 = refusing.rest.probe();
    refusing.rest.settle({ type: 'RESTResponse', request_id: refusing.sent[0]?.request_id, status_code: 404 });
    await expect(no404).resolves.toBe(true);

    const older = socket(20); // Asterisk before 20.14 / 21.9 / 22.4 reads the message and drops it
    await expect(older.rest.probe()).resolves.toBe(false);
  });
});

describe('takesRestOverWebsocket (what doctor tells about an Asterisk version)', () => {
  test.each([
    ['22.10.1+dfsg+~cs6.17.60671434-1', true],
    ['22.4.0', true],
    ['22.3.0', false],
    ['21.9.0', true],
    ['21.8.2', false],
    ['20.14.0', true],
    ['20.7.0', false],
    ['certified-20.7-cert5', false],
    ['23.0.0', true],
    ['18.26.0', false],
    ['GIT-master-abc123', undefined],
    ['?', undefined],
  ])('%s -> %s', (version, expected) => {
    expect(takesRestOverWebsocket(version)).toBe(expected);
  });
});
