import type { ElementDefinition, StructureDefinition } from 'fhir/r4';
import t from 'tap';
import { buildBindings } from '../../scripts/conformance/bindings';
import type { SpecPackage } from '../../scripts/conformance/package-source';
import type { CoreDefinitions } from '../../scripts/conformance/structure-definitions';

/** An in-memory spec package: file name → resource. */
function fakePackage(resources: Record<string, Record<string, unknown>>): SpecPackage {
  const names = Object.keys(resources).sort();
  return {
    dir: '/nowhere',
    files: (prefix = '') => names.filter((n) => n.startsWith(prefix)),
    read: <T>(file: string) => resources[file] as T,
    close: () => undefined,
  };
}

function element(path: string, type: string, strength: string, valueSet: string): ElementDefinition {
  return { path, type: [{ code: type }], binding: { strength: strength as 'required', valueSet } } as ElementDefinition;
}

function definitions(elements: ElementDefinition[]): CoreDefinitions {
  const sd = { resourceType: 'StructureDefinition', type: 'Thing', kind: 'resource', snapshot: { element: [{ path: 'Thing' }, ...elements] } } as StructureDefinition;
  return { resources: new Map([['Thing', sd]]), dataTypes: new Map() };
}

const valueSet = (id: string, compose: Record<string, unknown>) => ({ [`ValueSet-${id}.json`]: { resourceType: 'ValueSet', url: `urn:vs:${id}`, compose } });
const codeSystem = (id: string, content: string, concept: unknown[]) => ({ [`CodeSystem-${id}.json`]: { resourceType: 'CodeSystem', url: `urn:cs:${id}`, content, concept } });

const pkg = fakePackage({
  ...codeSystem('tree', 'complete', [{ code: 'a', concept: [{ code: 'a1', concept: [{ code: 'a11' }] }] }, { code: 'b' }]),
  ...codeSystem('partial', 'fragment', [{ code: 'x' }]),
  ...valueSet('whole', { include: [{ system: 'urn:cs:tree' }] }),
  ...valueSet('listed', { include: [{ system: 'urn:cs:external', concept: [{ code: 'wk' }, { code: 'd' }] }, { system: 'urn:cs:tree', concept: [{ code: 'b' }] }] }),
  ...valueSet('excluding', { include: [{ system: 'urn:cs:tree' }], exclude: [{ system: 'urn:cs:tree', concept: [{ code: 'a1' }] }] }),
  ...valueSet('external', { include: [{ system: 'urn:cs:external' }] }),
  ...valueSet('fragment', { include: [{ system: 'urn:cs:partial' }] }),
  ...valueSet('filtered', { include: [{ system: 'urn:cs:tree', filter: [{ property: 'concept', op: 'is-a', value: 'a' }] }] }),
  ...valueSet('nested', { include: [{ valueSet: ['urn:vs:whole'] }] }),
});

t.test('required bindings on coded elements, with their value sets expanded', async (t) => {
  const out = buildBindings(
    definitions([
      element('Thing.whole', 'code', 'required', 'urn:vs:whole|4.0.1'),
      element('Thing.listed', 'CodeableConcept', 'required', 'urn:vs:listed'),
      element('Thing.excluding', 'Coding', 'required', 'urn:vs:excluding'),
      element('Thing.again', 'code', 'required', 'urn:vs:whole'),
      element('Thing.weak', 'code', 'extensible', 'urn:vs:whole'),
      element('Thing.text', 'string', 'required', 'urn:vs:whole'),
    ]),
    pkg,
  );
  t.same(out.elements, { 'Thing.again': 'urn:vs:whole', 'Thing.excluding': 'urn:vs:excluding', 'Thing.listed': 'urn:vs:listed', 'Thing.whole': 'urn:vs:whole' }, 'versions removed; weaker bindings and uncoded types left out');
  t.same(out.valueSets['urn:vs:whole'], { 'urn:cs:tree': ['a', 'a1', 'a11', 'b'] }, 'a whole code system, nested concepts included');
  t.same(out.valueSets['urn:vs:listed'], { 'urn:cs:external': ['d', 'wk'], 'urn:cs:tree': ['b'] }, 'listed concepts, even of an external system');
  t.same(out.valueSets['urn:vs:excluding'], { 'urn:cs:tree': ['a', 'a11', 'b'] }, 'excluded concepts removed');
  t.same(out.skipped, {});
});

t.test('value sets that cannot be enumerated are skipped with the reason and their elements', async (t) => {
  const out = buildBindings(
    definitions([
      element('Thing.external', 'code', 'required', 'urn:vs:external'),
      element('Thing.external2', 'code', 'required', 'urn:vs:external'),
      element('Thing.fragment', 'code', 'required', 'urn:vs:fragment'),
      element('Thing.filtered', 'code', 'required', 'urn:vs:filtered'),
      element('Thing.nested', 'code', 'required', 'urn:vs:nested'),
      element('Thing.missing', 'code', 'required', 'urn:vs:missing'),
    ]),
    pkg,
  );
  t.same(out.elements, {});
  t.same(out.valueSets, {});
  t.same(out.skipped, {
    'urn:vs:external': { reason: 'code system urn:cs:external is external (not defined in the package)', elements: ['Thing.external', 'Thing.external2'] },
    'urn:vs:filtered': { reason: 'uses a filter', elements: ['Thing.filtered'] },
    'urn:vs:fragment': { reason: 'code system urn:cs:partial is not complete in the package (content fragment)', elements: ['Thing.fragment'] },
    'urn:vs:missing': { reason: 'value set not in the package', elements: ['Thing.missing'] },
    'urn:vs:nested': { reason: 'includes other value sets', elements: ['Thing.nested'] },
  });
});
