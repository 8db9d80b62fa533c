import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { webDir } from '../paths';
import { PRIVACY_CLIENT_ID, PRIVACY_PATH, PRIVACY_SCOPES } from '../security/auth/built-in-clients';
import { escapeHtml } from '../security/auth/pages';

/**
 * The privacy page's three files (web/privacy/), read once at start. The
 * page is a SMART app in the browser: everything it shows it reads with the
 * patient's own token through the FHIR API, so scopes, consent and the
 * audit apply to it as to any app. Only the settings it needs to start the
 * flow are written into the HTML.
 */
const FILES: Record<string, { name: string; type: string }> = {
  'privacy.js': { name: 'privacy.js', type: 'text/javascript; charset=utf-8' },
  'privacy.css': { name: 'privacy.css', type: 'text/css; charset=utf-8' },
};

/** Its own script and stylesheet, and calls to its own origin (token endpoint and FHIR API); no frame, no form posted elsewhere. */
const CSP = "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

function secure(reply: FastifyReply, type: string): FastifyReply {
  return reply
    .header('content-type', type)
    .header('content-security-policy', CSP)
    .header('x-frame-options', 'DENY')
    .header('x-content-type-options', 'nosniff')
    // The page's URL carries the authorization code on its way back: never sent on.
    .header('referrer-policy', 'no-referrer');
}

export function registerPrivacyPage(app: FastifyInstance, settings: { baseUrl: string }): void {
  const read = (name: string) => readFileSync(join(webDir, 'privacy', name), 'utf8');
  const html = read('index.html')
    .replace('{{FHIR_BASE}}', escapeHtml(settings.baseUrl))
    .replace('{{CLIENT_ID}}', escapeHtml(PRIVACY_CLIENT_ID))
    .replace('{{SCOPES}}', escapeHtml(PRIVACY_SCOPES));
  const assets = new Map(Object.entries(FILES).map(([path, file]) => [path, { body: read(file.name), type: file.type }]));
  // no-store: the page is where the code arrives, and it shows the patient's data once loaded.
  app.get(PRIVACY_PATH, async (_request, reply) => secure(reply, 'text/html; charset=utf-8').header('cache-control', 'no-store').send(html));
  app.get(`${PRIVACY_PATH}:file`, async (request, reply) => {
    const asset = assets.get((request.params as { file: string }).file);
    if (!asset) return reply.callNotFound();
    return secure(reply, asset.type).header('cache-control', 'no-cache').send(asset.body);
  });
}
