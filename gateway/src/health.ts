/**
 * GET /health: the gateway is healthy only when every subgraph's own /health answers 200. Probes
 * run in parallel with a short deadline so a hung subgraph makes /health slow by at most that much.
 */

export type SubgraphHealth = 'ok' | 'unavailable' | 'unreachable';

export interface HealthReport {
  readonly status: 'ok' | 'unavailable';
  readonly subgraphs: Readonly<Record<string, SubgraphHealth>>;
}

export interface HealthTarget {
  readonly name: string;
  /** The subgraph's GraphQL URL; its health URL is the sibling path `health`. */
  readonly url: string;
}

/** `http://host:4001/graphql` → `http://host:4001/health` (also under a path prefix). */
export function healthUrlOf(graphqlUrl: string): string {
  return new URL('health', graphqlUrl).toString();
}

async function probe(url: string, timeoutMs: number): Promise<SubgraphHealth> {
  try {
    const response = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { accept: 'application/json' },
    });
    // The body is not needed; cancelling it frees the connection for reuse.
    await response.body?.cancel();
    return response.status === 200 ? 'ok' : 'unavailable';
  } catch {
    return 'unreachable';
  }
}

export async function checkHealth(
  targets: readonly HealthTarget[],
  timeoutMs: number,
): Promise<HealthReport> {
  const results = await Promise.all(
    targets.map(async (target) => [target.name, await probe(healthUrlOf(target.url), timeoutMs)] as const),
  );
  const subgraphs = Object.fromEntries(results);
  return { status: results.every(([, health]) => health === 'ok') ? 'ok' : 'unavailable', subgraphs };
}
