/**
 * Loads one of the optional native relays (built by `npm install` into build/Release) on first
 * use, once per process. `OPENSLB_USERSPACE_RELAY=js` and non-Linux hosts never load it; a
 * missing or broken build is a reason, not an error, because every relay has a JS fallback.
 */
import { createRequire } from 'node:module';

export interface NativeRelayLoader<T> {
  /** The relay, or undefined when the fallback is to be used. */
  get(): T | undefined;
  /** Why the fallback is used, or undefined when the relay is loaded. */
  unavailableReason(): string | undefined;
}

export function nativeRelayLoader<Addon, T>(addonName: string, linuxOnly: string, wrap: (addon: Addon) => T): NativeRelayLoader<T> {
  let relay: T | undefined;
  let unavailable: string | undefined;
  const load = (): void => {
    if (relay || unavailable) return;
    if (process.env.OPENSLB_USERSPACE_RELAY === 'js') {
      unavailable = 'OPENSLB_USERSPACE_RELAY=js';
      return;
    }
    if (process.platform !== 'linux') {
      unavailable = linuxOnly;
      return;
    }
    try {
      relay = wrap(createRequire(import.meta.url)(`../../../build/Release/${addonName}.node`) as Addon);
    } catch (err) {
      unavailable = `native addon ${addonName} not built (${(err as Error).message.split('\n')[0]}); run npm install`;
    }
  };
  return {
    get: () => (load(), relay),
    unavailableReason: () => (load(), unavailable),
  };
}
