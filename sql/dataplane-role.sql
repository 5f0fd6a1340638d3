-- A least-privilege PostgreSQL role for OpenSLB data-plane machines (`serve --role dataplane`).
--
-- Run it once as the database owner (the role your `--role api` nodes connect with, which
-- creates and migrates the schema), after the first API node has started:
--
--     psql "postgres://owner@db-host/openslb" -f sql/dataplane-role.sql
--
-- then start data-plane machines with  --store postgres://openslb_dataplane:<password>@db-host/openslb
-- and change the password below (or set it afterwards with ALTER ROLE … PASSWORD).
--
-- The role reads desired state and writes observations, nothing more. It cannot read
-- AccessKeys and their secrets (access_keys), RAM users and policies, jobs, idempotency
-- records, tags, or any table a later release adds: privileges are granted table by table,
-- so a new table is closed to it until a release says otherwise here. It cannot change the
-- schema, so data-plane nodes never migrate (they check the schema instead).

-- Safe to run again (e.g. after an upgrade that changes the grants below).
DO $$
BEGIN
  CREATE ROLE openslb_dataplane LOGIN PASSWORD 'change-me';
EXCEPTION WHEN duplicate_object THEN
  NULL;
END
$$;

GRANT USAGE ON SCHEMA public TO openslb_dataplane;

-- Desired state: the schema version, the revision, and the resources the reconcilers read
-- (listeners, server groups, security policies, certificates for TLS listeners).
GRANT SELECT ON meta, revision, resources TO openslb_dataplane;

-- What a node says about itself: registration, heartbeat, applied revision, bound/failed
-- listeners and health verdicts.
GRANT SELECT, INSERT, UPDATE, DELETE ON nodes, observations TO openslb_dataplane;
