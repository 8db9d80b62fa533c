/** Lifetimes of the authorization server's artefacts (docs/authorization-server.md, "Lifetimes"). */

/** An authorization code is exchanged at once; at most 60 seconds (RFC 6749 section 4.1.2 recommends at most 10 minutes). */
export const CODE_SECONDS = 60;
/** `offline_access`: 30 days from the token's last use (each use rotates it and starts the 30 days again). */
export const OFFLINE_REFRESH_SECONDS = 30 * 24 * 3600;
/** `online_access` refresh tokens and the sign-in session: 12 hours from sign-in, never extended. */
export const SESSION_SECONDS = 12 * 3600;
/** An authorization request waits this long for the user to sign in and approve. */
export const PENDING_REQUEST_SECONDS = 15 * 60;
/** Backend Services (client_credentials) tokens stay short, as SMART Backend Services recommends (at most 5 minutes). */
export const BACKEND_ACCESS_TOKEN_SECONDS = 300;
