import t from 'tap';
import { errorKeys } from './helpers';

/** One pass reports every independent problem, one issue each with its path. */

t.test('a structural error does not hide a binding error in a sibling', async (t) => {
  t.same(errorKeys({ resourceType: 'Patient', birthDate: 1970, gender: 'x' }).sort(), ['code-invalid@Patient.gender', 'structure@Patient.birthDate']);
});

t.test('errors in several elements are all reported', async (t) => {
  const keys = errorKeys({
    resourceType: 'Patient',
    birthDate: '1990-13-45',
    gender: 'unknown-code',
    contact: [{ name: { family: 5 } }, { gender: 'nope' }],
    managingOrganization: { reference: '#missing' },
  }).sort();
  t.same(keys, [
    'code-invalid@Patient.contact[1].gender',
    'code-invalid@Patient.gender',
    // pat-1: a contact needs a name, telecom, address or organization.
    'invariant@Patient.contact[1]',
    'invariant@Patient.managingOrganization',
    'structure@Patient.contact[0].name.family',
    'value@Patient.birthDate',
  ]);
});

t.test('nothing is reported twice for one broken element', async (t) => {
  // A code of the wrong JSON type is a structural error, not also a binding error.
  t.same(errorKeys({ resourceType: 'Patient', gender: 5 }), ['structure@Patient.gender']);
});
