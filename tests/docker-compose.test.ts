/**
 * docker-compose.yml is the production shape; no Docker engine runs here, so this checks what can be
 * checked without one: every Node service runs `npm run <script>` for a script that exists and whose
 * entry file exists, and configuration comes only from the environment.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { repoRoot } from './harness/index.ts';

interface ComposeService {
  command?: string[];
  image?: string;
  environment?: Record<string, string>;
  volumes?: string[];
}

const compose = parse(readFileSync(path.join(repoRoot, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
  services: Record<string, ComposeService>;
};
const scripts = (
  JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { scripts: Record<string, string> }
).scripts;

describe('docker-compose.yml', () => {
  it('has the production topology of DESIGN.md', () => {
    expect(Object.keys(compose.services).sort()).toEqual(
      [
        'gateway',
        'identity',
        'kafka',
        'ledger',
        'market-data',
        'matching-core',
        'orders',
        'postgres',
        'redis',
        'wallets',
      ].sort(),
    );
    expect(compose.services['kafka']?.environment?.['KAFKA_PROCESS_ROLES']).toBe('broker,controller'); // KRaft, no ZooKeeper
  });

  const nodeServices = Object.entries(compose.services).filter(
    ([, service]) => service.command?.[0] === 'npm',
  );

  it('runs every GraphEx service from a workspace script', () => {
    expect(nodeServices.map(([name]) => name).sort()).toEqual(
      ['gateway', 'identity', 'ledger', 'market-data', 'matching-core', 'orders', 'wallets'].sort(),
    );
  });

  it.each(nodeServices)(
    '%s: its command is an existing npm script with an existing entry file',
    (_name, service) => {
      expect(service.command?.slice(0, 2)).toEqual(['npm', 'run']);
      const script = service.command![2]!;
      expect(scripts).toHaveProperty(script);
      const entry = /node (\S+\.ts)/.exec(scripts[script]!)?.[1];
      expect(entry, `script ${script} runs a .ts entry`).toBeDefined();
      expect(existsSync(path.join(repoRoot, entry!)), `${entry} exists`).toBe(true);
    },
  );

  it.each(nodeServices)(
    '%s: is configured only by environment (secrets required, not baked in)',
    (_name, service) => {
      const env = service.environment ?? {};
      expect(env['NODE_ENV']).toBe('production');
      expect(env['JWT_SECRET']).toMatch(/^\$\{JWT_SECRET:\?/);
      expect(env['INTERNAL_TOKEN_SECRET']).toMatch(/^\$\{INTERNAL_TOKEN_SECRET:\?/);
      expect(env['DATABASE_URL']).toMatch(/^postgres:\/\//);
    },
  );
});
