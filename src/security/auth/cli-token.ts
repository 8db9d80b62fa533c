import { parseArgs } from 'node:util';
import type { Config } from '../../config';
import { parseFhirUser } from './principal';
import { loadSigningKey, signingKeyPath } from './signing-key';
import { signAccessToken, type AccessTokenClaims } from './token-endpoint';

const USAGE = 'usage: npm run token -- --fhir-user Practitioner/123 --scope "user/*.rs" [--patient 123] [--purpose TREAT] [--ttl 3600]';

/**
 * `npm run token`: an access token signed with the server's own key (the one
 * `npm start` uses, found through the same configuration), for local use.
 */
export async function mintToken(argv: string[], config: Pick<Config, 'baseUrl' | 'sqlitePath' | 'auth'>): Promise<string> {
  const { values } = parseArgs({
    args: argv,
    options: {
      'fhir-user': { type: 'string' },
      scope: { type: 'string' },
      patient: { type: 'string' },
      purpose: { type: 'string' },
      ttl: { type: 'string', default: '3600' },
    },
    strict: true,
  });
  const fhirUser = values['fhir-user'];
  if (!values.scope) throw new Error(`--scope is required\n${USAGE}`);
  if (fhirUser !== undefined && !parseFhirUser(fhirUser)) throw new Error(`--fhir-user must be Patient/, RelatedPerson/, Practitioner/, PractitionerRole/ or Organization/ and an id\n${USAGE}`);
  if (!/^\d+$/.test(values.ttl) || Number(values.ttl) < 1) throw new Error(`--ttl must be a number of seconds\n${USAGE}`);
  const key = await loadSigningKey(signingKeyPath({ ...config.auth, sqlitePath: config.sqlitePath }));
  const claims: AccessTokenClaims = {
    sub: fhirUser ?? 'operator',
    scope: values.scope,
    ...(fhirUser ? { fhirUser } : {}),
    ...(values.patient ? { patient: values.patient } : {}),
    ...(values.purpose ? { purpose_of_use: values.purpose } : {}),
    client_id: 'concord-cli',
  };
  return signAccessToken(key, new URL(config.baseUrl).origin, config.baseUrl, claims, Number(values.ttl));
}


