// markInstancesOffline: agents not seen lately are marked offline (their tasks keep their leases).
import type { TransitionKit } from './kit.js';

export function instanceTransitions({ store }: TransitionKit) {
  return {
    /** Marks agents not seen since `seenBefore` offline; returns their ids. */
    markInstancesOffline(seenBefore: number): Promise<string[]> {
      return store.markInstancesOffline(seenBefore);
    },
  };
}
