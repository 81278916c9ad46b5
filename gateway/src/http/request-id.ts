/**
 * Request ids: every request through the gateway gets one, echoed in the `x-request-id` response
 * header, forwarded to every subgraph, written on every log line and put in masked errors.
 */
import { randomUUID } from 'node:crypto';

/** A caller-supplied id is kept only when it is short and harmless to log and to echo. */
const acceptableRequestId = /^[A-Za-z0-9._:-]{8,128}$/;

/** The caller's `x-request-id` when it is acceptable (a proxy in front may set it), else a new UUID. */
export function requestIdFor(supplied: string | undefined): string {
  return supplied !== undefined && acceptableRequestId.test(supplied) ? supplied : randomUUID();
}
