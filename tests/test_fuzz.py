"""Property tests: any text through the featurizer, any bytes through the request parser.

The splitter must give sentences whose ``start``/``end`` slice back exactly to their text, in
order and without overlap, or refuse with a clear error; never crash. The request parser must
answer every body with a JSON error or a request it hands on; never a 500.
"""

from __future__ import annotations

import json
import string

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import ROOT
from app.core.features import N_FEATURES, featurize
from app.core.sentences import SentenceSplitter

FUZZ = settings(max_examples=1000, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# Any code point, lone surrogates included (a Python str can hold them; JSON escapes can smuggle them in).
any_text = st.text(st.characters(codec=None, categories=None), max_size=400)
# Mostly prose-like: words, sentence ends, blank lines, odd spaces, so that there are many sentences.
prose = st.lists(
    st.one_of(st.sampled_from([". ", "! ", "? ", "\n\n", "\r\n", " \u00a0", "\u2029", "...", "Mr. ", "e.g. ", "\"", "'"]),
              st.text(string.ascii_letters + "éü0123456789", min_size=1, max_size=12),
              st.text(st.characters(codec="utf-8"), max_size=5)),
    max_size=80,
).map("".join)


@pytest.fixture(scope="module")
def splitter() -> SentenceSplitter:
    return SentenceSplitter(ROOT / "models" / "nltk_data")


def check_sentences(text: str, sentences) -> None:
    end = 0
    for s in sentences:
        assert text[s.start:s.end] == s.text
        assert s.start >= end and s.end > s.start  # in document order, never overlapping, never empty
        assert s.text == s.text.strip()
        end = s.end


@FUZZ
@given(text=st.one_of(any_text, prose))
def test_any_text_splits_into_sentences_that_slice_back_exactly(splitter, text):
    try:
        sentences = splitter.split(text)
    except (ValueError, UnicodeError) as e:  # a clear refusal is allowed; a crash of any other kind is not
        assert str(e)
        return
    check_sentences(text, sentences)
    if any(c.isalnum() for c in text) and text.isprintable():
        assert sentences  # a text with a letter or digit in it has at least one sentence


@FUZZ
@given(text=prose)
def test_featurizer_rows_are_finite_and_one_per_sentence(splitter, text):
    sentences = [s.text for s in splitter.split(text)]
    vectors = np.random.default_rng(len(text)).normal(size=(len(sentences), 8)).astype(np.float32)
    rows = featurize(sentences, vectors)
    assert rows.shape == (len(sentences), 8 + N_FEATURES)
    assert np.isfinite(rows).all()


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.one_of(st.binary(max_size=300), any_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
                   st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                                lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
                                    st.sampled_from(["text", "title", "top", "model", "articles", "x"]), inner,
                                    max_size=5), max_leaves=12).map(lambda v: json.dumps(v).encode())),
    content_type=st.sampled_from(["text/plain", "application/json", "text/plain; charset=latin-1",
                                  "application/json; charset=utf-8", "text/html", ""]),
    query=st.dictionaries(st.sampled_from(["top", "model", "title"]), st.text(max_size=8), max_size=3),
)
def test_any_request_body_gets_a_json_answer_and_never_a_500(client, body, content_type, query):
    # No model is loaded here (see conftest): a body that passes every check gets 503 not_ready.
    response = client.post("/api/evaluate", data=body, query_string=query,
                           headers={"Content-Type": content_type} if content_type else {})
    assert response.status_code in {400, 413, 415, 422, 503}, response.get_data(as_text=True)
    error = response.get_json()["error"]
    assert error["code"] and error["message"]
