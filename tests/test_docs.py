"""The README and the documentation site: short README, a site that builds with no dead link, tables that match their sources."""

import dataclasses
import json
import os
import re
import subprocess
import sys

from app.settings import ROOT, Settings

README = ROOT / "README.md"
DOCS = ROOT / "docs"


def test_the_readme_is_read_in_five_minutes():
    assert len(README.read_text().splitlines()) <= 200


def test_the_site_builds_with_no_warning(tmp_path):
    """mkdocs --strict: a dead link or anchor, a page missing from nav or a nav entry without a page fails the build."""
    result = subprocess.run([sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(tmp_path / "site")],
                            cwd=ROOT, capture_output=True, text=True, timeout=300,
                            env={**os.environ, "NO_MKDOCS_2_WARNING": "1"})
    assert result.returncode == 0, result.stderr
    assert "WARNING" not in result.stderr, result.stderr
    assert (tmp_path / "site" / "experiments" / "index.html").is_file()


def test_every_page_under_docs_is_in_the_nav():
    nav = (ROOT / "mkdocs.yml").read_text()
    pages = {p.relative_to(DOCS).as_posix() for p in DOCS.rglob("*.md")}
    assert pages, "no pages found"
    assert {page for page in pages if page not in nav} == set()


def figures(rouge: dict) -> str:
    return f"{rouge['rouge1']:.2f} / {rouge['rouge2']:.2f} / {rouge['rougeLsum']:.2f}"


def test_the_readme_results_match_the_evaluation_json():
    """Each row: Brief's R-1 / R-2 / R-L and the best baseline's (by R-1), as docs/results/evaluation.json has them."""
    sets = json.loads((DOCS / "results" / "evaluation.json").read_text())["sets"]
    rows = re.findall(r"^\| [^|]+ \| \**([\d. /]+?)\** \| \**(\w[\w-]*) ([\d. /]+?)\** \|$", README.read_text(), re.M)
    expected = []
    for result in sets.values():
        rouge = result["rouge"]
        best = max((m for m in rouge if m not in ("brief", "oracle")), key=lambda m: rouge[m]["rouge1"])
        expected.append((figures(rouge["brief"]), best, figures(rouge[best])))
    names = {"lead": "Lead-3", "textrank": "TextRank", "lexrank": "LexRank", "luhn": "Luhn"}
    assert [(brief, name, base) for brief, name, base in rows] == [(b, names[m], f) for b, m, f in expected]


def test_the_settings_page_lists_every_setting():
    page = (DOCS / "operations" / "settings.md").read_text()
    missing = [f"BRIEF_{f.name}" for f in dataclasses.fields(Settings) if f"`BRIEF_{f.name}`" not in page]
    assert missing == []


def test_every_experiment_page_has_its_question_decision_result_and_verdict():
    pages = sorted((DOCS / "experiments").glob("2*.md"))
    assert len(pages) >= 20
    for page in pages:
        text = page.read_text()
        for part in ("**Question.**", "**Decided before", "## Result", "## Verdict"):
            assert part in text, f"{page.name} has no {part}"


def test_no_script_under_docs_edits_sys_path():
    """Scripts under docs/ that edit sys.path to import the project cannot run as the project runs; git keeps the old ones."""
    assert [p.name for p in DOCS.rglob("*.py") if "sys.path" in p.read_text()] == []


def test_every_data_file_under_docs_is_named_by_a_page():
    """A JSON file under docs/ stays only while a page's table comes from it."""
    pages = README.read_text() + "".join(p.read_text() for p in DOCS.rglob("*.md"))
    data = [p for p in DOCS.rglob("*") if p.suffix in (".json", ".jsonl")]
    assert data, "no data files found"
    assert [p.relative_to(DOCS).as_posix() for p in data if p.name not in pages] == []
