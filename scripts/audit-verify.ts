/**
 * `npm run audit:verify`: walks the exchange's whole audit chain and recomputes every hash here
 * (never trusting identity's own word), then prints
 *
 *   audit:verify ok entries=<n> head=<hash>                      (exit 0)
 *   audit:verify FAILED at entry <id> (<problem>): <message>      (exit 1)
 *
 * Where the entries come from, first match wins:
 *   --data-dir <dir>        the platform's DATA_DIR while it is stopped (identity's PGlite files);
 *   --identity-url <url>    the running identity service's export route, with a service token
 *                           (INTERNAL_TOKEN_SECRET);
 *   --database-url <url>    or env DATABASE_URL: identity's schema (DATABASE_SCHEMA_PREFIX applies);
 *   otherwise               the running identity at IDENTITY_URL (or its default address).
 * Anything else that goes wrong (unreachable, not identity's data) exits 2.
 */
import { parseArgs } from 'node:util';
import path from 'node:path';
import { loadConfig, subgraphUrl, verifyAuditLog, type VerifyAuditLogOptions } from '@graphex/runtime';

const { values } = parseArgs({
  options: {
    'data-dir': { type: 'string' },
    'database-url': { type: 'string' },
    'identity-url': { type: 'string' },
  },
  strict: true,
});

function sourceOfEntries(): VerifyAuditLogOptions {
  if (values['data-dir']) return { dataDir: path.resolve(values['data-dir']) };
  const online = (identityUrl: string) => ({
    identityUrl,
    internalTokenSecret: loadConfig().internalTokenSecret,
  });
  if (values['identity-url']) return online(values['identity-url']);
  const databaseUrl = values['database-url'] ?? process.env['DATABASE_URL'];
  if (databaseUrl) return { databaseUrl };
  return online(subgraphUrl('identity'));
}

try {
  const check = await verifyAuditLog(sourceOfEntries());
  if (check.ok) {
    console.log(`audit:verify ok entries=${check.length} head=${check.headHash}`);
  } else {
    console.log(`audit:verify FAILED at entry ${check.firstBadId} (${check.problem}): ${check.message}`);
    process.exitCode = 1;
  }
} catch (error) {
  console.error(`audit:verify could not read the chain: ${(error as Error).message}`);
  process.exitCode = 2;
}
