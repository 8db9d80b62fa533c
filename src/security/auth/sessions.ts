import { SESSION_SECONDS } from './lifetimes';
import { randomToken } from './secrets';

/** The parameters of an authorization request, validated, waiting for sign-in, approval and the patient. */
export interface PendingAuthorization {
  clientId: string;
  redirectUri: string;
  state: string;
  /** The requested scopes the client may have. */
  scopes: string[];
  codeChallenge: string;
  nonce?: string;
  createdAt: number;
  /** Set by the approval screen. */
  approved?: string[];
}

/** A browser's sign-in session: anonymous until sign-in, then a user's, for 12 hours. */
export interface Session {
  id: string;
  /** Every form of the session carries it (synchronizer token pattern, OWASP CSRF Prevention Cheat Sheet). */
  csrf: string;
  expiresAt: number;
  username?: string;
  authTime?: number;
  pending: Map<string, PendingAuthorization>;
}

/** Sign-in sessions, in memory (a restart signs everyone out; apps keep their tokens). */
export class Sessions {
  private readonly sessions = new Map<string, Session>();

  get(id: string | undefined, nowMs = Date.now()): Session | undefined {
    const session = id === undefined ? undefined : this.sessions.get(id);
    if (!session) return undefined;
    if (session.expiresAt < nowMs) {
      this.sessions.delete(session.id);
      return undefined;
    }
    return session;
  }

  create(nowMs = Date.now()): Session {
    this.forgetExpired(nowMs);
    const session: Session = { id: randomToken(), csrf: randomToken(), expiresAt: nowMs + SESSION_SECONDS * 1000, pending: new Map() };
    this.sessions.set(session.id, session);
    return session;
  }

  /** Signing in gives the session a new id and CSRF token (no session fixation) and starts its 12 hours. */
  signIn(session: Session, username: string, nowMs = Date.now()): Session {
    this.sessions.delete(session.id);
    const signedIn: Session = { ...session, id: randomToken(), csrf: randomToken(), username, authTime: nowMs, expiresAt: nowMs + SESSION_SECONDS * 1000 };
    this.sessions.set(signedIn.id, signedIn);
    return signedIn;
  }

  /** Signing out: the session is gone, in this process (sessions are per process, docs/authorization-server.md). */
  end(id: string | undefined): void {
    if (id !== undefined) this.sessions.delete(id);
  }

  private forgetExpired(nowMs: number): void {
    for (const [id, session] of this.sessions) if (session.expiresAt < nowMs) this.sessions.delete(id);
  }
}
