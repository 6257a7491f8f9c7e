// Placeholder until the azure emulator lands; replaced by the real module.
import type { CloudEmulator, EmulatorContext } from '../core/cloud';
export type AzureEmulatorOptions = Record<string, unknown>;
export function createAzureEmulator(_ctx: EmulatorContext, _opts: Partial<AzureEmulatorOptions>): CloudEmulator {
  throw new Error('azure emulator not built yet');
}
