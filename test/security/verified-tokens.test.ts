import type { JWTPayload } from 'jose';
import t from 'tap';
import { VerifiedTokens } from '../../src/security/auth/verified-tokens';
import type { TokenVerifier } from '../../src/security/auth/verify-token';

const EXP = 1_800_000_000; // seconds
const verifier = {} as TokenVerifier;

/** A fake full verification: accepts `good...` tokens (exp EXP), refuses others, and counts its calls. */
function fake(): { verify: (v: TokenVerifier, token: string) => Promise<JWTPayload>; calls: () => number } {
  let calls = 0;
  return {
    verify: async (_v, token) => {
      calls++;
      if (!token.startsWith('good')) throw new Error('refused');
      return { sub: token, exp: EXP };
    },
    calls: () => calls,
  };
}

t.test('a token that verified is not verified again until its exp, and never after', async (t) => {
  const full = fake();
  const tokens = new VerifiedTokens(verifier, full.verify);
  const before = EXP * 1000 - 10_000;
  t.match(await tokens.verify('good-1', before), { sub: 'good-1' });
  t.match(await tokens.verify('good-1', before + 5_000), { sub: 'good-1' });
  t.equal(full.calls(), 1, 'the second use is served from the cache');
  await tokens.verify('good-2', before);
  t.equal(full.calls(), 2, 'another token string is verified on its own');
  await tokens.verify('good-1', EXP * 1000);
  t.equal(full.calls(), 3, 'at exp the token is verified in full again (which refuses an expired one)');
});

t.test('a refused token is refused every time, each time by the full verification', async (t) => {
  const full = fake();
  const tokens = new VerifiedTokens(verifier, full.verify);
  await t.rejects(tokens.verify('bad', 0), { message: 'refused' });
  await t.rejects(tokens.verify('bad', 0), { message: 'refused' });
  t.equal(full.calls(), 2, 'nothing about a refusal is kept');
});
