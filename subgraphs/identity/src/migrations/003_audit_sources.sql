-- Issue 6: identity's audit chain becomes the exchange's one chain. Every entry names the service
-- that recorded it (`source`) and a key unique within that service (`source_key`), so entries
-- shipped from other services' outboxes are appended exactly once.
--
-- Entries written before this migration keep their hashes: they are hash version 1 (the hash does
-- not cover source and key) with source 'identity' and key 'legacy:<id>', and the verifier accepts
-- version 1 only in that form and only before the first version 2 entry. New entries are version 2.
ALTER TABLE audit_log ADD COLUMN source text;
ALTER TABLE audit_log ADD COLUMN source_key text;
ALTER TABLE audit_log ADD COLUMN hash_version smallint NOT NULL DEFAULT 1;
UPDATE audit_log SET source = 'identity', source_key = 'legacy:' || id::text;
ALTER TABLE audit_log ALTER COLUMN source SET NOT NULL;
ALTER TABLE audit_log ALTER COLUMN source_key SET NOT NULL;
ALTER TABLE audit_log ALTER COLUMN hash_version DROP DEFAULT;
ALTER TABLE audit_log ADD CONSTRAINT audit_log_hash_version_check CHECK (hash_version IN (1, 2));
ALTER TABLE audit_log ADD CONSTRAINT audit_log_source_key_unique UNIQUE (source, source_key);
-- Query.auditLog filters by source and action.
CREATE INDEX audit_log_source_action ON audit_log (source, action, id);
CREATE INDEX audit_log_action ON audit_log (action, id);
