import { recoverStatus } from '../../src/adapters/ari/ari-client-status';
import { resolveAriOptions } from '../../src/adapters/ari/ari-options';
import { bodyMessage, plainJson, queryString, segment } from '../../src/adapters/ari/ari-rest';
import { AriRequestError } from '../../src/errors/ari-request-error';

const base = { username: 'u', password: 'p', apps: ['callscreen', 'cs test'] };

describe('ARI options', () => {
  test.each(['http://pbx:8088', 'http://pbx:8088/', 'http://pbx:8088/ari', 'http://pbx:8088/ari/'])(
    'url %s is accepted with or without /ari',
    (url) => {
      const o = resolveAriOptions({ ...base, url });
      expect(o.restBase).toBe('http://pbx:8088/ari');
      expect(o.eventsUrl).toBe('ws://pbx:8088/ari/events?app=callscreen,cs%20test&subscribeAll=false');
      expect(o.origin).toBe('http://pbx:8088');
    },
  );

  test('https becomes wss and a path prefix is kept', () => {
    const o = resolveAriOptions({ ...base, url: 'https://pbx.example/asterisk/ari' });
    expect(o.restBase).toBe('https://pbx.example/asterisk/ari');
    expect(o.eventsUrl.startsWith('wss://pbx.example/asterisk/ari/events?')).toBe(true);
  });

  test('defaults are filled in and the result is frozen', () => {
    const o = resolveAriOptions({ ...base, url: 'http://pbx:8088' });
    expect(o).toMatchObject({
      requestTimeoutMs: 2000,
      connectTimeoutMs: 10_000,
      reconnectTimeoutMs: 2000,
      reconnectMinDelayMs: 250,
      reconnectMaxDelayMs: 5000,
      quickReconnectForMs: 60_000,
      quickReconnectMaxDelayMs: 1000,
      pingIntervalMs: 500,
      pongTimeoutMs: 600,
    });
    expect(Object.isFrozen(o)).toBe(true);
  });

  test('the defaults notice a dead link within about a second and keep reconnect attempts short', () => {
    const o = resolveAriOptions({ ...base, url: 'http://pbx:8088' });
    expect(o.pingIntervalMs + o.pongTimeoutMs).toBeLessThanOrEqual(1200); // worst case: dies just after a pong
    expect(o.reconnectTimeoutMs).toBeLessThan(o.connectTimeoutMs); // the first connect stays generous
    expect(o.quickReconnectMaxDelayMs + o.reconnectTimeoutMs).toBeLessThanOrEqual(3000);
  });

  test.each([
    [{ url: 'ftp://pbx' }, /http/],
    [{ url: 'http://pbx', apps: [] }, /at least one/],
    [{ url: 'http://pbx', requestTimeoutMs: 0 }, /requestTimeoutMs/],
    [{ url: 'http://pbx', reconnectTimeoutMs: -1 }, /reconnectTimeoutMs/],
    [{ url: 'http://pbx', reconnectMinDelayMs: 900, reconnectMaxDelayMs: 100 }, /reconnectMaxDelayMs/],
  ])('bad options are refused: %j', (overrides, message) => {
    expect(() => resolveAriOptions({ ...base, ...overrides })).toThrow(message);
  });
});

describe('ARI REST helpers', () => {
  test('an empty path id is refused as a 400 before anything is sent', () => {
    expect(() => segment('channelId', '', 'GET', '/channels/{channelId}')).toThrow(AriRequestError);
    expect(segment('channelId', 'a/b c', 'GET', '/channels/{channelId}')).toBe('a%2Fb%20c');
  });

  test('query strings skip undefined but keep empty strings (Asterisk answers those with 400)', () => {
    expect(queryString({ variable: '', value: undefined, priority: 1 })).toBe('?variable=&priority=1');
    expect(queryString({})).toBe('');
  });

  test("Asterisk's message is read from a JSON body only", () => {
    expect(bodyMessage('{"message":"Channel not found"}')).toBe('Channel not found');
    expect(bodyMessage('<html>404</html>')).toBeUndefined();
    expect(bodyMessage('')).toBeUndefined();
  });

  test('ari-client resources become plain ARI data', () => {
    const client = { self: undefined as unknown };
    client.self = client;
    expect(plainJson({ id: '1', _client: client, answer: () => undefined, caller: { number: '+1' } })).toEqual({
      id: '1',
      caller: { number: '+1' },
    });
  });
});

describe('HTTP status recovered for ari-client errors', () => {
  const documented = [
    { code: 404, message: 'Channel not found' },
    { code: '409', reason: 'Channel not in a Stasis application' },
  ];

  test('from the operation documented error responses', () => {
    expect(recoverStatus(documented, 'Channel not found')).toBe(404);
    expect(recoverStatus(documented, 'channel not in a stasis application.')).toBe(409);
  });

  test.each([
    ['Playback not found', 404],
    ['Variable name is required', 400],
    ['Endpoint must be specified', 400],
    ['Channel in invalid state', 412],
    ['Authentication required', 401],
  ])('from the usual wording: %s -> %d', (message, status) => {
    expect(recoverStatus([], message)).toBe(status);
  });

  test('unknown when nothing matches', () => {
    expect(recoverStatus(documented, 'Something odd')).toBeUndefined();
    expect(recoverStatus(documented, undefined)).toBeUndefined();
  });
});
