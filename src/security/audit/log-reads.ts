/**
 * Whether a request might return AuditEvents: one that names the type
 * anywhere in its URL (a read or search of it, `_type`, `_revinclude`,
 * `_has`, a compartment), any operation (`$everything` gathers a
 * compartment, AuditEvents included), or any system-level interaction
 * (search, history, a batch or transaction). The audit hook writes the
 * buffered events before such a request runs, so the log it reads holds
 * every access answered before it. Errs on the side of yes.
 */
export function mayReadAuditLog(url: string, basePath: string): boolean {
  let decoded = url;
  // Without a `%` there is nothing to decode: the common plain read skips the decoder.
  if (url.includes('%')) {
    try {
      decoded = decodeURIComponent(url);
    } catch {
      return true;
    }
  }
  if (decoded.includes('AuditEvent') || decoded.includes('$')) return true;
  const path = decoded.split('?')[0]!;
  if (!path.startsWith(basePath)) return false;
  const first = path.slice(basePath.length).split('/').find((segment) => segment !== '');
  return first === undefined || first.startsWith('_');
}
