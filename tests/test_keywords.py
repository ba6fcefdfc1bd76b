"""Key phrases: 1-3 words that occur in the article, best first, scored by the sentences they occur in,
near-duplicates removed; in the answer only where asked for (``keywords``, 0-30)."""

from __future__ import annotations

import numpy as np
import pytest
import requests

from app import ROOT, highlight
from app.core.keywords import find_candidates, key_phrases, stems
from app.core.sentences import SentenceSplitter
from tests.test_api import post_json, post_text
from tests.test_budgets import ARTICLE

slow = pytest.mark.slow
SPLITTER = SentenceSplitter(ROOT / "models" / "nltk_data")
SAMPLE = (ROOT / "app" / "samples" / "night-trains.txt").read_text(encoding="utf-8")


def test_candidates_are_runs_of_content_words_within_one_sentence():
    found = find_candidates(["The high-speed rail line would close in 2027, officials said.",
                             "Obama's plan, the mayor said, was rail."])
    assert {"high speed rail", "speed rail line", "rail", "obama", "mayor", "plan"} <= set(found)
    assert found["high speed rail"].spellings == {"high-speed rail": 1}  # as written
    assert found["rail"].sentences == [0, 1]
    for key in found:  # no stop word, number or run over punctuation
        assert not {"the", "would", "in", "2027", "was", "obama's", "close officials", "plan mayor"} & {key, *key.split()}
    assert "line close" not in found and "obama plan" not in found


def test_a_phrase_counts_for_more_in_the_sentences_a_summary_would_keep():
    sentences = ["The harbour flooded twice.", "A ferry was late.", "The ferry was late again.", "The harbour closed."]
    first = key_phrases(sentences, np.array([0.9, 0.1, 0.1, 0.8]), 2)
    assert [k.phrase for k in first] == ["harbour", "flooded"]
    assert first[0].score == 1.0 and first[0].count == 2
    assert key_phrases(sentences, np.array([0.1, 0.9, 0.9, 0.1]), 1)[0].phrase == "ferry"


def test_key_phrases_of_a_real_article_occur_in_it_best_first_without_near_duplicates():
    sentences = [s.text for s in SPLITTER.split(SAMPLE)]
    scores = np.linspace(1.0, 0.1, len(sentences))
    phrases = key_phrases(sentences, scores, 12)
    assert len(phrases) == 12
    assert all(p.phrase.lower() in SAMPLE.lower() and 1 <= len(p.phrase.split()) <= 3 for p in phrases)
    assert [p.score for p in phrases] == sorted((p.score for p in phrases), reverse=True) and phrases[0].score == 1.0
    assert all(0 < p.score <= 1 and p.count >= 1 for p in phrases)
    for i, p in enumerate(phrases):
        assert all(not stems(p.phrase) & stems(q.phrase) for q in phrases[:i])
    assert key_phrases(sentences, scores, 0) == []
    assert len(key_phrases(["Rain."], np.array([0.5]), 5)) == 1


@slow
def test_keywords_come_only_where_asked_and_leave_the_rest_of_the_answer_alone():
    plain = highlight(ARTICLE)
    answer = highlight(ARTICLE, keywords=5)
    assert "keywords" not in plain
    assert {k: v for k, v in answer.items() if k != "keywords"} == plain
    assert 1 <= len(answer["keywords"]) <= 5
    assert all(set(k) == {"phrase", "score", "count"} for k in answer["keywords"])
    assert "keywords" not in highlight(ARTICLE, keywords=0)  # 0, the default: none


@slow
def test_keywords_through_the_query_the_json_and_a_batch(server):
    body = post_text(server, ARTICLE, params={"keywords": 3}).json()
    assert 1 <= len(body["keywords"]) <= 3 and body["keywords"][0]["score"] == 1.0
    assert post_json(server, {"text": ARTICLE, "keywords": 3}).json()["keywords"] == body["keywords"]
    batch = post_json(server, {"articles": [{"text": ARTICLE}, {"text": SAMPLE}], "keywords": 30}).json()
    assert [len(r["keywords"]) > 0 for r in batch["results"]] == [True, True]
    assert "keywords" not in post_text(server, ARTICLE).json()
    assert requests.get(server.url + "/openapi.json", timeout=30).ok
