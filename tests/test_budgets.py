"""Length budgets (words, chars, ratio) and sentence filters (avoid), from the ranking to every interface.

A budget takes the best-ranked highlights (the card's pick rule) whose words or characters fit; a
sentence that does not fit is skipped and the next tried; there is at least one highlight. Avoided
sentences are scored but never picked. Requests that name none of the new options answer as before
them (tests/golden/answers-before-budgets.json, written by the code at 2a47a13): the same fields,
sentences, offsets and highlights, and the same scores but for the encoder's own rounding (since then
it runs on OpenVINO, in bfloat16 where the CPU has it: docs/encoder-runtime.md).
"""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import ROOT, highlight
from app.core.filters import avoided, is_exclamation, is_question, is_quote
from app.core.options import AVOID, Budget
from app.core.ranking import PICK_RULES, pick
from app.core.sentences import SentenceSplitter
from app.errors import APIError
from tests.test_api import assert_error, post_json, post_text

slow = pytest.mark.slow
GOLDEN = Path(__file__).parent / "golden" / "answers-before-budgets.json"
ARTICLE = (
    "The mayor said on Monday that the city would close the old bridge. \"We have no choice,\" she said. "
    "Engineers found cracks in two of its supports in March, and repairs would cost more than a new bridge. "
    "Will cyclists still be able to cross? What a mess! A public meeting on the design of a new bridge is "
    "planned for June, and the council expects work to start next year."
)
# Real sentences, of every length, quoted, asked and exclaimed: Punkt's split of the bundled samples and ARTICLE.
SPLITTER = SentenceSplitter(ROOT / "models" / "nltk_data")
POOL = [s.text for path in sorted((ROOT / "app" / "samples").glob("*.txt"))
        for s in SPLITTER.split(path.read_text(encoding="utf-8"))] + [s.text for s in SPLITTER.split(ARTICLE)]


def size(sentences, unit):
    return sum(Budget(unit, 1).size(s) for s in sentences)


# --- the ranking: budgets and filters ----------------------------------------------------------------


def test_a_word_budget_skips_a_sentence_that_does_not_fit_and_tries_the_next():
    sentences = ["one two three four five six", "one two three four", "one two", "one"]
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    assert pick(scores, sentences, Budget("words", 7)) == [0, 3]  # 6 words; then 4 and 2 do not fit; 1 does
    assert pick(scores, sentences, Budget("words", 8)) == [0, 2]
    assert pick(scores, sentences, Budget("words", 7), skip={0}) == [1, 2, 3]


def test_at_least_one_highlight_even_when_no_sentence_fits():
    sentences = ["a long sentence of seven words here", "another long sentence of seven words too"]
    assert pick(np.array([0.2, 0.9]), sentences, Budget("words", 3)) == [1]  # the best one, over the budget
    assert pick(np.array([0.2, 0.9]), sentences, Budget("chars", 5)) == [1]


def test_a_character_budget_counts_characters():
    sentences = ["Short one.", "A rather longer sentence.", "Tiny."]
    assert pick(np.array([0.5, 0.9, 0.4]), sentences, Budget("chars", 35)) == [0, 1]  # 25 + 10 = 35
    assert pick(np.array([0.5, 0.9, 0.4]), sentences, Budget("chars", 34)) == [1, 2]


def test_a_ratio_is_the_share_of_sentences_rounded_up():
    scores = np.array([0.1, 0.9, 0.3, 0.8, 0.5])
    assert pick(scores, list("abcde"), Budget("ratio", 0.5)) == [1, 3, 4]  # ceil(2.5) = 3
    assert pick(scores, list("abcde"), Budget("ratio", 0.01)) == [1]
    assert pick(scores, list("abcde"), Budget("ratio", 1.0)) == [0, 1, 2, 3, 4]
    assert Budget("ratio", 0.3).count(10) == 3  # not 4, as ceil(0.3 * 10) in floating point would say
    assert Budget("ratio", 1e-12).count(5) == 1


