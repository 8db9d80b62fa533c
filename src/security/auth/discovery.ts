import { ACCEPTED_ALGORITHMS } from './algorithms';

/** Paths of the auth endpoints, at the server's origin (not under the FHIR base path). */
export const TOKEN_PATH = '/auth/token';
export const JWKS_PATH = '/auth/jwks.json';
export const SMART_CONFIGURATION_PATH = '/.well-known/smart-configuration';

/** `/.well-known/smart-configuration` (http://hl7.org/fhir/smart-app-launch/conformance.html). */
export function smartConfiguration(origin: string): Record<string, unknown> {
  return {
    issuer: origin,
    jwks_uri: `${origin}${JWKS_PATH}`,
    token_endpoint: `${origin}${TOKEN_PATH}`,
    grant_types_supported: ['client_credentials'],
    token_endpoint_auth_methods_supported: ['private_key_jwt'],
    token_endpoint_auth_signing_alg_values_supported: [...ACCEPTED_ALGORITHMS],
    scopes_supported: ['system/*.cruds', 'user/*.cruds', 'patient/*.cruds', 'system/*.rs', 'user/*.rs', 'patient/*.rs', 'fhirUser', 'launch/patient'],
    capabilities: ['permission-v1', 'permission-v2', 'permission-patient', 'permission-user', 'client-confidential-asymmetric', 'context-ehr-patient'],
  };
}
