import t from 'tap';
import { escapeValue, splitUnescaped, unescape } from '../../src/search/escape';

t.test('escapeValue makes a literal one search value: split and unescaped, it comes back', async (t) => {
  const values = ['a,b', 'x|y', 'cost$1', 'back\\slash', 'plain'];
  const joined = values.map(escapeValue).join(',');
  t.same(splitUnescaped(joined, ',').map(unescape), values);
});