def test_quotations_questions_and_exclamations_are_recognized():
    assert is_quote('"We have no choice," she said.')
    assert is_quote("He said: \u201cIt will not happen again and we are sorry.\u201d")
    assert is_quote('All of it was a mistake," he added.')  # the end of a quotation that began a sentence earlier
    assert not is_quote('"Brexit" is a word that the whole country now uses every day.')  # mostly outside
    assert not is_quote("The \u201csmall\u201d car was fine.")
    assert is_question("Will cyclists still be able to cross?") and is_question('She asked: "Why?"')
    assert not is_question("Nobody asked why.")
    assert is_exclamation("What a mess!") and not is_exclamation("A mess.")
    sentences = [s.text for s in SPLITTER.split(ARTICLE)]
    assert avoided(sentences, ["quotes", "questions", "exclamations"]) == {1, 3, 4}
    assert avoided(sentences, []) == set()


budgets = st.one_of(
    st.builds(Budget, st.just("top"), st.integers(1, 12)),
    st.builds(Budget, st.just("words"), st.integers(1, 150)),
    st.builds(Budget, st.just("chars"), st.integers(1, 900)),
    st.builds(Budget, st.just("ratio"), st.floats(0.0, 1.0, exclude_min=True)),
)


@settings(max_examples=400, deadline=None, suppress_health_check=list(HealthCheck))
@given(sentences=st.lists(st.sampled_from(POOL), min_size=1, max_size=40), data=st.data(), budget=budgets,
       avoid=st.lists(st.sampled_from(AVOID), unique=True), rule=st.sampled_from(PICK_RULES),
       exponent=st.sampled_from([0.0, 0.2, 1.0]))
def test_no_highlights_break_their_budget_or_their_filters(sentences, data, budget, avoid, rule, exponent):
    scores = np.array(data.draw(st.lists(st.floats(0, 1), min_size=len(sentences), max_size=len(sentences))))
    skip = avoided(sentences, avoid)
    picked = pick(scores, sentences, budget, rule, exponent, skip=skip)
    assert picked == sorted(set(picked)) and all(0 <= i < len(sentences) for i in picked)  # document order
    assert not set(picked) & skip
    allowed = [i for i in range(len(sentences)) if i not in skip]
    assert bool(picked) == bool(allowed)  # at least one highlight, unless the filters leave none
    count = budget.count(len(sentences))
    if count is not None:
        assert len(picked) <= count
        if rule == "top":
            assert len(picked) == min(count, len(allowed))
    elif len(picked) > 1 or (picked and budget.size(sentences[picked[0]]) <= budget.limit):
        used = sum(budget.size(sentences[i]) for i in picked)
        assert used <= budget.limit
        if rule == "top":  # every allowed sentence left out would not have fit
            assert all(used + budget.size(sentences[i]) > budget.limit for i in allowed if i not in picked)
    else:  # the one highlight over the budget: no allowed sentence fits alone
        assert all(budget.size(sentences[i]) > budget.limit for i in allowed)


# --- app.highlight: the real model and encoder -------------------------------------------------------


ENCODER_ROUNDING = 2e-3  # scores of bfloat16 vectors against TensorFlow float32's (0.0003 seen on the samples)


@slow
def test_requests_without_the_new_options_answer_as_before():
    for case in json.loads(GOLDEN.read_text(encoding="utf-8")):
        text = (ROOT / "app" / "samples" / case["sample"]).read_text(encoding="utf-8")
        answer, before = highlight(text, **case["options"]), case["answer"]
        assert answer.keys() == before.keys(), case["sample"]
        assert {k: v for k, v in answer.items() if k != "scored_article_sentences"} == \
            {k: v for k, v in before.items() if k != "scored_article_sentences"}, case["sample"]
        now = {s["index"]: s for s in answer["scored_article_sentences"]}
        then = {s["index"]: s for s in before["scored_article_sentences"]}
        assert now.keys() == then.keys(), case["sample"]
        for i, sentence in then.items():
            assert {k: v for k, v in now[i].items() if k != "score"} == {k: v for k, v in sentence.items() if k != "score"}
            assert now[i]["score"] == pytest.approx(sentence["score"], abs=ENCODER_ROUNDING), (case["sample"], i)


