/**
 * The one piece of swagger-client 2.0.26 (ari-client's dependency, no types published) that
 * ari-client-ari.ts touches: SwaggerApi.prototype.fail, which calls the failure callback and then
 * throws the message from inside an HTTP callback.
 */
declare module 'swagger-client' {
  export const SwaggerApi:
    { prototype: { fail?: (this: { failure(message: unknown): void }, message: unknown) => void } } | undefined;
}
