import { decodeJwt, decodeProtectedHeader, errors, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from 'jose';
import { ACCEPTED_ALGORITHMS, CLOCK_TOLERANCE_SECONDS } from './algorithms';
import { unauthorized } from './unauthorized';

export interface TokenVerifier {
  /** The server's own issuer (its origin) and keys, for tokens from `POST /auth/token` and `npm run token`. */
  ownIssuer: string;
  ownKeys: JWTVerifyGetKey;
  trustedIssuers: ReadonlyMap<string, JWTVerifyGetKey>;
  /** `BASE_URL`: the only audience accepted. */
  audience: string;
}

/** Why jose refused a token, in words for the OperationOutcome. */
function reason(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'The access token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'nbf') return 'The access token is not valid yet';
    if (error.claim === 'aud') return 'The access token is not meant for this server (aud)';
    return `The access token's ${error.claim} claim is missing or invalid`;
  }
  if (error instanceof errors.JWKSNoMatchingKey) return 'No key of the issuer matches the access token (kid)';
  if (error instanceof errors.JWSSignatureVerificationFailed) return 'The access token signature does not verify';
  return 'The access token cannot be verified';
}

/**
 * Verifies a bearer token and returns its claims: an accepted algorithm
 * (checked before any key is looked at), a known issuer, a signature by that
 * issuer's key named by `kid`, `exp` present and not passed, `nbf` passed,
 * `aud` = BASE_URL. Every failure is a 401.
 */
export async function verifyAccessToken(verifier: TokenVerifier, token: string): Promise<JWTPayload> {
  let alg: string | undefined;
  let issuer: string | undefined;
  try {
    alg = decodeProtectedHeader(token).alg;
    issuer = decodeJwt(token).iss;
  } catch {
    throw unauthorized('The access token is not a well-formed JWT', true);
  }
  if (!(ACCEPTED_ALGORITHMS as readonly string[]).includes(alg ?? '')) {
    throw unauthorized(`Access tokens must be signed with ${ACCEPTED_ALGORITHMS.join(', ')}`, true);
  }
  const keys = issuer === verifier.ownIssuer ? verifier.ownKeys : issuer === undefined ? undefined : verifier.trustedIssuers.get(issuer);
  if (!keys || issuer === undefined) throw unauthorized('The access token was not issued by a trusted issuer', true);
  try {
    const { payload } = await jwtVerify(token, keys, {
      algorithms: [...ACCEPTED_ALGORITHMS],
      issuer,
      audience: verifier.audience,
      requiredClaims: ['exp'],
      clockTolerance: CLOCK_TOLERANCE_SECONDS,
    });
    return payload;
  } catch (error) {
    throw unauthorized(reason(error), true);
  }
}