@slow
def test_budgets_leave_the_scores_alone_and_say_which_was_applied():
    plain = highlight(ARTICLE)
    for options, budget in [({"words": 20}, {"words": 20}), ({"chars": 120}, {"chars": 120}),
                            ({"ratio": 0.5}, {"ratio": 0.5})]:
        answer = highlight(ARTICLE, **options)
        assert answer["budget"] == budget
        assert answer["scored_article_sentences"] == plain["scored_article_sentences"]
    assert "budget" not in highlight(ARTICLE, top=2)


@slow
def test_app_highlight_takes_the_new_options_as_keyword_arguments():
    answer = highlight(ARTICLE, words=20, avoid="quotes,questions", keywords=3)
    by_index = {s["index"]: s["sent"] for s in answer["scored_article_sentences"]}
    assert len(answer["highlights"]) == 1 or size([by_index[i] for i in answer["highlights"]], "words") <= 20
    assert {1, 3}.isdisjoint(answer["highlights"])
    assert 1 <= len(answer["keywords"]) <= 3
    assert highlight(ARTICLE, avoid=["exclamations"], top=6)["highlights"] == [0, 1, 2, 3, 5]
    with pytest.raises(APIError) as e:
        highlight(ARTICLE, top=2, ratio=0.5)
    assert (e.value.status, e.value.code) == (422, "invalid_budget")


# --- the HTTP API ------------------------------------------------------------------------------------


def sentences_of(body):
    return {s["index"]: s["sent"] for s in body["scored_article_sentences"]}


@slow
@pytest.mark.parametrize("unit, limit", [("words", 20), ("words", 1), ("chars", 120), ("chars", 10)])
def test_a_length_budget_in_the_query_or_the_json_holds(server, unit, limit):
    for body in (post_text(server, ARTICLE, params={unit: limit}).json(),
                 post_json(server, {"text": ARTICLE, unit: limit}).json()):
        by_index, picked = sentences_of(body), body["highlights"]
        assert picked and (len(picked) == 1 or size([by_index[i] for i in picked], unit) <= limit)
        assert body["budget"] == {unit: limit}


@slow
def test_a_ratio_picks_that_share_of_the_sentences_rounded_up(server):
    body = post_text(server, ARTICLE, params={"ratio": "0.5"}).json()
    assert len(body["highlights"]) == math.ceil(0.5 * len(body["scored_article_sentences"]))
    assert body["budget"] == {"ratio": 0.5}


@slow
def test_avoided_sentences_are_scored_but_never_picked(server):
    plain = post_text(server, ARTICLE, params={"top": 6}).json()
    body = post_text(server, ARTICLE, params={"top": 6, "avoid": "quotes,questions,exclamations"}).json()
    assert body["scored_article_sentences"] == plain["scored_article_sentences"]
    assert body["highlights"] == [0, 2, 5]
    assert post_json(server, {"text": ARTICLE, "top": 6, "avoid": ["questions"]}).json()["highlights"] == [0, 1, 2, 4, 5]


@slow
def test_a_budget_in_the_json_replaces_the_query_s(server):
    body = post_json(server, {"text": ARTICLE, "top": 2}, params={"words": 10}).json()
    assert len(body["highlights"]) == 2 and "budget" not in body


@slow
def test_every_article_of_a_batch_gets_the_budget_and_the_filters(server):
    body = post_json(server, {"articles": [{"text": ARTICLE}, {"text": ARTICLE}], "words": 30,
                              "avoid": ["quotes"]}).json()
    for result in body["results"]:
        by_index = sentences_of(result)
        assert size([by_index[i] for i in result["highlights"]], "words") <= 30 and 1 not in result["highlights"]
        assert result["budget"] == {"words": 30}


