import { defaultMigrationsDir } from '../package-root.js';
import { checkDatabaseUrl } from './checks.js';
import { bool, directory, int, optional, secretUrl, text, withDefault } from './parsers.js';

/** The database and the audit log. */
export const STORAGE_ENV = {
  DATABASE_URL: optional(secretUrl(checkDatabaseUrl), 'PostgreSQL URL; unset: embedded PGlite in PGLITE_DIR.', { secretFile: true }),
  PGLITE_DIR: withDefault(text(), './data/pglite', "PGlite's data folder (without DATABASE_URL)."),
  MIGRATIONS_DIR: withDefault(directory(), defaultMigrationsDir, "The migrations folder; default: the package's prisma/migrations."),
  AUDIT_SIGNING_KEY_FILE: optional(text(), 'Checkpoint signing keys, one per line; the first signs (audit-signing-keys.ts).'),
  AUDIT_RETENTION_DAYS: withDefault(int(0, 36_500), '0', 'Days records are kept; 0 keeps every record forever.'),
  AUDIT_CHECKPOINT_INTERVAL_MS: withDefault(int(1_000, 86_400_000), '60000', 'How often a signed checkpoint is written.'),
  AUDIT_BATCH_MAX_SIZE: withDefault(int(1, 5_000), '256', 'Events committed together at most.'),
  AUDIT_BATCH_MAX_WAIT_MS: withDefault(int(0, 1_000), '0', 'How long a batch waits for more events.'),
  AUDIT_WRITE_TIMEOUT_MS: withDefault(int(100, 60_000), '5000', 'A batch not committed within this is failed (503 audit_unavailable).'),
  AUDIT_STORE_TEXT: withDefault(bool(), 'false', 'Store prompt and answer text (masked) in the audit log.'),
  AUDIT_SEAL_INTERVAL_MS: withDefault(int(10, 60_000), '100', 'How often recorded events are sealed into the hash chain.'),
  AUDIT_SEAL_BATCH_MAX: withDefault(int(1, 50_000), '5000', 'Events sealed together at most.'),
  AUDIT_SEAL_MAX_LAG_MS: withDefault(int(1_000, 86_400_000), '60000', 'An event recorded and not sealed for longer fails verification.'),
};
