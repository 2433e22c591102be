/**
 * The daemon's HTTP server (fastify): a small base that routes are added to (the feedback endpoint
 * now; a review page and /metrics later). create(settings, deps) builds it, listen() binds, close()
 * is idempotent and lets requests in flight finish.
 *
 * Authentication is required on every route (onRequest hook, before the body is read) except routes
 * registered with `config: { public: true }` (meant for /healthz). A request without valid credentials
 * gets 401 with WWW-Authenticate.
 *
 * Secrets stay out of the log: fastify's own request logging is off (its request serializer leaves
 * headers out, but a later change might not), each request is logged at debug level with method,
 * path (no query string), status, time and the identity's name (a Basic user or "token #n", never
 * the token); errors are logged with their message only, never the request's headers or body.
 */
import Fastify, { LogController, type FastifyError, type FastifyInstance, type FastifyReply } from 'fastify';
import type { Logger } from '../ports/logger';
import { resolveCredentials, type HttpCredentials, type HttpSettings, type Identity } from './http-auth';
import { csrfHook, routedPath, securityHeadersHook, setSecurityHeaders } from './http-security';

export type { HttpSettings };

/** the largest request body accepted, bytes */
export const BODY_LIMIT = 16 * 1024;

declare module 'fastify' {
  interface FastifyRequest {
    /** who the request authenticated as (undefined on public routes) */
    identity?: Identity;
  }
  interface FastifyContextConfig {
    /** no credentials needed (health checks) */
    public?: boolean;
  }
}

export interface HttpServerDeps {
  logger: Logger;
  /** where tokenEnv and basic.passwordEnv are looked up; default process.env */
  env?: NodeJS.ProcessEnv;
}

export class HttpServer {
  private closing: Promise<void> | undefined;
  private listening = false;

  private constructor(
    readonly app: FastifyInstance,
    private readonly settings: HttpSettings,
    private readonly logger: Logger,
    readonly credentials: HttpCredentials,
  ) {}

  /** Builds the server with authentication; routes are added to `app` before listen(). Throws when http.auth has no usable credentials. */
  static create(settings: HttpSettings, deps: HttpServerDeps): HttpServer {
    const logger = deps.logger.child({ component: 'http' });
    const { credentials, warnings } = resolveCredentials(settings.auth, deps.env ?? process.env);
    for (const warning of warnings) logger.warn(warning);
    const app = Fastify({
      loggerInstance: logger,
      logController: new LogController({ disableRequestLogging: true }),
      bodyLimit: BODY_LIMIT,
      // behind a reverse proxy request.ip is the proxy's; callscreen does not trust X-Forwarded-For
      trustProxy: false,
      return503OnClosing: true,
      // a path the router cannot take (`/%zz`: 400, a parameter over 100 characters: 414) is answered
      // before any hook runs: give it the same error shape and security headers as every other answer
      frameworkErrors: (error, request, reply) => {
        const answer = reply as FastifyReply;
        const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 400;
        setSecurityHeaders(answer, routedPath(request));
        void answer.code(status).send({ error: errorName(status, error.code), message: error.message });
      },
    }) as unknown as FastifyInstance;
    // only JSON bodies (see the feedback route on CSRF); anything else is 415
    app.removeContentTypeParser('text/plain');

    app.addHook('onRequest', async (request, reply) => {
      if (request.routeOptions.config.public === true) return;
      const identity = credentials.authenticate(request.headers.authorization);
      if (!identity) {
        void reply
          .code(401)
          .header('WWW-Authenticate', credentials.challenges)
          .send({ error: 'unauthorized', message: 'credentials missing or wrong (Authorization: Bearer TOKEN)' });
        return reply;
      }
      request.identity = identity;
      return undefined;
    });
    // CSRF: every non-GET request needs X-Callscreen-Request: 1 and, when the browser sends one, its own Origin (http-security.ts)
    app.addHook('onRequest', csrfHook);
    app.addHook('onSend', securityHeadersHook);
    app.addHook('onResponse', async (request, reply) => {
      logger.debug(
        {
          method: request.method,
          path: request.url.split('?')[0],
          status: reply.statusCode,
          ms: Math.round(reply.elapsedTime),
          identity: request.identity?.name,
        },
        'http request',
      );
    });
    app.setErrorHandler((error: FastifyError, request, reply) => {
      const status = error.statusCode !== undefined && error.statusCode >= 400 ? error.statusCode : 500;
      if (status >= 500) {
        logger.error(
          { method: request.method, path: request.url.split('?')[0], err: error.message },
          'http request failed',
        );
        void reply.code(status).send({ error: 'internal', message: 'internal error; see the daemon log' });
        return;
      }
      void reply.code(status).send({ error: errorName(status, error.code), message: error.message });
    });
    app.setNotFoundHandler((_request, reply) => {
      void reply.code(404).send({ error: 'not-found', message: 'no such route' });
    });
    return new HttpServer(app, settings, logger, credentials);
  }

  /** Bind http.host:http.port (port 0: any free port). Rejects on a bind error (EADDRINUSE, EACCES). */
  async listen(): Promise<{ host: string; port: number }> {
    await this.app.listen({ host: this.settings.host, port: this.settings.port });
    this.listening = true;
    const address = this.address();
    this.logger.info(
      { ...address, tokens: this.credentials.summary.tokens, basic: this.credentials.summary.basic },
      'http listening',
    );
    return address;
  }

  /** host and port bound (after listen) */
  address(): { host: string; port: number } {
    const a = this.app.server.address();
    return a !== null && typeof a === 'object'
      ? { host: a.address, port: a.port }
      : { host: this.settings.host, port: this.settings.port };
  }

  /** Idempotent: stop accepting, let requests in flight finish, close. */
  close(): Promise<void> {
    this.closing ??= this.app.close().then(
      () => {
        if (this.listening) this.logger.info('http closed');
      },
      (e: unknown) => this.logger.warn({ err: (e as Error).message }, 'http close failed'),
    );
    return this.closing;
  }
}

function errorName(status: number, code: string | undefined): string {
  if (status === 415) return 'unsupported-media-type';
  if (status === 413) return 'too-large';
  if (status === 400) return 'bad-request';
  return code ?? `http-${status}`;
}
