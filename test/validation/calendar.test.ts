import t from 'tap';
import { dayExistsInMonth } from '../../src/validation/calendar';
import { errorKeys, errors, validator } from './helpers';

t.test('days past the end of their month', async (t) => {
  for (const v of ['2021-02-29', '2021-02-30', '2021-04-31', '2021-06-31', '2021-09-31', '2021-11-31', '1900-02-29', '2100-02-29T10:00:00Z']) {
    t.notOk(dayExistsInMonth(v), `${v} is not a day`);
  }
  for (const v of ['2020-02-29', '2000-02-29', '2021-01-31', '2021-12-31', '2021-04-30', '2021', '2021-02', '2021-02-28T23:59:59+01:00']) {
    t.ok(dayExistsInMonth(v), `${v} is a day`);
  }
  t.ok(dayExistsInMonth('2021-13-40'), 'values outside the regex ranges are left to the regex');
});

t.test('date, dateTime and instant values are checked against the calendar', async (t) => {
  t.same(errorKeys({ resourceType: 'Patient', birthDate: '2021-02-30' }), ['value@Patient.birthDate'], 'date');
  t.same(errorKeys({ resourceType: 'Patient', deceasedDateTime: '2021-04-31T10:00:00Z' }), ['value@Patient.deceasedDateTime'], 'dateTime');
  t.same(errorKeys({ resourceType: 'Patient', meta: { lastUpdated: '2019-02-29T00:00:00Z' } }), ['value@Patient.meta.lastUpdated'], 'instant');
  t.same(errorKeys({ resourceType: 'Patient', birthDate: '2020-02-29' }), [], 'a leap day');
  t.same(errorKeys({ resourceType: 'Patient', birthDate: '1990-13-45' }), ['value@Patient.birthDate'], 'one issue for a value the regex already rejects');
  const [issue] = errors(validator.validate({ resourceType: 'Patient', birthDate: '2021-02-30' }));
  t.match(issue!.diagnostics, /not a valid date/);
  t.notMatch(issue!.diagnostics, /2021/, 'the diagnostics do not repeat the value');
});
