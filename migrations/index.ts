import { InitialSchema1763880000000 } from './1763880000000-InitialSchema';
import { JobsSupport1763890000000 } from './1763890000000-JobsSupport';
import { Credentials1764300000000 } from './1764300000000-Credentials';

/** Every migration class, in order. The DataSource lists them explicitly (no glob: works under jest, swc and dist). */
export const MIGRATIONS = [InitialSchema1763880000000, JobsSupport1763890000000, Credentials1764300000000];
