// Placeholder until the gcp emulator lands; replaced by the real module.
import type { CloudEmulator, EmulatorContext } from '../core/cloud';
export type GcpEmulatorOptions = Record<string, unknown>;
export function createGcpEmulator(_ctx: EmulatorContext, _opts: Partial<GcpEmulatorOptions>): CloudEmulator {
  throw new Error('gcp emulator not built yet');
}
