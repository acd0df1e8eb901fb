"""Docs are code: every `make` target, `python -m` module, repository path, relative link and BFP_* setting
that README.md, a folder README or docs/*.md names must exist in this repository."""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SKIP_DIRS = {".venv", ".local", "data", "node_modules", ".git", "test-output", "cdk.out"}
# Top-level folders of the repository: a backticked path starting with one of them must exist. Paths under
# data/, .local/ or the lake (raw/, curated/, …) are made at run time and are not checked.
SOURCE_DIRS = sorted(
    p.name for p in ROOT.iterdir() if p.is_dir() and not p.name.startswith(".") and p.name not in SKIP_DIRS
)
# Paths a build makes inside a source folder: not in a clean clone, so not checked (`make synth` writes cdk.out).
GENERATED_PATHS = ("infra/cdk.out",)
CODE_SUFFIXES = {".py", ".sh", ".yaml", ".yml", ".toml", ".cfg", ".sql", ".json", ".txt", ".j2", ".html", ".java"}


def repository_files() -> list[Path]:
    """The repository's own files (generated and installed folders pruned while walking)."""
    found = []
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in SKIP_DIRS and not (folder == str(ROOT) and d.startswith("."))]
        found.extend(Path(folder) / name for name in files)
    return found


def documents() -> list[Path]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    readmes = sorted(path for path in repository_files() if path.name == "README.md")
    return found + [readme for readme in readmes if readme not in found]


def doc_id(path: Path) -> str:
    return str(path.relative_to(ROOT))


def code_spans(text: str) -> list[str]:
    """Inline `code` and the lines of fenced blocks."""
    spans = re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))
    for block in re.findall(r"```[^\n]*\n(.*?)```", text, flags=re.S):
        spans.extend(block.splitlines())
    return spans


def make_targets() -> set[str]:
    return set(re.findall(r"^([A-Za-z0-9_-]+):", (ROOT / "Makefile").read_text(), flags=re.M))


@functools.cache
def code_settings() -> frozenset[str]:
    """Every BFP_* name the code, scripts, Makefile and manifests use (not the docs, not this test)."""
    names: set[str] = set()
    for path in repository_files():
        is_code = path.suffix in CODE_SUFFIXES or path.name == "Makefile" or path.name.endswith("Dockerfile")
        if is_code and path.resolve() != Path(__file__).resolve():
            names |= set(re.findall(r"BFP_[A-Z0-9_]*[A-Z0-9]", path.read_text(errors="ignore")))
    return frozenset(names)


@pytest.mark.parametrize("doc", documents(), ids=doc_id)
def test_every_make_target_a_doc_names_exists(doc):
    targets = make_targets()
    named = set()
    for span in code_spans(doc.read_text()):
        # a name ending in "-" is a family written as `make bench-…`
        named |= {t for t in re.findall(r"(?:^|[\s;(&|])make ([a-z][a-z0-9-]*)", span) if not t.endswith("-")}
    assert named <= targets, f"{doc_id(doc)} names make targets that do not exist: {sorted(named - targets)}"


@pytest.mark.parametrize("doc", documents(), ids=doc_id)
def test_every_python_module_a_doc_runs_exists(doc):
    sys.path[:0] = [str(ROOT), str(ROOT / "dags")]
    try:
        missing = []
        for span in code_spans(doc.read_text()):
            for module in re.findall(r"python3? -m ([A-Za-z_][\w.]*)", span):
                if importlib.util.find_spec(module) is None:
                    missing.append(module)
    finally:
        del sys.path[:2]
    assert not missing, f"{doc_id(doc)} runs modules that do not exist: {missing}"


@pytest.mark.parametrize("doc", documents(), ids=doc_id)
def test_every_repository_path_a_doc_names_exists(doc):
    missing = []
    for span in code_spans(doc.read_text()):
        for token in re.findall(r"[\w.-]+(?:/[\w.-]+)+/?", span):
            first = token.split("/", 1)[0]
            if first not in SOURCE_DIRS or re.search(r"[<>…*{}]", token):
                continue
            path = token.rstrip("/.,:;")
            if any(path == made or path.startswith(made + "/") for made in GENERATED_PATHS):
                continue
            if not (ROOT / path).exists() and not (doc.parent / path).exists():
                missing.append(token)
    assert not missing, f"{doc_id(doc)} names paths that do not exist: {sorted(set(missing))}"


@pytest.mark.parametrize("doc", documents(), ids=doc_id)
def test_every_relative_link_resolves(doc):
    missing = []
    for target in re.findall(r"\]\(([^)\s]+)\)", doc.read_text()):
        if re.match(r"[a-z]+:", target) or target.startswith("#"):
            continue
        path, _, anchor = target.partition("#")
        linked = doc.parent / path if path else doc
        if not linked.exists():
            missing.append(target)
        elif anchor and linked.suffix == ".md" and anchor not in heading_anchors(linked):
            missing.append(target)  # a section that is not there (any more)
    assert not missing, f"{doc_id(doc)} links to files or sections that do not exist: {missing}"


def heading_anchors(path: Path) -> set[str]:
    """The anchors GitHub gives a Markdown file's headings: lower case, punctuation dropped, spaces as '-'."""
    headings = re.findall(r"^#{1,6} +(.+?) *$", re.sub(r"```.*?```", "", path.read_text(), flags=re.S), flags=re.M)
    return {re.sub(r"[^\w\- ]", "", heading.lower()).replace(" ", "-") for heading in headings}


@pytest.mark.parametrize("doc", documents(), ids=doc_id)
def test_every_bfp_setting_a_doc_names_is_read_by_the_code(doc):
    named = set(re.findall(r"BFP_[A-Z0-9_]*[A-Z0-9](?![A-Z0-9_]*\*)", doc.read_text()))
    unknown = named - code_settings()
    assert not unknown, f"{doc_id(doc)} names settings no code reads: {sorted(unknown)}"


@pytest.mark.parametrize("doc", [*documents(), ROOT / "Makefile"], ids=doc_id)
def test_every_analyst_query_a_doc_or_the_make_help_names_exists(doc):
    """`make query Q=<name>` (and `analytics query <name>`) run sql/analytics/<name>.sql."""
    text = doc.read_text()
    named = set(re.findall(r"\bQ=([a-z0-9_]+)", text)) | set(re.findall(r"analytics query ([a-z0-9_]+)", text))
    missing = sorted(name for name in named if not (ROOT / "sql" / "analytics" / f"{name}.sql").exists())
    assert not missing, f"{doc_id(doc)} names queries that do not exist in sql/analytics/: {missing}"
