/**
 * `decodeWire` for the hot path between the core service and its clients: the same result and the
 * same refusals, without a JSON.parse reviver. A reviver is called back for every key and array
 * element of every event; parsing plainly and then walking the objects once converts the same
 * bigint fields (`bigintFieldNames`, at any depth) at a fraction of the cost — it was the largest
 * single JavaScript cost of a projection following the core under load.
 */
import { bigintFieldNames } from '@graphex/schema';

const integerText = /^-?\d+$/;

function reviveBigints(value: object): void {
  if (Array.isArray(value)) {
    for (const element of value as unknown[])
      if (element !== null && typeof element === 'object') reviveBigints(element);
    return;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const field = record[key];
    if (typeof field === 'string') {
      if (!bigintFieldNames.has(key)) continue;
      if (!integerText.test(field)) throw new SyntaxError(`Field ${key} must be an integer string.`);
      record[key] = BigInt(field);
    } else if (field !== null && typeof field === 'object') {
      reviveBigints(field);
    }
  }
}

/** Parses wire JSON, turning the known bigint fields back into bigint (nested objects included). */
export function decodeWireMessage<T>(text: string): T {
  const parsed: unknown = JSON.parse(text);
  if (parsed !== null && typeof parsed === 'object') reviveBigints(parsed);
  return parsed as T;
}
