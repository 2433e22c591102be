/**
 * Types for asterisk-manager 0.2.0 (the package ships none): only what AsteriskManagerAmi uses, as the
 * package's lib/ami.js behaves (read there, and measured against Asterisk 22).
 */
declare module 'asterisk-manager' {
  namespace AsteriskManager {
    /**
     * One parsed AMI message. Keys are trimmed and lower-cased; a key that repeats becomes an array;
     * `variable` / `chanvariable` become objects ("Variable: A=1" -> { A: '1' }; "Variable: A" -> { A: '' }).
     * "Response: Follows" replies arrive as { response: 'follows', content, actionid }.
     */
    type RawMessage = Record<string, string | string[] | Record<string, string> | undefined>;

    /** An action: keys are sent as "Key: value" with the first letter upper-cased, in sorted order. */
    type RawAction = Record<string, string | number | boolean | undefined>;

    interface Manager {
      readonly options: { port: number; host: string; username: string; password: string; events: boolean };
      /** Opens the TCP connection; `callback` runs on 'connect' (never on failure: watch 'error'/'close'). */
      connect(port: number, host: string, callback?: () => void): void;
      /**
       * Sends Login with options.username / options.password. `callback(error)` runs with the error
       * response, or with nothing once logged in; never when the socket drops first.
       */
      login(callback?: (error?: RawMessage) => void): void;
      /** Reconnects on 'close' after 10 s, +10 s per try up to 60 s; prints with console.log. Not used here. */
      keepConnected(): void;
      /**
       * Sends an action (held back until logged in). The callback runs once with (error response) or
       * (undefined, response); never when the socket drops. Returns the ActionID used.
       */
      action(action: RawAction, callback?: (error: RawMessage | undefined, response?: RawMessage) => void): string;
      /** Ends the socket (a FIN; the socket itself is not reachable to destroy it). */
      disconnect(callback?: () => void): void;
      isConnected(): boolean;

      // on/removeListener/... are the inner EventEmitter's methods bound to it: they return that emitter
      on(event: 'managerevent' | 'response', listener: (message: RawMessage) => void): unknown;
      on(event: 'error', listener: (error: Error) => void): unknown;
      on(event: 'connect' | 'close' | 'end', listener: () => void): unknown;
      removeListener(event: string, listener: (...args: never[]) => void): unknown;
      removeAllListeners(event?: string): unknown;
    }
  }

  const AsteriskManager: {
    /** With a port (and username) it connects and logs in at once; without one it waits for connect(). */
    (port?: number, host?: string, username?: string, password?: string, events?: boolean): AsteriskManager.Manager;
    new (port?: number, host?: string, username?: string, password?: string, events?: boolean): AsteriskManager.Manager;
  };

  export = AsteriskManager;
}
