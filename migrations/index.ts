import { InitialSchema1763880000000 } from './1763880000000-InitialSchema';
import { JobsSupport1763890000000 } from './1763890000000-JobsSupport';
import { KekGeneration1764600000000 } from './1764600000000-KekGeneration';
import { VendorCanary1764600000001 } from './1764600000001-VendorCanary';

/** Every migration class, in order. The DataSource lists them explicitly (no glob: works under jest, swc and dist). */
export const MIGRATIONS = [InitialSchema1763880000000, JobsSupport1763890000000, KekGeneration1764600000000, VendorCanary1764600000001];
