import t from 'tap';
import { timeOrderedId } from '../../src/security/audit/install-audit';

t.test('AuditEvent ids follow the clock (appended to the indexes), stay unique and are valid FHIR ids', async (t) => {
  const earlier = timeOrderedId(Date.parse('2026-01-01T00:00:00Z'));
  const later = timeOrderedId(Date.parse('2026-01-01T00:00:00.001Z'));
  t.ok(earlier < later, 'a later clock sorts after');
  t.match(earlier, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'the UUID version 7 layout');
  const sameMs = new Set(Array.from({ length: 1000 }, () => timeOrderedId(0)));
  t.equal(sameMs.size, 1000, 'unique within one millisecond');
});
