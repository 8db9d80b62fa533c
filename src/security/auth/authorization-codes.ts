import type { AccountStore } from '../../storage/accounts/port';
import { CODE_SECONDS } from './lifetimes';
import { randomToken, tokenHash } from './secrets';

/** What the user approved, bound to the code: client, redirect URI, PKCE challenge. */
export interface CodeGrant {
  clientId: string;
  redirectUri: string;
  codeChallenge: string;
  scope: string;
  username: string;
  fhirUser: string;
  patient?: string;
  nonce?: string;
  /** The sign-in time, for `online_access` (bounded by the session). */
  authTime: number;
}

export type Redemption = { outcome: 'ok'; grant: CodeGrant } | { outcome: 'reused'; familyId: string } | { outcome: 'invalid' };

/**
 * Authorization codes, in the account store by hash: every server process
 * on the database can exchange a code another one issued, and a code is
 * redeemed once across all of them. They live 60 seconds; a used code is
 * kept until then, to recognise its replay.
 */
export class AuthorizationCodes {
  constructor(private readonly store: AccountStore) {}

  async issue(grant: CodeGrant, nowMs = Date.now()): Promise<string> {
    const code = randomToken();
    await this.store.saveCode({ hash: tokenHash(code), grant: JSON.stringify(grant), expiresAt: nowMs + CODE_SECONDS * 1000 }, nowMs);
    return code;
  }

  /** Single use: the first redemption gets the grant and names its token family; a later one learns the family to revoke. */
  async redeem(code: string, familyId: string, nowMs = Date.now()): Promise<Redemption> {
    const redemption = await this.store.redeemCode(tokenHash(code), familyId, nowMs);
    return redemption.outcome === 'ok' ? { outcome: 'ok', grant: JSON.parse(redemption.grant) as CodeGrant } : redemption;
  }
}
