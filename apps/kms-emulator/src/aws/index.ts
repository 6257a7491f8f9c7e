// Placeholder until the aws emulator lands; replaced by the real module.
import type { CloudEmulator, EmulatorContext } from '../core/cloud';
export type AwsEmulatorOptions = Record<string, unknown>;
export function createAwsEmulator(_ctx: EmulatorContext, _opts: Partial<AwsEmulatorOptions>): CloudEmulator {
  throw new Error('aws emulator not built yet');
}
