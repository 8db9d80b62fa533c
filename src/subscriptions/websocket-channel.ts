/**
 * The websocket channel, without the transport (src/http/websocket.ts owns
 * the upgrade and the socket). A connection receives notifications only for
 * the subscriptions whose owner it authenticates as, so that nobody can
 * watch another owner's event timing:
 *
 * - R4 (subscription.html#2.46.7.2): the client sends `bind <id>` and gets
 *   `bound <id>`, then `ping <id>` per event. `bind` needs a connection
 *   authenticated by a bearer token on the upgrade request.
 * - Backport IG 1.1.0 (and R5): the client gets a token from
 *   `Subscription/[id]/$get-ws-binding-token` (ws-binding.ts) and sends
 *   `bind-with-token <token>`; it gets the handshake Bundle, then the
 *   notification Bundles (event-notification, heartbeat), on any connection.
 *
 * A foreign, missing or non-websocket subscription gets the same refusal
 * (`error <id> ...`): a refusal does not tell whether it exists. A binding
 * lasts until its credential expires (the access token's `exp`, revocation
 * included, or the binding token's expiration); the client is then told
 * and the events wait for its next binding. Every send goes through the
 * engine's delivery decision (consent at delivery, audit), as rest-hook's.
 * A notification sent while nobody is bound waits (the engine retries it
 * when a connection binds): the channel is at least once, like rest-hook.
 */
import type { AnyResource } from '../fhir/types';
import { ownerKeyOf } from './owner';
import type { SubscriptionSpec } from './subscription-spec';
import type { BindingTokens } from './ws-binding';

/** The transport's side of one connection. */
export interface ChannelSocket {
  send(text: string): void;
}

/** Who the upgrade request authenticated as. */
export interface ConnectionCredential {
  /** ownerKey() of the principal; undefined: no bearer token (only bind-with-token works). */
  owner: string | undefined;
  /** False once the token has expired or been revoked (a revocation may sit in the shared account store, hence async). */
  valid: () => Promise<boolean>;
}

/** What the channel needs of the engine. */
export interface ChannelEngine {
  entry(id: string): { resource: { id?: string }; spec: SubscriptionSpec } | undefined;
  /** The handshake Bundle (backport form) of a subscription, as the engine builds notifications. */
  handshakeBundle(id: string): Promise<string | undefined>;
  /** Wakes the subscription's worker: what waited for a binding is sent. */
  kick(id: string): void;
}

interface Binding {
  connection: Connection;
  owner: string;
  valid: () => Promise<boolean>;
}

const REFUSED = 'no websocket subscription of this connection’s owner has this id';

export class WebSocketChannel {
  private readonly bound = new Map<string, Set<Binding>>();
  private engine: ChannelEngine | undefined;

  constructor(
    private readonly tokens: BindingTokens,
    private readonly now: () => number = Date.now,
  ) {}

  /** The engine, once started (the HTTP server is built before it). */
  attach(engine: ChannelEngine): void {
    this.engine = engine;
  }

  connect(socket: ChannelSocket, credential: ConnectionCredential): Connection {
    return new Connection(this, socket, credential);
  }

  /** Sends to every live binding of the subscription; false when none took it (the event waits). */
  async send(spec: SubscriptionSpec, bundle: string, type: string): Promise<boolean> {
    const bindings = this.bound.get(spec.id);
    if (!bindings) return false;
    const owner = this.ownerOf(spec.id);
    let sent = false;
    for (const binding of [...bindings]) {
      if (binding.owner !== owner || !(await binding.valid())) {
        this.unbind(spec.id, binding);
        binding.connection.say(`error ${spec.id} the binding has expired: bind again`);
        continue;
      }
      // R4: a ping per event and nothing else (the client reads the server for the rest).
      if (spec.form === 'r4') {
        if (type === 'event-notification') binding.connection.say(`ping ${spec.id}`);
      } else binding.connection.say(bundle);
      sent = true;
    }
    return sent;
  }

  /** `bind <id>`: the connection's own bearer token must name the owner. */
  async bind(connection: Connection, id: string): Promise<void> {
    const { owner, valid } = connection.credential;
    if (owner === undefined) return connection.say(`error ${id} this connection is not authenticated: send a bearer token with the upgrade request, or bind-with-token`);
    await this.bindOne(connection, id, owner, valid, 'bound');
  }

  /** `bind-with-token <token>`: the token names the subscriptions and the owner, until its expiration. */
  async bindWithToken(connection: Connection, token: string): Promise<void> {
    const grant = this.tokens.verify(token, this.now());
    if (typeof grant === 'string') return connection.say(`error ${grant}`);
    const valid = async () => this.now() < grant.expires;
    for (const id of grant.subscriptions) await this.bindOne(connection, id, grant.owner, valid, 'handshake');
  }

  unbindAll(connection: Connection): void {
    for (const [id, bindings] of this.bound) for (const binding of bindings) if (binding.connection === connection) this.unbind(id, binding);
  }

  unbindId(connection: Connection, id: string): void {
    for (const binding of this.bound.get(id) ?? []) if (binding.connection === connection) this.unbind(id, binding);
    connection.say(`unbound ${id}`);
  }

  private async bindOne(connection: Connection, id: string, owner: string, valid: () => Promise<boolean>, answer: 'bound' | 'handshake'): Promise<void> {
    const entry = this.engine?.entry(id);
    if (!entry || entry.spec.channel.type !== 'websocket' || this.ownerOf(id) !== owner || !(await valid())) return connection.say(`error ${id} ${REFUSED}`);
    let bindings = this.bound.get(id);
    if (!bindings) this.bound.set(id, (bindings = new Set()));
    if (![...bindings].some((binding) => binding.connection === connection)) bindings.add({ connection, owner, valid });
    const handshake = entry.spec.form === 'backport' ? await this.engine?.handshakeBundle(id) : undefined;
    connection.say(answer === 'handshake' && handshake ? handshake : `bound ${id}`);
    if (answer === 'bound' && handshake) connection.say(handshake);
    this.engine?.kick(id);
  }

  private ownerOf(id: string): string | undefined {
    const entry = this.engine?.entry(id);
    return entry ? ownerKeyOf(entry.resource as AnyResource) : undefined;
  }

  private unbind(id: string, binding: Binding): void {
    const bindings = this.bound.get(id);
    bindings?.delete(binding);
    if (bindings?.size === 0) this.bound.delete(id);
  }
}

/** One client connection: its commands, in order. */
export class Connection {
  private queue: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(
    private readonly channel: WebSocketChannel,
    private readonly socket: ChannelSocket,
    readonly credential: ConnectionCredential,
  ) {}

  say(text: string): void {
    if (!this.closed) this.socket.send(text);
  }

  /** A text frame from the client; commands run one after another. */
  receive(text: string): void {
    this.queue = this.queue.then(() => this.command(text.trim())).catch(() => this.say('error the command failed'));
  }

  close(): void {
    this.closed = true;
    this.channel.unbindAll(this);
  }

  private async command(text: string): Promise<void> {
    const [verb = '', argument = '', ...rest] = text.split(/\s+/);
    if (!argument || rest.length > 0) return this.say(`error expected "bind <id>", "bind-with-token <token>" or "unbind <id>"`);
    if (verb === 'bind') return this.channel.bind(this, argument);
    if (verb === 'bind-with-token') return this.channel.bindWithToken(this, argument);
    if (verb === 'unbind') return this.channel.unbindId(this, argument);
    return this.say(`error unknown command "${verb.slice(0, 40)}"`);
  }
}
