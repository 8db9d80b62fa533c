import type { Permission } from '../../context';

// The scope types live with the token grant that carries them (src/context.ts); they are named here too.
export type { Permission, Scope, ScopeContext } from '../../context';

export const PERMISSION_ORDER: readonly Permission[] = ['c', 'r', 'u', 'd', 's'];
