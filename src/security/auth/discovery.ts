import { ACCEPTED_ALGORITHMS } from './algorithms';

/** Paths of the auth endpoints, at the server's origin (not under the FHIR base path). */
export const TOKEN_PATH = '/auth/token';
export const JWKS_PATH = '/auth/jwks.json';
export const INTROSPECT_PATH = '/auth/introspect';
export const REVOKE_PATH = '/auth/revoke';
export const SMART_CONFIGURATION_PATH = '/.well-known/smart-configuration';
export const OPENID_CONFIGURATION_PATH = '/.well-known/openid-configuration';
const AUTHORIZE = '/auth/authorize';

const SCOPES = [
  'openid', 'fhirUser', 'launch/patient', 'offline_access', 'online_access',
  'patient/*.rs', 'patient/*.cruds', 'user/*.rs', 'user/*.cruds', 'system/*.rs', 'system/*.cruds',
];

/** `/.well-known/smart-configuration` (http://hl7.org/fhir/smart-app-launch/conformance.html). */
export function smartConfiguration(origin: string): Record<string, unknown> {
  return {
    issuer: origin,
    jwks_uri: `${origin}${JWKS_PATH}`,
    authorization_endpoint: `${origin}${AUTHORIZE}`,
    token_endpoint: `${origin}${TOKEN_PATH}`,
    introspection_endpoint: `${origin}${INTROSPECT_PATH}`,
    revocation_endpoint: `${origin}${REVOKE_PATH}`,
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    response_types_supported: ['code'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'none'],
    token_endpoint_auth_signing_alg_values_supported: [...ACCEPTED_ALGORITHMS],
    scopes_supported: SCOPES,
    capabilities: [
      'launch-standalone',
      'client-public',
      'client-confidential-symmetric',
      'client-confidential-asymmetric',
      'context-standalone-patient',
      'context-ehr-patient',
      'permission-patient',
      'permission-user',
      'permission-v1',
      'permission-v2',
      'permission-offline',
      'permission-online',
      'sso-openid-connect',
    ],
  };
}

/** OpenID Connect Discovery 1.0 (section 3), for the ID tokens of `openid`. */
export function openidConfiguration(origin: string): Record<string, unknown> {
  return {
    issuer: origin,
    authorization_endpoint: `${origin}${AUTHORIZE}`,
    token_endpoint: `${origin}${TOKEN_PATH}`,
    jwks_uri: `${origin}${JWKS_PATH}`,
    introspection_endpoint: `${origin}${INTROSPECT_PATH}`,
    revocation_endpoint: `${origin}${REVOKE_PATH}`,
    response_types_supported: ['code'],
    subject_types_supported: ['public'],
    id_token_signing_alg_values_supported: ['RS256'],
    scopes_supported: SCOPES,
    claims_supported: ['iss', 'sub', 'aud', 'exp', 'iat', 'auth_time', 'nonce', 'fhirUser'],
    grant_types_supported: ['authorization_code', 'refresh_token', 'client_credentials'],
    code_challenge_methods_supported: ['S256'],
    token_endpoint_auth_methods_supported: ['private_key_jwt', 'client_secret_basic', 'client_secret_post', 'none'],
  };
}
