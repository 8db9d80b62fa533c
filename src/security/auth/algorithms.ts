/**
 * The only JWS algorithms accepted on any token or client assertion: the
 * asymmetric ones SMART names. Never `none`, and never HMAC, which would let
 * anyone holding a public key forge tokens with it.
 */
export const ACCEPTED_ALGORITHMS = ['RS256', 'RS384', 'ES256', 'ES384'] as const;

/** The server signs its own access tokens with this (fast to verify on every request). */
export const SERVER_SIGNING_ALGORITHM = 'RS256';

/** Seconds of clock difference tolerated between this server and an issuer. */
export const CLOCK_TOLERANCE_SECONDS = 30;
