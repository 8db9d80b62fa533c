/**
 * The rest-hook channel (R4 subscription.html#2.46.7.1): a POST to the
 * endpoint with the channel's headers; a 2xx is delivered, anything else
 * (another status, a refused or failed connection, a timeout) is a failed
 * attempt. Node's http client never follows redirects, so a 3xx is a
 * failure too. The connection's address is checked as it is resolved
 * (endpoint-policy.ts), so a name that now points inside is refused.
 *
 * `timeoutMs` is the whole attempt's deadline, from the request to the end
 * of the answer: a socket idle timeout alone would let an endpoint that
 * trickles a byte now and then hold the delivery worker for ever.
 */
import http from 'node:http';
import https from 'node:https';
import { allowlisted, guardedLookup, isPublicAddress, type EndpointPolicy } from './endpoint-policy';

export interface PostResult {
  ok: boolean;
  /** For the subscription's error text: a status or the connection's error, never the receiver's body. */
  reason?: string;
}

/** `Name: value` channel headers as a header object; malformed ones are skipped. */
function headersOf(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon > 0) headers[line.slice(0, colon).trim()] = line.slice(colon + 1).trim();
  }
  return headers;
}

export function postNotification(
  policy: EndpointPolicy,
  endpoint: string,
  headerLines: readonly string[],
  body: string | undefined,
  timeoutMs: number,
): Promise<PostResult> {
  return new Promise((settle) => {
    let timer: NodeJS.Timeout | undefined;
    const resolve = (result: PostResult) => {
      clearTimeout(timer);
      settle(result);
    };
    let url: URL;
    try {
      url = new URL(endpoint);
    } catch {
      return resolve({ ok: false, reason: 'the endpoint is not a URL' });
    }
    const open = allowlisted(policy, endpoint);
    if (!open && url.protocol !== 'https:') return resolve({ ok: false, reason: 'only https endpoints are accepted' });
    const literal = url.hostname.replace(/^\[|\]$/g, '');
    // An address literal is never looked up: check it here.
    if (!open && /^[\d.]+$|:/.test(literal) && !isPublicAddress(literal)) return resolve({ ok: false, reason: 'the endpoint is a non-public address' });
    const client = url.protocol === 'https:' ? https : http;
    const payload = body === undefined ? undefined : Buffer.from(body);
    const request = client.request(
      url,
      {
        method: 'POST',
        headers: {
          ...headersOf(headerLines),
          'content-type': 'application/fhir+json',
          'content-length': String(payload?.length ?? 0),
        },
        lookup: guardedLookup(policy, endpoint) as never,
      },
      (response) => {
        response.resume();
        const status = response.statusCode ?? 0;
        response.on('end', () => resolve(status >= 200 && status < 300 ? { ok: true } : { ok: false, reason: `the endpoint answered ${status}` }));
        response.on('error', () => resolve({ ok: false, reason: 'the response failed' }));
      },
    );
    // Destroying the request also ends a response still streaming in (its 'error' or the request's settles first).
    timer = setTimeout(() => request.destroy(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
    request.on('error', (error) => resolve({ ok: false, reason: error.message }));
    request.end(payload);
  });
}
