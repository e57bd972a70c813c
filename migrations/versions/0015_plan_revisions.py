"""Plan revisions: named, published states of the plan with their legal basis.

A revision fixes an instant (`published_at`): the plan as it stood then is what the feature history (migration
0014) says was valid at that instant, so a revision needs no copy of any feature. `legal_basis` names the decision
that made it (the bundled plan: "Decision 686/QĐ-TTg, 13/06/2023"), `decided_on` the decision's date, `created_by`
the LAPIS user (or database role) that recorded it. Readers read revisions, approvers record them; nobody the app
acts as may change or remove one (no UPDATE or DELETE is granted).

When the plan tables already hold the plan (a database migrated after it was seeded), the plan as it stands becomes
revision 1 here; on a new, empty database `lapis db seed` records it once it has loaded the bundled data.

The history tables get a BRIN index on `valid_from`: a diff between two instants starts from the versions written
between them, and versions are written in time order, so a few hundred bytes of index find them in any history.

Revision ID: 0015
Revises: 0014
Create Date: 2026-11-28
"""

from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

HISTORY_TABLES = ("plans", "admin_units", "zones", "corridors", "axes", "projects", "parcels", "use_rules")

REVISIONS = """
CREATE TABLE revisions (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name text NOT NULL UNIQUE CHECK (name <> '' AND name IS NFC NORMALIZED),
    legal_basis text NOT NULL CHECK (legal_basis <> '' AND legal_basis IS NFC NORMALIZED),
    decided_on date,
    note text CHECK (note IS NFC NORMALIZED),
    published_at timestamptz NOT NULL DEFAULT now(),
    created_by text NOT NULL
);
CREATE INDEX revisions_published_at_idx ON revisions (published_at);
COMMENT ON TABLE revisions IS 'Named, published states of the plan: the plan as the history had it at published_at';
REVOKE ALL ON revisions FROM PUBLIC;
GRANT SELECT ON revisions TO lapis_reader;
GRANT INSERT ON revisions TO lapis_approver;
"""

# the bundled plan, when it is already there (kept in step with spatial.history.revisions.BUNDLED)
BUNDLED = """
INSERT INTO revisions (name, legal_basis, decided_on, note, created_by)
SELECT 'Quy hoạch tỉnh Long An thời kỳ 2021–2030, tầm nhìn đến năm 2050', 'Decision 686/QĐ-TTg, 13/06/2023',
       DATE '2023-06-13', 'The plan as approved (the bundled data)', current_user
WHERE EXISTS (SELECT 1 FROM plans) AND NOT EXISTS (SELECT 1 FROM revisions)
"""


def upgrade() -> None:
    op.execute(REVISIONS)
    op.execute(BUNDLED)
    for table in HISTORY_TABLES:
        op.execute(f"CREATE INDEX history_{table}_valid_from_idx ON history.{table} USING brin (valid_from)")


def downgrade() -> None:
    for table in HISTORY_TABLES:
        op.execute(f"DROP INDEX history.history_{table}_valid_from_idx")
    op.execute("DROP TABLE revisions")
