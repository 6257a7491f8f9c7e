import type { MigrationInterface, QueryRunner } from 'typeorm';

/**
 * No wrapped form outlives its purpose, enforced by the schema:
 *  - a retired KEK version wraps no DEK, so it keeps no wrapped form: `wrapped` and `key_configuration_id` are
 *    NULL exactly when the version is retired (the row stays as a tombstone: version number, KCV, wrap count);
 *  - `previous_*` (the form a re-key or CMK rewrap replaced) exists only while that operation runs; rows left by
 *    operations that already finished are cleared here;
 *  - every stored form names the configuration whose key opens it through a foreign key (composite with the tenant,
 *    ON DELETE RESTRICT), `previous_key_configuration_id` included, so a key configuration cannot be deleted while
 *    anything wrapped under it is stored: the database refuses, whatever the application checks first;
 *  - `destroyed`: the tombstone state of a workspace deleted on purpose. It has no binding and no KEK version, and a
 *    trigger refuses any KEK form written for it afterwards (a late job cannot bring one back).
 */
export class NoResidue1764000000000 implements MigrationInterface {
  name = 'NoResidue1764000000000';

  async up(q: QueryRunner): Promise<void> {
    await q.query(`
      UPDATE kek_versions k SET previous_wrapped = NULL, previous_key_configuration_id = NULL, previous_provider_key_version = NULL
      WHERE (previous_wrapped IS NOT NULL OR previous_key_configuration_id IS NOT NULL)
        AND (NOT EXISTS (SELECT 1 FROM operations o WHERE o.tenant_id = k.tenant_id AND o.workspace_id = k.workspace_id
                          AND o.kind IN ('rekey', 'cmk-rewrap') AND o.state IN ('queued', 'running'))
             OR previous_wrapped IS NULL OR previous_key_configuration_id IS NULL
             OR NOT EXISTS (SELECT 1 FROM key_configurations c WHERE c.tenant_id = k.tenant_id AND c.id = k.previous_key_configuration_id))`);
    await q.query(
      `ALTER TABLE kek_versions ALTER COLUMN wrapped DROP NOT NULL, ALTER COLUMN key_configuration_id DROP NOT NULL`,
    );
    await q.query(`
      UPDATE kek_versions SET wrapped = NULL, key_configuration_id = NULL, provider_key_version = NULL
      WHERE state = 'retired'`);
    await q.query(`
      ALTER TABLE kek_versions
        ADD CONSTRAINT kek_versions_form_only_while_live CHECK ((state = 'retired') = (wrapped IS NULL)),
        ADD CONSTRAINT kek_versions_form_names_its_key CHECK ((wrapped IS NULL) = (key_configuration_id IS NULL)),
        ADD CONSTRAINT kek_versions_previous_names_its_key CHECK ((previous_wrapped IS NULL) = (previous_key_configuration_id IS NULL)),
        ADD CONSTRAINT kek_versions_previous_only_while_live CHECK (state <> 'retired' OR previous_wrapped IS NULL)`);
    await q.query(`ALTER TABLE kek_versions DROP CONSTRAINT kek_versions_tenant_id_key_configuration_id_fkey`);
    await q.query(`
      ALTER TABLE kek_versions
        ADD CONSTRAINT kek_versions_key_configuration_fk FOREIGN KEY (tenant_id, key_configuration_id)
          REFERENCES key_configurations (tenant_id, id) ON DELETE RESTRICT,
        ADD CONSTRAINT kek_versions_previous_key_configuration_fk FOREIGN KEY (tenant_id, previous_key_configuration_id)
          REFERENCES key_configurations (tenant_id, id) ON DELETE RESTRICT`);
    await q.query(
      `CREATE INDEX kek_versions_previous_config_idx ON kek_versions (tenant_id, previous_key_configuration_id) WHERE previous_key_configuration_id IS NOT NULL`,
    );
    await q.query(`ALTER TABLE workspaces DROP CONSTRAINT workspaces_tenant_id_key_configuration_id_fkey`);
    await q.query(`
      ALTER TABLE workspaces ADD CONSTRAINT workspaces_key_configuration_fk FOREIGN KEY (tenant_id, key_configuration_id)
        REFERENCES key_configurations (tenant_id, id) ON DELETE RESTRICT`);

    await q.query(`ALTER TABLE workspaces DROP CONSTRAINT workspaces_key_state_check`);
    await q.query(`
      ALTER TABLE workspaces
        ADD CONSTRAINT workspaces_key_state_check CHECK (key_state IN
          ('unbound', 'provisioning', 'active', 'rewrapping', 'rekeying', 'kek_rotating', 'access_suspect', 'shredded', 'destroyed')),
        ADD CONSTRAINT workspaces_destroyed_has_no_key CHECK (key_state <> 'destroyed' OR (key_configuration_id IS NULL AND current_kek_version IS NULL))`);
    // No row lock here: a writer that passes this check while a destroy is still uncommitted either holds the KEK
    // row the destroy must lock before it deletes (so the destroy deletes what it wrote), or inserts a row the
    // destroy cannot see and then fails its own compare-and-set on the workspace (so its transaction rolls back).
    // Locking the workspace row from here would invert the destroy's lock order (workspace, then KEK rows).
    await q.query(`
      CREATE FUNCTION keyhold_refuse_form_of_destroyed() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM workspaces w WHERE w.tenant_id = NEW.tenant_id AND w.id = NEW.workspace_id
                   AND w.key_state = 'destroyed') THEN
          RAISE EXCEPTION 'workspace % is destroyed: no key form may be stored for it', NEW.workspace_id USING ERRCODE = 'check_violation';
        END IF;
        RETURN NEW;
      END $$`);
    await q.query(`
      CREATE TRIGGER kek_versions_refuse_destroyed BEFORE INSERT OR UPDATE OF wrapped, previous_wrapped ON kek_versions
        FOR EACH ROW EXECUTE FUNCTION keyhold_refuse_form_of_destroyed()`);
    // A retired version has no wrapped form any more, so a DEK stored under it could never be read again: a replica
    // that still believes an old version is current (until its cached state is invalidated) is refused here rather
    // than losing data. One check per statement (the DEK path inserts a batch per statement); it runs after the
    // foreign-key check, which waits for a concurrent retirement (that locks the KEK row) and so sees its outcome.
    await q.query(`
      CREATE FUNCTION keyhold_refuse_dek_under_retired() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        IF EXISTS (SELECT 1 FROM new_deks d JOIN kek_versions k ON k.workspace_id = d.workspace_id AND k.version = d.kek_version
                   WHERE k.state = 'retired') THEN
          RAISE EXCEPTION 'a DEK cannot be stored under a retired KEK version' USING ERRCODE = 'check_violation';
        END IF;
        RETURN NULL;
      END $$`);
    await q.query(`
      CREATE TRIGGER deks_refuse_retired_kek AFTER INSERT ON deks REFERENCING NEW TABLE AS new_deks
        FOR EACH STATEMENT EXECUTE FUNCTION keyhold_refuse_dek_under_retired()`);
  }

