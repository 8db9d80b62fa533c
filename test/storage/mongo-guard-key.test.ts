import t from 'tap';
import { guardKey } from '../../src/storage/mongo/guard-key';
import { token } from './contract-fixtures';

const mrn = 'urn:example:mrn';

t.test('guardKey: the same criteria in any order name the same lock', async (t) => {
  const a = guardKey({ types: ['Patient'], where: [token('identifier', { system: mrn, code: '1' }, { code: '2' }), token('gender', { code: 'female' })] });
  const b = guardKey({ types: ['Patient'], where: [token('gender', { code: 'female' }), token('identifier', { code: '2' }, { code: '1', system: mrn })] });
  t.equal(a, b);
  t.match(a, /^[0-9a-f]{64}$/, 'a fixed-length hash');
});

t.test('guardKey: different criteria name different locks', async (t) => {
  const keys = [
    guardKey({ types: ['Patient'], where: [token('identifier', { code: '1' })] }),
    guardKey({ types: ['Patient'], where: [token('identifier', { system: null, code: '1' })] }),
    guardKey({ types: ['Observation'], where: [token('identifier', { code: '1' })] }),
    guardKey({ types: ['Patient'], where: [token('identifier', { code: '1' }), token('identifier', { code: '2' })] }),
    guardKey({ types: ['Patient'], where: [token('identifier', { code: '1' }, { code: '2' })] }),
    guardKey({ types: ['Patient'], where: [token('gender', { code: '1' })] }),
  ];
  t.equal(new Set(keys).size, keys.length, '`|1` and `1`, AND and OR, types and parameters all differ');
});
