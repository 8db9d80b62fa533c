import type { AccountStore, UserRecord } from '../../storage/accounts/port';
import { hashPassword } from './passwords';
import { parseFhirUser } from './principal';

/** Who can sign in: patients, family members (one RelatedPerson per patient), practitioners. */
const USER_ACTOR_TYPES = ['Patient', 'RelatedPerson', 'Practitioner'];
const USERNAME = /^[A-Za-z0-9._@-]{1,64}$/;
export const MIN_PASSWORD_LENGTH = 8;

export class UserAdminError extends Error {}

function checkFhirUsers(fhirUsers: readonly string[]): string[] {
  if (fhirUsers.length === 0) throw new UserAdminError('at least one --fhir-user is required');
  const parsed = fhirUsers.map((raw) => {
    const actor = parseFhirUser(raw);
    if (!actor || !USER_ACTOR_TYPES.includes(actor.actorType) || raw.includes('/_history/') || raw.includes('://')) {
      throw new UserAdminError(`--fhir-user must be Patient/<id>, RelatedPerson/<id> or Practitioner/<id>, got "${raw}"`);
    }
    return actor;
  });
  const types = new Set(parsed.map((actor) => actor.actorType));
  // Only a person acting for several patients has several identities, one RelatedPerson per patient (FHIR's model).
  if (parsed.length > 1 && (types.size > 1 || !types.has('RelatedPerson'))) {
    throw new UserAdminError('--fhir-user may repeat only with RelatedPerson references');
  }
  return parsed.map((actor) => `${actor.actorType}/${actor.id}`);
}

function checkPassword(password: string): void {
  if (password.length < MIN_PASSWORD_LENGTH) throw new UserAdminError(`the password must have at least ${MIN_PASSWORD_LENGTH} characters`);
}

/** User management for `npm run user` (scripts/user.ts); every change is effective for a running server on the same database. */
export function userAdmin(store: AccountStore) {
  const mustExist = (found: boolean, username: string) => {
    if (!found) throw new UserAdminError(`no user "${username}"`);
  };
  return {
    async add(username: string, fhirUsers: readonly string[], password: string): Promise<void> {
      if (!USERNAME.test(username)) throw new UserAdminError('the username may have letters, digits and . _ @ - (at most 64)');
      const references = checkFhirUsers(fhirUsers);
      checkPassword(password);
      const user: UserRecord = { username, passwordHash: await hashPassword(password), fhirUsers: references, disabled: false };
      if (!(await store.addUser(user))) throw new UserAdminError(`the username "${username}" is taken`);
    },
    async remove(username: string): Promise<void> {
      mustExist(await store.removeUser(username), username);
      await store.revokeUserRefreshTokens(username);
    },
    /** A disabled user cannot sign in, and the refresh tokens issued to them stop working. */
    async disable(username: string): Promise<void> {
      mustExist(await store.updateUser(username, { disabled: true }), username);
      await store.revokeUserRefreshTokens(username);
    },
    /** A new password ends every refresh token issued under the old one. */
    async setPassword(username: string, password: string): Promise<void> {
      checkPassword(password);
      mustExist(await store.updateUser(username, { passwordHash: await hashPassword(password) }), username);
      await store.revokeUserRefreshTokens(username);
    },
    /** One line per user: username, fhirUser(s), disabled or not. */
    async list(): Promise<string[]> {
      return (await store.listUsers()).map((user) => `${user.username}\t${user.fhirUsers.join(',')}\t${user.disabled ? 'disabled' : 'enabled'}`);
    },
  };
}