@slow
def test_the_new_options_are_in_the_openapi_description(server):
    spec = requests.get(server.url + "/openapi.json", timeout=30).json()
    query = {p["name"] for p in spec["paths"]["/api/evaluate"]["post"]["parameters"]}
    assert {"words", "chars", "ratio", "avoid", "keywords"} <= query
    single = spec["components"]["schemas"]["SingleRequest"]["properties"]
    assert {"words", "chars", "ratio", "avoid", "keywords"} <= set(single)
    assert {"budget", "keywords"} <= set(spec["components"]["schemas"]["Result"]["properties"])


BAD_OPTIONS = [
    # (what, query, JSON fields, code)
    ("top and words", {"top": "2", "words": "20"}, {"top": 2, "words": 20}, "invalid_budget"),
    ("words and ratio", {"words": "20", "ratio": "0.5"}, {"words": 20, "ratio": 0.5}, "invalid_budget"),
    ("words zero", {"words": "0"}, {"words": 0}, "invalid_budget"),
    ("chars not a number", {"chars": "many"}, {"chars": "many"}, "invalid_budget"),
    ("ratio zero", {"ratio": "0"}, {"ratio": 0}, "invalid_budget"),
    ("ratio over one", {"ratio": "1.5"}, {"ratio": 1.5}, "invalid_budget"),
    ("unknown avoid", {"avoid": "quotes,nonsense"}, {"avoid": ["quotes", "nonsense"]}, "invalid_avoid"),
    ("avoid not a list in JSON", {"avoid": "shouting"}, {"avoid": "quotes"}, "invalid_avoid"),
    ("keywords over 30", {"keywords": "31"}, {"keywords": 31}, "invalid_keywords"),
    ("keywords negative", {"keywords": "-1"}, {"keywords": -1}, "invalid_keywords"),
]


@slow
@pytest.mark.parametrize("what, query, fields, code", BAD_OPTIONS, ids=[b[0] for b in BAD_OPTIONS])
def test_bad_options_get_422_with_the_api_s_error_shape(server, what, query, fields, code):
    assert_error(post_text(server, ARTICLE, params=query), 422, code)
    assert_error(post_json(server, {"text": ARTICLE, **fields}), 422, code)
    assert_error(post_json(server, {"articles": [{"text": ARTICLE}], **fields}), 422, code)


# --- the brief command ---------------------------------------------------------------------------------


def brief(*args, stdin: str = ARTICLE) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "app.cli", *args], input=stdin, capture_output=True, text=True,
                          cwd=ROOT, timeout=300)


@slow
def test_brief_highlight_takes_the_budget_filters_and_keywords_here_and_with_server(server):
    flags = ["--words", "20", "--avoid", "quotes,questions", "--keywords", "4", "--json", "-"]
    here, there = brief("highlight", *flags), brief("highlight", "--server", server.url, *flags)
    assert here.returncode == 0 and there.returncode == 0, here.stderr + there.stderr
    for answer in (json.loads(here.stdout), json.loads(there.stdout)):
        by_index = sentences_of(answer)
        assert len(answer["highlights"]) == 1 or size([by_index[i] for i in answer["highlights"]], "words") <= 20
        assert {1, 3}.isdisjoint(answer["highlights"]) and answer["budget"] == {"words": 20}
        assert 1 <= len(answer["keywords"]) <= 4
    assert json.loads(here.stdout)["highlights"] == json.loads(there.stdout)["highlights"]
    assert "Key phrases: " in brief("highlight", "--keywords", "3", "-").stdout


@pytest.mark.parametrize("flags", [["--top", "2", "--words", "20"], ["--words", "10", "--ratio", "0.5"],
                                   ["--ratio", "2"], ["--avoid", "quotes,nonsense"], ["--keywords", "31"]])
def test_bad_budget_or_filter_flags_are_bad_usage(flags):
    result = brief("highlight", *flags, "-")
    assert result.returncode == 2 and "usage:" in result.stderr
