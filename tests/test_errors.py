"""One list of error codes: every code the service raises is in it, with the status it is raised with."""

import re

from app.errors import ERROR_CODES
from app.server.rate_limits import parse_budgets
from app.settings import ROOT

RAISED = re.compile(r'APIError\(\s*(\d{3}),\s*f?"([a-z0-9_{}]+)"')


def raised_codes() -> set[tuple[int, str]]:
    """(status, code) of every ``APIError(...)`` written in app/, with rate limits' ``too_many_{kind}`` spelled out."""
    found = set()
    for path in (ROOT / "app").rglob("*.py"):
        for status, code in RAISED.findall(path.read_text()):
            if code == "too_many_{kind}":
                found |= {(int(status), f"too_many_{kind}") for kind in parse_budgets("1 requests/second, 1 sentences/second")}
            else:
                found.add((int(status), code))
    return found


def test_every_code_raised_in_app_is_listed_with_the_status_it_is_raised_with():
    raised = raised_codes()
    assert len(raised) >= 20  # the pattern still finds them
    for status, code in sorted(raised):
        assert code in ERROR_CODES, f"{code} is raised but not in app.errors.ERROR_CODES"
        assert ERROR_CODES[code].status == status, f"{code} is raised with {status}, listed with {ERROR_CODES[code].status}"


def test_every_listed_code_is_one_the_service_can_give():
    raised = {code for _, code in raised_codes()}
    http = {"not_found", "method_not_allowed", "internal_error"}  # app/server/error_handlers.py
    assert set(ERROR_CODES) - raised <= http


def test_the_api_page_lists_every_code_with_its_status():
    page = (ROOT / "docs" / "api.md").read_text()
    rows = dict(re.findall(r"^\| `([a-z0-9_]+)` \| (\d{3}) \|", page, re.M))
    assert rows == {code: str(e.status) for code, e in ERROR_CODES.items()}
