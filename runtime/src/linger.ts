/**
 * Holds a follower of the core's event log back between batches. At low event rates a projection's
 * cost is per batch (a transaction, its fixed statements, the publications, the core's ack); while
 * it waits, the core gathers what arrives, and the next delivery carries it all.
 */
export interface Linger {
  /** Resolves `lingerMs` after `began` (`performance.now()` time), or at once if that has passed. */
  hold(began: number): Promise<void>;
  /** Ends the current hold now (someone waits for the next batch, or the follower closes). */
  end(): void;
}

export function createLinger(lingerMs: number): Linger {
  let current: { readonly timer: NodeJS.Timeout; readonly resolve: () => void } | null = null;
  const end = (): void => {
    const holding = current;
    current = null;
    if (!holding) return;
    clearTimeout(holding.timer);
    holding.resolve();
  };
  return {
    hold: (began) => {
      const remaining = began + lingerMs - performance.now();
      if (lingerMs <= 0 || remaining <= 0) return Promise.resolve();
      end();
      return new Promise<void>((resolve) => {
        current = { timer: setTimeout(end, remaining), resolve };
      });
    },
    end,
  };
}
