import t from 'tap';
import type { Patient } from '../../src/fhir/types';
import { jaroWinkler } from '../../src/match/jaro-winkler';
import { matchFields } from '../../src/match/patient-fields';
import { MATCH_WEIGHTS, POSSIBLE_AT, PROBABLE_AT, scoreCandidate } from '../../src/match/score';

const base: Patient = {
  resourceType: 'Patient',
  name: [{ family: 'Smith', given: ['John'] }],
  gender: 'male',
  birthDate: '1970-05-20',
};
const score = (a: Patient, b: Patient) => scoreCandidate(matchFields(a), matchFields(b));

t.test('Jaro-Winkler', async (t) => {
  t.equal(jaroWinkler('martha', 'martha'), 1);
  t.equal(Math.round(jaroWinkler('martha', 'marhta') * 1000) / 1000, 0.961, 'the textbook transposition value');
  t.equal(Math.round(jaroWinkler('dwayne', 'duane') * 1000) / 1000, 0.84);
  t.equal(jaroWinkler('abc', 'xyz'), 0);
  t.equal(jaroWinkler('', 'a'), 0);
});

t.test('the weights sum to 1 and the grades follow the thresholds', async (t) => {
  t.equal(Math.round(Object.values(MATCH_WEIGHTS).reduce((a, b) => a + b, 0) * 1000) / 1000, 1);
  t.ok(PROBABLE_AT > POSSIBLE_AT);
  const same = score(base, base);
  t.equal(same.score, 0.8, 'family, given, birth date and gender agree: 0.25 + 0.2 + 0.25 + 0.1');
  t.equal(same.grade, 'probable', 'demographics alone are never certain');
});

t.test('each field counts', async (t) => {
  const full: Patient = { ...base, telecom: [{ system: 'phone', value: '555-010-2030' }], address: [{ postalCode: '02139' }] };
  t.equal(score(full, { ...full, telecom: [{ system: 'phone', value: '(555) 010 2030' }] }).score, 1, 'telecom compared by digits; postal code equal');
  t.equal(score(full, { ...full, address: [{ postalCode: '99999' }] }).score, 0.9, 'another postal code loses its weight');
  t.equal(score(full, { ...full, telecom: [] }).score, 0.9, 'a missing telecom adds nothing');
  t.equal(score(base, { ...base, birthDate: '1970-20-05'.replace('20-05', '05-21') }).score, 0.675, 'one date component off: half the birth date weight');
  t.equal(score(base, { ...base, birthDate: '1970-05-20' }).score, 0.8);
  t.equal(score(base, { ...base, birthDate: '1981-01-01' }).score, 0.425, 'a different birth date loses its weight and half again');
  t.equal(score(base, { ...base, gender: 'female' }).score, 0.65, 'a different gender loses its weight and half again');
  t.equal(score(base, { ...base, birthDate: undefined }).score, 0.55, 'a missing birth date adds nothing, takes nothing');
});

t.test('names: accents, case, typos, order', async (t) => {
  t.equal(score({ ...base, name: [{ family: 'Núñez', given: ['José'] }] }, { ...base, name: [{ family: 'NUNEZ', given: ['jose'] }] }).score, 0.8, 'accents and case folded');
  const typo = score(base, { ...base, name: [{ family: 'Smiht', given: ['John'] }] });
  t.ok(typo.score > 0.75 && typo.score < 0.8, `a transposition costs a little (${typo.score})`);
  t.equal(score({ ...base, name: [{ family: 'Smith', given: ['Ann', 'Mary'] }] }, { ...base, name: [{ family: 'Smith', given: ['Mary', 'Ann'] }] }).score, 0.8, 'swapped given names');
  t.equal(score(base, { ...base, name: [{ family: 'Jones', given: ['Bill'] }] }).score, 0.35, 'unrelated names add nothing');
});

t.test('identifiers: same system and value is certain; the same value in another system is not', async (t) => {
  const withId = (system: string, value: string): Patient => ({ ...base, identifier: [{ system, value }] });
  t.same(score(withId('urn:a', '1'), { resourceType: 'Patient', identifier: [{ system: 'urn:a', value: '1' }] }), { score: 1, grade: 'certain' });
  t.equal(score(withId('urn:a', '1'), withId('urn:b', '1')).grade, 'probable', 'another system: judged on demographics');
});
