import { AriEmitter } from '../../src/adapters/ari/ari-emitter';
import { MalformedAriFrameError, parseEventFrame } from '../../src/adapters/ari/event-frame';
import type { AriEvent, AriStateChange } from '../../src/ports/ari';

describe('ARI event frames', () => {
  test.each([
    ['not JSON', 'not json {'],
    ['not a JSON object', '[1,2]'],
    ['not a JSON object', 'null'],
    ['not a JSON object', '"StasisStart"'],
    ['no string "type"', '{"type":42}'],
    ['no string "type"', '{"application":"callscreen"}'],
  ])('a frame that is %s is malformed: %s', (reason, frame) => {
    const result = parseEventFrame(frame);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error).toBeInstanceOf(MalformedAriFrameError);
    expect(result.error).toMatchObject({ code: 'CS_ERR_ARI_FRAME', reason, frame });
  });

  test('unknown event types are passed on untouched', () => {
    const frame = { type: 'SomethingAsterisk23Invents', application: 'callscreen', payload: { a: [1] } };
    expect(parseEventFrame(JSON.stringify(frame))).toEqual({ ok: true, event: frame });
  });

  test('a long malformed frame is cut for the log', () => {
    const result = parseEventFrame(`x${'y'.repeat(1000)}`);
    expect(!result.ok && result.error.frame.length).toBe(203);
  });
});

class TestEmitter extends AriEmitter {
  event(e: AriEvent): void {
    this.emitEvent(e);
  }
  error(e: Error): void {
    this.emitError(e);
  }
  move(): void {
    this.setState('connecting');
    this.setState('reconnecting', { attempt: 2, delayMs: 300, reason: 'gone' });
  }
}

describe('AriEmitter: listeners cannot hurt the adapter', () => {
  test("an 'error' without a listener is dropped, not thrown", () => {
    expect(() => new TestEmitter().error(new Error('nobody listens'))).not.toThrow();
  });

  test('a throwing listener does not stop the others and is reported through error', () => {
    const emitter = new TestEmitter();
    const seen: string[] = [];
    const errors: Error[] = [];
    const bug = new Error('listener bug');
    emitter.on('event', () => {
      throw bug;
    });
    emitter.on('event', (e) => seen.push(e.type));
    emitter.on('error', (e) => errors.push(e));
    emitter.on('error', () => {
      throw new Error('a broken error listener is swallowed');
    });
    expect(() => emitter.event({ type: 'StasisEnd' })).not.toThrow();
    expect(seen).toEqual(['StasisEnd']);
    expect(errors).toEqual([bug]);
  });

  test('state changes carry the previous state and the details; off() removes a listener', () => {
    const emitter = new TestEmitter();
    const changes: AriStateChange[] = [];
    const listener = (c: AriStateChange): number => changes.push(c);
    emitter.on('state', listener);
    emitter.move();
    emitter.off('state', listener);
    emitter.move();
    expect(changes).toEqual([
      { state: 'connecting', previous: 'idle' },
      { state: 'reconnecting', previous: 'connecting', attempt: 2, delayMs: 300, reason: 'gone' },
    ]);
    expect(emitter.state).toBe('reconnecting');
  });
});
