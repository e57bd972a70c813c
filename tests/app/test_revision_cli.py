"""`lapis revision create|list` as a steward runs them (subprocesses): a revision recorded as the database role the
command connects as, its number alone on standard output; a bad date or a name taken exits 1 with the reason. And
`lapis export --revision N`: the layer as that revision fixed it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import psycopg
import pyogrio

LAPIS = [sys.executable, "-m", "app.cli", "revision"]


def run(args: list[str], url: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "DATABASE_URL": url, "LAPIS_DATA_DIR": str(tmp_path / ".data")}
    return subprocess.run([*LAPIS, *args], capture_output=True, text=True, env=env, timeout=180, check=False)


def test_a_steward_records_and_lists_revisions(fresh_db_url: str, tmp_path: Path) -> None:
    created = run(["create", "--name", "Điều chỉnh 2025", "--legal-basis", "Decision 1234/QĐ-TTg, 01/10/2025",
                   "--date", "2025-10-01", "--note", "Điều chỉnh cục bộ các khu công nghiệp"], fresh_db_url, tmp_path)
    assert created.returncode == 0, created.stderr
    assert created.stdout.strip() == "2" and "fixes the plan as of" in created.stderr
    with psycopg.connect(fresh_db_url) as conn:
        row = conn.execute("SELECT name, legal_basis, decided_on::text, note, created_by = session_user, "
                           "published_at > (SELECT published_at FROM revisions WHERE id = 1) FROM revisions "
                           "WHERE id = 2").fetchone()
    assert row == ("Điều chỉnh 2025", "Decision 1234/QĐ-TTg, 01/10/2025", "2025-10-01",
                   "Điều chỉnh cục bộ các khu công nghiệp", True, True)
    listed = run(["list"], fresh_db_url, tmp_path)
    assert listed.returncode == 0 and "686/QĐ-TTg" in listed.stdout and "Điều chỉnh 2025" in listed.stdout


def test_mistakes_exit_1_with_the_reason(fresh_db_url: str, tmp_path: Path) -> None:
    bad_date = run(["create", "--name", "x", "--legal-basis", "y", "--date", "01/10/2025"], fresh_db_url, tmp_path)
    assert bad_date.returncode == 1 and "--date" in bad_date.stderr and "YYYY-MM-DD" in bad_date.stderr
    blank = run(["create", "--name", " ", "--legal-basis", "y"], fresh_db_url, tmp_path)
    assert blank.returncode == 1 and "--name" in blank.stderr
    taken = run(["create", "--name", "Quy hoạch tỉnh Long An thời kỳ 2021–2030, tầm nhìn đến năm 2050",
                 "--legal-basis", "y"], fresh_db_url, tmp_path)
    assert taken.returncode == 1 and "exists" in taken.stderr
    with psycopg.connect(fresh_db_url) as conn:
        assert conn.execute("SELECT count(*) FROM revisions").fetchone()[0] == 1


def test_export_of_a_revision_is_the_plan_it_fixed(fresh_db_url: str, tmp_path: Path) -> None:
    """`lapis export --revision N` writes the layer as revision N fixed it; mistakes exit 2 naming `--revision`."""
    with psycopg.connect(fresh_db_url) as conn:
        bundled = conn.execute("SELECT name_vi FROM zones WHERE code = 'C1'").fetchone()[0]
        conn.execute("UPDATE zones SET name_vi = 'Trung tâm mới' WHERE code = 'C1'")

    def export(*options: str) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "DATABASE_URL": fresh_db_url, "LAPIS_DATA_DIR": str(tmp_path / ".data")}
        out = tmp_path / f"zones-{len(list(tmp_path.glob('*.gpkg')))}.gpkg"
        done = subprocess.run([sys.executable, "-m", "app.cli", "export", "zones", str(out), *options],
                              capture_output=True, text=True, env=env, timeout=180, check=False)
        done.out = out  # type: ignore[attr-defined]
        return done

    def c1_name(done: subprocess.CompletedProcess[str]) -> str:
        assert done.returncode == 0, done.stderr
        frame = pyogrio.read_dataframe(done.out)  # type: ignore[attr-defined]
        return frame[frame.code == "C1"].name_vi.iloc[0]

    assert c1_name(export("--revision", "1")) == bundled
    assert c1_name(export()) == "Trung tâm mới"
    for options, reason in ((["--revision", "9"], "no revision 9"), (["--revision", "x"], "not a revision number"),
                            (["--revision", "1", "--asof", "2026-01-01T00:00:00Z"], "not both")):
        refused = export(*options)
        assert refused.returncode == 2 and "--revision" in refused.stderr and reason in refused.stderr, refused.stderr
        assert not refused.out.exists()  # type: ignore[attr-defined]
