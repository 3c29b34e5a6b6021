// Preloaded with `node --import`: registers the hooks that load the mutant named in
// DELIVERYCHECK_MUTANT (see hook.ts). Without that variable it does nothing.

import { register } from 'node:module';
import { packageRoot } from '../../core/package-root.js';

const mutant = process.env['DELIVERYCHECK_MUTANT'];
if (mutant !== undefined && mutant !== '') {
  register('./hook.js', import.meta.url, { data: { mutant, root: packageRoot() } });
}
