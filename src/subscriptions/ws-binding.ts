/**
 * The WebSocket channel's binding tokens (Subscriptions R5 Backport IG
 * 1.1.0, OperationDefinition-backport-subscription-get-ws-binding-token:
 * "the security details of the token are implementation-dependent").
 *
 * A token names the subscriptions it binds, the key of the principal it was
 * issued to (owner.ts) and its expiration, signed with HMAC-SHA-256 under a
 * key drawn at start-up. It is checked without any storage: a forged, altered
 * or expired token is refused, and after a restart every earlier token is
 * refused too (the client asks for a new one). The binding it makes lasts
 * until that expiration (websocket-channel.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface BindingGrant {
  subscriptions: string[];
  /** ownerKey() of the principal the token was issued to. */
  owner: string;
  /** Milliseconds since the epoch. */
  expires: number;
}

/** Where the server's WebSocket endpoint is, below the FHIR base: the `ws` scheme of the base's. */
export const WEBSOCKET_PATH = '/ws';

export function websocketUrl(baseUrl: string): string {
  return `${baseUrl.replace(/^http/, 'ws')}${WEBSOCKET_PATH}`;
}

export class BindingTokens {
  private readonly key: Buffer;

  constructor(
    /** How long a token stays valid (SUBSCRIPTION_WS_TOKEN_SECONDS). */
    readonly lifetimeSeconds: number,
    key: Buffer = randomBytes(32),
  ) {
    this.key = key;
  }

  issue(subscriptions: string[], owner: string, now = Date.now()): { token: string; grant: BindingGrant } {
    const grant: BindingGrant = { subscriptions, owner, expires: now + this.lifetimeSeconds * 1000 };
    const payload = Buffer.from(JSON.stringify(grant)).toString('base64url');
    return { token: `${payload}.${this.sign(payload)}`, grant };
  }

  /** The grant of a genuine, unexpired token; otherwise the reason it is refused. */
  verify(token: string, now = Date.now()): BindingGrant | string {
    const [payload = '', signature = '', ...rest] = token.split('.');
    if (rest.length > 0 || !payload || !signature) return 'the binding token is malformed';
    const expected = Buffer.from(this.sign(payload));
    const given = Buffer.from(signature);
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) return 'the binding token is not one this server issued';
    let grant: BindingGrant;
    try {
      grant = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as BindingGrant;
    } catch {
      return 'the binding token is malformed';
    }
    if (!(grant.expires > now)) return 'the binding token has expired';
    return grant;
  }

  private sign(payload: string): string {
    return createHmac('sha256', this.key).update(payload).digest('base64url');
  }
}
