"""LAPIS declares at /conformance exactly the conformance classes whose abstract tests this suite runs (and
passes): a class is added to the declaration together with its tests, never alone."""

from __future__ import annotations

import ast
from pathlib import Path

from fastapi.testclient import TestClient

from tests.conformance.ats import DECLARED, ok_json

HERE = Path(__file__).resolve().parent


def _tests_of(module: str) -> list[str]:
    tree = ast.parse((HERE / module).read_text())
    return [node.name for node in tree.body if isinstance(node, ast.FunctionDef) and node.name.startswith("test_ats_")]


def test_conformance_declaration(client: TestClient) -> None:
    """The declared classes are the tested ones; every module named for a class holds its abstract tests."""
    declared = ok_json(client, "/conformance")["conformsTo"]
    assert sorted(declared) == sorted(DECLARED)
    for uri, module in DECLARED.items():
        assert _tests_of(module), (uri, module)
    assert len({name for module in set(DECLARED.values()) for name in _tests_of(module)}) >= 100


def test_the_html_conformance_page_lists_the_same(client: TestClient) -> None:
    page = client.get("/conformance", params={"f": "html"}).text
    assert all(uri in page for uri in DECLARED)
