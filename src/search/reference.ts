/**
 * One normal form for references, shared by the indexer (what a resource
 * points at) and the parser (what a search asks for), so that
 * `Patient/1`, `Patient/1/_history/3` and `<base>/Patient/1` are all `Patient/1`.
 */

export interface NormalizedReference {
  /** Comparison key: `Type/id` when local, else the absolute URL (canonical: without `|version`), or `#id`. */
  ref: string;
  targetType: string | null;
  /** Only for local references. */
  targetId: string | null;
  /** A canonical's `|version`. */
  version?: string;
}

const RESOURCE_TYPE = '[A-Z][A-Za-z]+';
const ID = '[A-Za-z0-9\\-.]{1,64}';
const RELATIVE = new RegExp(`^(${RESOURCE_TYPE})/(${ID})(?:/_history/[^/]+)?$`);
/** The tail of an absolute RESTful URL, e.g. `http://other/fhir/Patient/1/_history/2`. */
const ABSOLUTE_TAIL = new RegExp(`/(${RESOURCE_TYPE})/(${ID})(/_history/[^/]+)?$`);

/**
 * @param baseUrl this server's base, without trailing slash: absolute URLs under it are local.
 * @param canonical the value is a canonical, whose `|version` is split off.
 */
export function normalizeReference(text: string, baseUrl: string, canonical = false): NormalizedReference {
  let value = text.trim();
  let version: string | undefined;
  if (canonical) {
    const bar = value.indexOf('|');
    if (bar >= 0) {
      version = value.slice(bar + 1);
      value = value.slice(0, bar);
    }
  }
  if (value.startsWith('#')) return { ref: value, targetType: null, targetId: null };
  const base = baseUrl.replace(/\/+$/, '');
  if (base !== '' && value.startsWith(base + '/')) value = value.slice(base.length + 1);

  const local = RELATIVE.exec(value);
  if (local) return withVersion({ ref: `${local[1]}/${local[2]}`, targetType: local[1]!, targetId: local[2]! }, version);

  const tail = ABSOLUTE_TAIL.exec(value);
  if (tail && /^[a-z][a-z0-9+.-]*:\/\//i.test(value)) {
    const withoutHistory = tail[3] ? value.slice(0, value.length - tail[3].length) : value;
    return withVersion({ ref: withoutHistory, targetType: tail[1]!, targetId: null }, version);
  }
  return withVersion({ ref: value, targetType: null, targetId: null }, version);
}

function withVersion(ref: NormalizedReference, version: string | undefined): NormalizedReference {
  return version === undefined ? ref : { ...ref, version };
}
