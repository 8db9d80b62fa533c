/**
 * Deliberately broken copies of an example, each breaking one R4 rule that
 * both validators are expected to catch (or, for reference targets, that R4
 * states and the offline reference validator may miss).
 */
type Resource = Record<string, unknown>;

export function mutations(resource: Resource): [string, Resource][] {
  const out: [string, Resource][] = [];
  const copy = () => structuredClone(resource);
  if (typeof resource.id === 'string') out.push(['bad-id', { ...copy(), id: 'has space' }]);
  out.push(['unknown-element', { ...copy(), notAnElement: true }]);
  if (resource.text) out.push(['blank-narrative', { ...copy(), text: { status: 'generated', div: '<div xmlns="http://www.w3.org/1999/xhtml"> </div>' } }]);
  if (resource.resourceType === 'Patient') {
    out.push(['birthDate-number', { ...copy(), birthDate: 1970 }]);
    out.push(['gender-unknown', { ...copy(), gender: 'robot' }]);
  }
  if (resource.resourceType === 'Encounter') out.push(['subject-device', { ...copy(), subject: { reference: 'Device/example' } }]);
  if (resource.resourceType === 'Observation' && resource.valueQuantity) {
    const valueQuantity = { ...(resource.valueQuantity as object), system: 'http://unitsofmeasure.org', code: 'mcg' };
    out.push(['ucum-mcg', { ...copy(), valueQuantity }]);
  }
  // A vital sign claiming its profile without the vital-signs category slice (profiling.html#slicing).
  const claimed = (resource.meta as { profile?: string[] } | undefined)?.profile ?? [];
  if (resource.resourceType === 'Observation' && claimed.includes('http://hl7.org/fhir/StructureDefinition/vitalsigns')) {
    const { category: _category, ...withoutCategory } = copy();
    out.push(['vitals-no-category', withoutCategory]);
  }
  if (resource.resourceType !== 'Bundle' && resource.resourceType !== 'Parameters') {
    out.push(['unreferenced-contained', { ...copy(), contained: [...((resource.contained as unknown[]) ?? []), { resourceType: 'Basic', id: 'orphan', code: { text: 'x' } }] }]);
  }
  return out;
}
