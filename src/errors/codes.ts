/** Every error code callscreen throws, in one place; docs/errors.md documents each (test/unit/docs-errors.test.ts). */
export const ErrorCode = {
  /** A YAML file could not be read or parsed, or failed the schema. Carries file, line, column. */
  Config: 'CS_ERR_CONFIG',
  /** An ARI REST request answered with a non-2xx status. Carries the HTTP status. */
  AriRequest: 'CS_ERR_ARI_REQUEST',
  /** An ARI REST request got no answer inside its timeout. */
  AriTimeout: 'CS_ERR_ARI_TIMEOUT',
  /** An ARI request was made while the adapter was closed or could not reach Asterisk at all. */
  AriUnavailable: 'CS_ERR_ARI_UNAVAILABLE',
  /** An ARI event frame was not JSON or had no type; it is dropped and reported, delivery goes on. */
  AriFrame: 'CS_ERR_ARI_FRAME',
  /** An AMI action answered with Response: Error. */
  AmiAction: 'CS_ERR_AMI_ACTION',
  /** An AMI action got no answer inside its timeout. */
  AmiTimeout: 'CS_ERR_AMI_TIMEOUT',
  /** An AMI action was pending when the connection dropped, or was sent while disconnected/closed. */
  AmiDisconnected: 'CS_ERR_AMI_DISCONNECTED',
  /** A feed subscription's download failed (HTTP status, size limit, timeout, redirects, network, file). */
  FeedDownload: 'CS_ERR_FEED_DOWNLOAD',
  /** A downloaded feed was not imported: it shrank past its shrink guard, or held no numbers. */
  FeedRefused: 'CS_ERR_FEED_REFUSED',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
