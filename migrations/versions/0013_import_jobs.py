"""Import jobs: a file uploaded to `POST /collections/{id}/imports` is loaded in the background, and its row here
says how far it got (state, progress), what the loader found (report) and which proposal it made.

Editors insert their own jobs and read and update only their own (row-level security on `lapis.user`, the
transaction's caller: `spatial.session.as_caller`); approvers and admins read and update every job. Nobody
deletes one: a job is the record of an upload.

A job belongs to the server process that runs it, its *runner*: every process holds a session advisory lock
(class `JOB_LOCK_CLASS`, key = `runner`) for as long as it lives. A queued or running job whose runner's lock is
gone was cut off by the death of its process (kill -9, a crash, the machine going down): its transaction was
rolled back by PostgreSQL, so nothing of it was written, and `lapis_reap_import_jobs()` marks it failed. Any
process may call it (at startup, and when a job is read): the lock, not the caller, says who is alive.

Revision ID: 0013
Revises: 0012 (proposals: `import_jobs.proposal_id` references them; on its own branch this was 0010)
Create Date: 2026-11-27
"""

from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None

JOB_LOCK_CLASS = 19530  # the first key of every runner's advisory lock ("LJ"); spatial.jobs.store uses the same

JOBS = """
CREATE TABLE import_jobs (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    layer text NOT NULL,
    author text NOT NULL,
    state text NOT NULL DEFAULT 'queued'
        CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    filename text NOT NULL,
    options jsonb NOT NULL DEFAULT '{}'::jsonb,
    progress jsonb NOT NULL DEFAULT '{}'::jsonb,
    report jsonb,
    proposal_id bigint REFERENCES proposals (id) ON DELETE SET NULL,
    runner integer NOT NULL CHECK (runner > 0),
    created_at timestamptz NOT NULL DEFAULT now(),
    started_at timestamptz,
    finished_at timestamptz
);
CREATE INDEX import_jobs_author ON import_jobs (author);
CREATE INDEX import_jobs_unfinished ON import_jobs (runner) WHERE state IN ('queued', 'running');

GRANT SELECT, INSERT, UPDATE ON import_jobs TO lapis_editor;
REVOKE SELECT ON import_jobs FROM lapis_reader;  -- not public (0011's default privileges would give it)
ALTER TABLE import_jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY import_jobs_own ON import_jobs TO lapis_editor
    USING (author = current_setting('lapis.user', true))
    WITH CHECK (author = current_setting('lapis.user', true));
CREATE POLICY import_jobs_every ON import_jobs TO lapis_approver USING (true) WITH CHECK (true);
"""

REAP = f"""
CREATE FUNCTION lapis_reap_import_jobs() RETURNS SETOF bigint
LANGUAGE sql VOLATILE SECURITY DEFINER SET search_path = pg_catalog, public
AS $$
    UPDATE public.import_jobs j
    SET state = 'failed', finished_at = now(),
        report = jsonb_build_object('errors', jsonb_build_array(jsonb_build_object(
            'title', 'Interrupted',
            'detail', 'the server stopped while the job was ' || j.state || ': nothing of it was written (its '
                      'transaction was rolled back); upload the file again')))
    WHERE j.state IN ('queued', 'running') AND NOT EXISTS (
        SELECT FROM pg_locks l
        WHERE l.locktype = 'advisory' AND l.granted AND l.classid = {JOB_LOCK_CLASS} AND l.objsubid = 2
          AND l.objid = j.runner::oid
          AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))
    RETURNING j.id
$$;
REVOKE ALL ON FUNCTION lapis_reap_import_jobs() FROM PUBLIC;
GRANT EXECUTE ON FUNCTION lapis_reap_import_jobs() TO lapis_editor;
"""


def upgrade() -> None:
    op.execute(JOBS)
    op.execute(REAP)


def downgrade() -> None:
    op.execute("DROP FUNCTION lapis_reap_import_jobs(); DROP TABLE import_jobs;")
