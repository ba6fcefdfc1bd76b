"""Writes answers-before-budgets.json: what Brief before the budgets (2a47a13) answers to requests without them.

    git archive 2a47a13 | tar -x -C /tmp/brief-2a47a13 && chmod -R go-w /tmp/brief-2a47a13
    cd /tmp/brief-2a47a13 && PYTHONPATH=. python /path/to/tests/golden/make_answers.py OUT.json

tests/test_budgets.py asks today's code the same and expects the same answers, byte for byte.
"""
import json
import sys
from pathlib import Path

from app import highlight

CASES = [("harbour-tide-gauge.txt", {}), ("night-trains.txt", {"top": 3}),
         ("urban-beekeeping.txt", {"top": 2, "model": "luhn"}), ("night-trains.txt", {"top": 50})]

answers = [{"sample": name, "options": options,
            "answer": highlight(Path("app/samples", name).read_text(encoding="utf-8"), **options)}
           for name, options in CASES]
Path(sys.argv[1]).write_text(json.dumps(answers, indent=1, ensure_ascii=False) + "\n")
