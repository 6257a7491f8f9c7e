import { InitialSchema1763880000000 } from './1763880000000-InitialSchema';
import { JobsSupport1763890000000 } from './1763890000000-JobsSupport';
import { NoResidue1764000000000 } from './1764000000000-NoResidue';

/** Every migration class, in order. The DataSource lists them explicitly (no glob: works under jest, swc and dist). */
export const MIGRATIONS = [InitialSchema1763880000000, JobsSupport1763890000000, NoResidue1764000000000];
