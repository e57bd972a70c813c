"""The throwaway database the benchmarks run against: an embedded cluster of their own, migrated and seeded with the
bundled plan, removed afterwards."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from spatial import migrate
from spatial.embedded import EmbeddedCluster
from spatial.seed import seed
from spatial.settings import PROJECT_ROOT


@contextmanager
def seeded_cluster(prefix: str) -> Iterator[tuple[EmbeddedCluster, str, Path]]:
    """A throwaway embedded cluster, migrated and seeded with the bundled plan: (cluster, owner URL, work folder);
    all of it removed afterwards."""
    work = Path(tempfile.mkdtemp(prefix=prefix))
    cluster = EmbeddedCluster(work / ".data", "lapis_bench", throwaway=True)
    try:
        url = cluster.start().url
        assert url
        migrate.upgrade(url)
        seed(url, PROJECT_ROOT / "data" / "geojson")
        yield cluster, url, work
    finally:
        cluster.destroy()
        shutil.rmtree(work, ignore_errors=True)
