/**
 * Where notifications may be sent (SSRF). By default only `https` URLs
 * whose host resolves to public addresses: a subscriber must not make the
 * server reach its own network (metadata services, admin ports). The
 * allowlist (SUBSCRIPTION_ENDPOINT_ALLOWLIST, URL prefixes) names endpoints
 * allowed even over http or on private addresses; when it is set, nothing
 * outside it is allowed. The address is checked again when each delivery
 * connects (`guardedLookup`), so a name that later resolves elsewhere (DNS
 * rebinding) is refused then; redirects are never followed (delivery.ts).
 *
 * Public means ipaddr.js's `unicast` range (not private, loopback,
 * link-local, unique-local, multicast, reserved...), IPv4-mapped IPv6
 * addresses judged as the IPv4 address they carry.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { promises as dns } from 'node:dns';
import ipaddr from 'ipaddr.js';
import { FhirError } from '../errors';

export interface EndpointPolicy {
  /** URL prefixes allowed whatever their scheme and address; empty: the default rule alone. */
  allowlist: readonly string[];
}

const EXPRESSION = ['Subscription.channel.endpoint'];
const refused = (rule: string) => FhirError.of(422, 'security', `The endpoint is refused: ${rule}`, EXPRESSION);

export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  return ipaddr.process(address).range() === 'unicast';
}

export function allowlisted(policy: EndpointPolicy, url: string): boolean {
  return policy.allowlist.some((prefix) => url.startsWith(prefix));
}

/** Throws a 422 naming the rule the endpoint breaks. */
export async function assertEndpointAllowed(policy: EndpointPolicy, endpoint: string): Promise<void> {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    throw refused(`"${endpoint}" is not an absolute URL`);
  }
  if (url.username || url.password) throw refused('credentials in the URL are not accepted (use channel.header)');
  if (policy.allowlist.length > 0) {
    if (!allowlisted(policy, endpoint)) throw refused('it is not under SUBSCRIPTION_ENDPOINT_ALLOWLIST');
    return;
  }
  if (url.protocol !== 'https:') throw refused('only https endpoints are accepted');
  const addresses = await resolve(url.hostname);
  if (addresses.length === 0) throw refused(`the host "${url.hostname}" does not resolve`);
  if (!addresses.every(isPublicAddress)) throw refused(`the host "${url.hostname}" resolves to a non-public address`);
}

async function resolve(hostname: string): Promise<string[]> {
  const bare = hostname.replace(/^\[|\]$/g, '');
  if (ipaddr.isValid(bare)) return [bare];
  try {
    return (await dns.lookup(bare, { all: true })).map((entry) => entry.address);
  } catch {
    return [];
  }
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `lookup` for http(s).request: the address the connection will use is
 * the one checked, at delivery time. Allowlisted endpoints skip the check.
 */
export function guardedLookup(policy: EndpointPolicy, endpoint: string) {
  return (hostname: string, options: object, callback: LookupCallback): void => {
    dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, []);
      if (!allowlisted(policy, endpoint) && !addresses.every((entry) => isPublicAddress(entry.address))) {
        return callback(Object.assign(new Error(`The endpoint's host now resolves to a non-public address`), { code: 'EREFUSED' }), []);
      }
      const all = (options as { all?: boolean }).all;
      if (all) return callback(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error('No address'), { code: 'ENOTFOUND' }), []);
      return callback(null, first.address, first.family);
    });
  };
}
