import type { JWTPayload } from 'jose';
import { systemContext, type ActorType, type Principal, type TokenGrant } from '../../context';
import type { Storage } from '../../storage/port';
import { parseScopes } from '../scopes/parse-scopes';
import { unauthorized } from './unauthorized';

const ACTOR_TYPES: readonly ActorType[] = ['Patient', 'RelatedPerson', 'Practitioner', 'PractitionerRole', 'Organization'];

/** `Practitioner/123` or `https://any.host/fhir/Practitioner/123` (version suffix allowed) → type and id. */
const FHIR_USER = /^(?:https?:\/\/[^?#]+\/)?(Patient|RelatedPerson|Practitioner|PractitionerRole|Organization)\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[^/]+)?$/;

const ORGANIZATION_TYPE = 'http://terminology.hl7.org/CodeSystem/organization-type';

/** Purpose of use when the token names none (docs/access-control.md, "The decision": the actor decides). */
const DEFAULT_PURPOSE: Record<Exclude<ActorType, 'Organization'>, string> = {
  Patient: 'PATRQT',
  RelatedPerson: 'FAMRQT',
  Practitioner: 'TREAT',
  PractitionerRole: 'TREAT',
};

export function parseFhirUser(raw: string): { actorType: ActorType; id: string } | undefined {
  const [, type, id] = FHIR_USER.exec(raw) ?? [];
  return type !== undefined && id !== undefined && (ACTOR_TYPES as readonly string[]).includes(type) ? { actorType: type as ActorType, id } : undefined;
}

/** A payer (Organization.type code `pay`) acts for payment, any other organization for treatment. */
async function organizationPurpose(storage: Storage, baseUrl: string, id: string): Promise<string> {
  // The principal is being built: the lookup itself runs as the operator, outside any access filter.
  const record = await storage.read(systemContext(baseUrl, 'auth'), 'Organization', id);
  const types = (record?.resource as { type?: Array<{ coding?: Array<{ system?: string; code?: string }> }> } | undefined)?.type ?? [];
  const isPayer = types.some((type) => (type.coding ?? []).some((coding) => coding.system === ORGANIZATION_TYPE && coding.code === 'pay'));
  return isPayer ? 'HPAYMT' : 'TREAT';
}

function optionalString(claims: JWTPayload, name: string): string | undefined {
  const value = claims[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw unauthorized(`The access token's ${name} claim must be a non-empty string`, true);
  return value;
}

/**
 * The principal a verified token describes. Only `system/` scopes and no
 * `fhirUser`: the operator (scopes still apply, consent does not). Otherwise
 * the token must name its actor in `fhirUser`, since consent decides by
 * actor; and a `patient/` scope needs the `patient` launch context.
 */
export async function principalFromClaims(claims: JWTPayload, storage: Storage, baseUrl: string): Promise<Principal> {
  const scopeClaim = optionalString(claims, 'scope') ?? '';
  const fhirUserClaim = optionalString(claims, 'fhirUser');
  const patient = optionalString(claims, 'patient');
  const purposeClaim = optionalString(claims, 'purpose_of_use');
  if (purposeClaim !== undefined && !/^[A-Z]{2,20}$/.test(purposeClaim)) {
    throw unauthorized('purpose_of_use must be one v3-ActReason code such as TREAT', true);
  }
  const scopes = parseScopes(scopeClaim, baseUrl);
  const token: TokenGrant = {
    issuer: String(claims.iss),
    clientId: optionalString(claims, 'client_id') ?? optionalString(claims, 'azp'),
    ...(typeof claims.sub === 'string' && claims.sub !== '' ? { subject: claims.sub } : {}),
    scopes,
  };
  if (scopes.some((scope) => scope.context === 'patient') && patient === undefined) {
    throw unauthorized('A token with patient/ scopes needs a patient claim (the launch context)', true);
  }
  if (patient !== undefined && !/^[A-Za-z0-9\-.]{1,64}$/.test(patient)) throw unauthorized('The patient claim must be a resource id', true);
  if (fhirUserClaim === undefined) {
    if (scopes.every((scope) => scope.context === 'system')) return { kind: 'operator', token };
    throw unauthorized('A token with user/ or patient/ scopes needs a fhirUser claim naming the actor', true);
  }
  const actor = parseFhirUser(fhirUserClaim);
  if (!actor) throw unauthorized(`fhirUser must reference a ${ACTOR_TYPES.join(', ')}`, true);
  const purpose =
    purposeClaim ?? (actor.actorType === 'Organization' ? await organizationPurpose(storage, baseUrl, actor.id) : DEFAULT_PURPOSE[actor.actorType]);
  return { kind: 'user', token, fhirUser: `${actor.actorType}/${actor.id}`, actorType: actor.actorType, patient, purpose };
}
