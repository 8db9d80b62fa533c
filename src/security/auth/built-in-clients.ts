import { ConfigError } from '../../config';
import type { RegisteredClient } from './clients';

/** Where Concord serves its privacy page (src/http/privacy-page.ts), at the server's origin. */
export const PRIVACY_PATH = '/privacy/';
export const PRIVACY_CLIENT_ID = 'concord-privacy';

/**
 * What the privacy page asks for: the patient's record to describe it
 * (`patient/*.rs`, which also resolves names in the access log), writing
 * the patient's Consents and adding a family member. A RelatedPerson signed
 * in gets the same scopes, and the Consent write rule still refuses them
 * (docs/access-control.md, "Writing Consents").
 */
export const PRIVACY_SCOPES = 'openid fhirUser launch/patient patient/*.rs patient/Consent.cu patient/RelatedPerson.c';

/**
 * The privacy page is a SMART app like any other (SMART App Launch 2.2, a
 * public client: it runs in the browser and can keep no secret, so PKCE is
 * its only proof). Its one redirect URI is the page itself, at the origin of
 * BASE_URL, so the code never leaves the server's own site.
 */
export function privacyClient(origin: string): RegisteredClient {
  return {
    clientId: PRIVACY_CLIENT_ID,
    type: 'public',
    name: 'Concord privacy page',
    redirectUris: [`${origin}${PRIVACY_PATH}`],
    allowedScopes: PRIVACY_SCOPES.split(' '),
  };
}

/** The file's clients plus the built-in ones; a file entry may not take a built-in client's id. */
export function withBuiltInClients(clients: Map<string, RegisteredClient>, origin: string): Map<string, RegisteredClient> {
  if (clients.has(PRIVACY_CLIENT_ID)) throw new ConfigError('AUTH_CLIENTS_FILE', `clientId ${PRIVACY_CLIENT_ID} is reserved for the built-in privacy page`);
  return new Map([...clients, [PRIVACY_CLIENT_ID, privacyClient(origin)]]);
}
