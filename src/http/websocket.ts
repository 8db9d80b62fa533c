/**
 * The WebSocket endpoint of the websocket Subscription channel
 * (`[base]/ws`, published in the CapabilityStatement), with the `ws`
 * package on the HTTP server's `upgrade` event. This file is the transport
 * only: it authenticates the upgrade request and hands text frames to the
 * channel (src/subscriptions/websocket-channel.ts), which decides what a
 * connection may bind.
 *
 * The upgrade is authenticated like any request: a bearer token, when
 * present, must verify (else 401 before the upgrade); without one the
 * connection is unauthenticated and can only `bind-with-token`. With
 * AUTH_MODE=off every connection is the operator, as every request is.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { WebSocketServer, type WebSocket } from 'ws';
import { FhirError } from '../errors';
import { authenticateToken, type Auth } from '../security/auth/auth-service';
import type { Storage } from '../storage/port';
import { ownerKey } from '../subscriptions/owner';
import type { ConnectionCredential, WebSocketChannel } from '../subscriptions/websocket-channel';
import { WEBSOCKET_PATH } from '../subscriptions/ws-binding';

export interface WebSocketOptions {
  auth: Auth;
  storage: Storage;
  basePath: string;
  channel: WebSocketChannel;
}

/** A command is a line; anything longer is not one (ws closes the connection with 1009). */
const MAX_FRAME_BYTES = 8 * 1024;

/** Who the upgrade request is, or the FhirError (401) of a token that does not verify. */
async function credentialOf(options: WebSocketOptions, request: IncomingMessage): Promise<ConnectionCredential> {
  const { auth, storage } = options;
  if (auth.mode === 'off') return { owner: ownerKey({ kind: 'operator' }), valid: async () => true };
  const header = request.headers.authorization;
  if (header === undefined || header === '') return { owner: undefined, valid: async () => false };
  const { principal, claims } = await authenticateToken(auth, header, storage);
  const expires = Number(claims.exp) * 1000;
  // Checked at every send: an expired or revoked token stops the connection's notifications.
  return { owner: ownerKey(principal), valid: async () => Date.now() < expires && !(await auth.tokenIssuer.revocations.isRevoked(claims.jti)) };
}

function refuse(socket: Duplex, status: number, reason: string, headers: Record<string, string> = {}): void {
  const lines = Object.entries(headers).map(([name, value]) => `${name}: ${value}\r\n`);
  socket.end(`HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\nContent-Length: 0\r\n${lines.join('')}\r\n`);
}

/** Serves the endpoint on the app's HTTP server; `close()` ends every connection (before the app closes). */
export function installWebSocket(app: FastifyInstance, options: WebSocketOptions): { close(): Promise<void> } {
  const server = new WebSocketServer({ noServer: true, maxPayload: MAX_FRAME_BYTES });
  const path = `${options.basePath}${WEBSOCKET_PATH}`;
  app.server.on('upgrade', (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => socket.destroy());
    if (new URL(request.url ?? '/', 'http://upgrade').pathname !== path) return refuse(socket, 404, 'Not Found');
    credentialOf(options, request).then(
      (credential) => server.handleUpgrade(request, socket, head, (ws) => attach(options.channel, ws, credential)),
      (error: unknown) => {
        const status = error instanceof FhirError ? error.status : 500;
        refuse(socket, status, status === 401 ? 'Unauthorized' : 'Error', status === 401 ? { 'WWW-Authenticate': 'Bearer' } : {});
      },
    );
  });
  return {
    close: async () => {
      for (const client of server.clients) client.terminate();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

function attach(channel: WebSocketChannel, ws: WebSocket, credential: ConnectionCredential): void {
  const connection = channel.connect({ send: (text) => ws.send(text) }, credential);
  ws.on('message', (data, isBinary) => (isBinary ? connection.say('error commands are text frames') : connection.receive(data.toString())));
  ws.on('close', () => connection.close());
  ws.on('error', () => ws.terminate());
}
