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

interface StoredCode {
  grant: CodeGrant;
  expiresAt: number;
  /** Set on first redemption: the family of the tokens issued, revoked if the code comes back. */
  familyId?: string;
}

export type Redemption = { outcome: 'ok'; grant: CodeGrant } | { outcome: 'reused'; familyId: string } | { outcome: 'invalid' };

/**
 * Authorization codes, in memory by hash: they live 60 seconds, so a restart
 * loses only codes not yet exchanged (the app starts the flow again). A used
 * code is kept until it expires, to recognise its replay.
 */
export class AuthorizationCodes {
  private readonly codes = new Map<string, StoredCode>();

  issue(grant: CodeGrant, nowMs = Date.now()): string {
    this.forgetExpired(nowMs);
    const code = randomToken();
    this.codes.set(tokenHash(code), { grant, expiresAt: nowMs + CODE_SECONDS * 1000 });
    return code;
  }

  /** Single use: the first redemption gets the grant and names its token family; a later one learns the family to revoke. */
  redeem(code: string, familyId: string, nowMs = Date.now()): Redemption {
    const stored = this.codes.get(tokenHash(code));
    if (!stored) return { outcome: 'invalid' };
    if (stored.familyId !== undefined) return { outcome: 'reused', familyId: stored.familyId };
    if (stored.expiresAt < nowMs) return { outcome: 'invalid' };
    stored.familyId = familyId;
    return { outcome: 'ok', grant: stored.grant };
  }

  private forgetExpired(nowMs: number): void {
    for (const [hash, stored] of this.codes) if (stored.expiresAt < nowMs) this.codes.delete(hash);
  }
}
