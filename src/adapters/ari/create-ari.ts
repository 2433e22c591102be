import type { AriPort, AriPortOptions } from '../../ports/ari';
import { AriClientAri } from './ari-client-ari';
import { NativeAri } from './native-ari';

export type AriAdapterKind = 'native' | 'ari-client';

export const ariAdapterKinds: readonly AriAdapterKind[] = ['native', 'ari-client'];

/** The one place that knows the adapters. 'native' is the default everywhere else. */
export function createAri(kind: AriAdapterKind, options: AriPortOptions): AriPort {
  switch (kind) {
    case 'native':
      return new NativeAri(options);
    case 'ari-client':
      return new AriClientAri(options);
    default:
      throw new RangeError(`unknown ARI adapter kind: ${String(kind satisfies never)}`);
  }
}
