import { FhirError } from '../../errors';

/**
 * 401 with the challenge RFC 6750 asks for: a request without credentials
 * gets a bare `Bearer` challenge, a bad token `error="invalid_token"`. The
 * OperationOutcome says `login` and what was wrong, never the token.
 */
export function unauthorized(diagnostics: string, tokenPresented: boolean): FhirError {
  const challenge = tokenPresented ? 'Bearer realm="concord", error="invalid_token"' : 'Bearer realm="concord"';
  return new FhirError(401, [{ severity: 'error', code: 'login', diagnostics }], { 'WWW-Authenticate': challenge });
}