  async down(q: QueryRunner): Promise<void> {
    await q.query(`DROP TRIGGER IF EXISTS deks_refuse_retired_kek ON deks`);
    await q.query(`DROP FUNCTION IF EXISTS keyhold_refuse_dek_under_retired()`);
    await q.query(`DROP TRIGGER IF EXISTS kek_versions_refuse_destroyed ON kek_versions`);
    await q.query(`DROP FUNCTION IF EXISTS keyhold_refuse_form_of_destroyed()`);
    // Destroyed workspaces have no keys left; they come back as unbound tombstones.
    await q.query(`UPDATE workspaces SET key_state = 'unbound' WHERE key_state = 'destroyed'`);
    await q.query(
      `ALTER TABLE workspaces DROP CONSTRAINT workspaces_destroyed_has_no_key, DROP CONSTRAINT workspaces_key_state_check`,
    );
    await q.query(`
      ALTER TABLE workspaces ADD CONSTRAINT workspaces_key_state_check CHECK (key_state IN
        ('unbound', 'provisioning', 'active', 'rewrapping', 'rekeying', 'kek_rotating', 'access_suspect', 'shredded'))`);
    await q.query(`ALTER TABLE workspaces DROP CONSTRAINT workspaces_key_configuration_fk`);
    await q.query(`
      ALTER TABLE workspaces ADD CONSTRAINT workspaces_tenant_id_key_configuration_id_fkey FOREIGN KEY (tenant_id, key_configuration_id)
        REFERENCES key_configurations (tenant_id, id)`);
    await q.query(`DROP INDEX IF EXISTS kek_versions_previous_config_idx`);
    await q.query(
      `ALTER TABLE kek_versions DROP CONSTRAINT kek_versions_previous_key_configuration_fk, DROP CONSTRAINT kek_versions_key_configuration_fk`,
    );
    await q.query(`
      ALTER TABLE kek_versions ADD CONSTRAINT kek_versions_tenant_id_key_configuration_id_fkey FOREIGN KEY (tenant_id, key_configuration_id)
        REFERENCES key_configurations (tenant_id, id)`);
    await q.query(`
      ALTER TABLE kek_versions DROP CONSTRAINT kek_versions_form_only_while_live, DROP CONSTRAINT kek_versions_form_names_its_key,
        DROP CONSTRAINT kek_versions_previous_names_its_key, DROP CONSTRAINT kek_versions_previous_only_while_live`);
    // Retired versions have no form to restore (it was destroyed on purpose): they cannot return to NOT NULL.
    await q.query(`DELETE FROM kek_versions WHERE wrapped IS NULL`);
    await q.query(
      `ALTER TABLE kek_versions ALTER COLUMN wrapped SET NOT NULL, ALTER COLUMN key_configuration_id SET NOT NULL`,
    );
  }
}
