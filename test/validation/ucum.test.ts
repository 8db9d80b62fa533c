import t from 'tap';
import { errorKeys } from './helpers';

const observation = (valueQuantity: Record<string, unknown>) => ({ resourceType: 'Observation', status: 'final', code: { text: 'x' }, valueQuantity });
const ucum = 'http://unitsofmeasure.org';

t.test('a UCUM Quantity has a code in UCUM grammar', async (t) => {
  for (const code of ['mg', 'kg/m2', 'mm[Hg]', '/min', '{score}', '10*3/uL', 'Cel', '[lb_av]', '%']) {
    t.same(errorKeys(observation({ value: 1, system: ucum, code })), [], code);
  }
  for (const code of ['mcg', 'TAB', 'mg dL', 'kg//m']) {
    t.same(errorKeys(observation({ value: 1, system: ucum, code })), ['code-invalid@Observation.valueQuantity.code'], `${code} is not UCUM`);
  }
});

t.test('only UCUM quantities are checked, wherever a Quantity occurs', async (t) => {
  t.same(errorKeys(observation({ value: 1, system: 'http://example.org/units', code: 'TAB' })), [], 'another system');
  t.same(errorKeys(observation({ value: 1, unit: 'TAB' })), [], 'no system');
  const component = { ...observation({ value: 1, system: ucum, code: 'mg' }), component: [{ code: { text: 'c' }, valueQuantity: { value: 2, system: ucum, code: 'mcg' } }] };
  t.same(errorKeys(component), ['code-invalid@Observation.component[0].valueQuantity.code'], 'in a component');
  const age = { resourceType: 'Condition', subject: { reference: 'Patient/1' }, onsetAge: { value: 3, system: ucum, code: 'yrs' } };
  t.same(errorKeys(age), ['code-invalid@Condition.onsetAge.code'], 'an Age');
});
