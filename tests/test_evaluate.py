"""Evaluation: ROUGE on a hand-made case, top-K selection, baselines."""

import numpy as np
import pytest

from app.core.luhn import score_luhn
from app.core.ranking import pick
from training.baselines import baseline_picker
from training.evaluate import rouge_scores


def test_rouge_of_a_perfect_pick_is_100_and_of_a_disjoint_pick_is_0():
    reference = [["the cat sat on the mat", "dogs bark"]]
    assert rouge_scores([["the cat sat on the mat", "dogs bark"]], reference) == {"rouge1": 100.0, "rouge2": 100.0, "rougeLsum": 100.0}
    assert rouge_scores([["zebras graze quietly"]], reference)["rouge1"] == 0.0


def test_rouge1_by_hand():
    # prediction "cat sat" vs reference "the cat sat down": P = 2/2, R = 2/4 -> F = 2/3
    assert rouge_scores([["cat sat"]], [["the cat sat down"]])["rouge1"] == pytest.approx(100 * 2 / 3, abs=0.01)


def test_top_sentences_come_back_in_document_order():
    assert pick(np.array([0.1, 0.9, 0.3, 0.8]), ["a", "b", "c", "d"], 2) == [1, 3]
    assert pick(np.array([0.5, 0.5, 0.5]), ["a", "b", "c"], 2) == [0, 1]  # ties go to the earlier sentence


def test_trigram_blocking_skips_a_near_repeat():
    sentences = ["the bank raised rates today", "the bank raised rates again", "markets shrugged"]
    scores = np.array([0.9, 0.8, 0.1])
    assert pick(scores, sentences, 2) == [0, 1]
    assert pick(scores, sentences, 2, "trigram_blocking") == [0, 2]
    # case and punctuation do not hide a repeat ("The Bank raised rates" shares "bank raised rates")
    assert pick(scores, ["The Bank raised rates, today.", "the bank raised rates again", "markets shrugged"], 2,
                "trigram_blocking") == [0, 2]


def test_trigram_blocking_still_fills_k_when_it_can_and_never_invents_picks():
    sentences = ["one two three", "one two three four", "one two three five"]
    assert pick(np.array([0.9, 0.8, 0.7]), sentences, 2, "trigram_blocking") == [0]  # every other repeats it
    assert pick(np.array([0.1, 0.2]), ["short", "also short"], 5, "trigram_blocking") == [0, 1]


def test_near_duplicate_blocking_skips_a_restatement_but_keeps_a_sentence_that_shares_a_phrase():
    lead = "the mayor said the old bridge will close to cars on monday"
    caption = "the old bridge will close to cars on monday, the mayor said"  # a caption restating the lead
    follow = "the mayor said buses will run over the new bridge instead of the ferry"  # shares "the mayor said"
    other = "markets shrugged"
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    assert pick(scores, [lead, caption, follow, other], 2, "near_duplicate_blocking") == [0, 2]
    assert pick(scores, [lead, caption, follow, other], 2, "trigram_blocking") == [0, 3]  # the stricter rule drops both
    assert pick(scores, [lead, caption, follow, other], 2) == [0, 1]
    # under half of a sentence's trigrams repeated is not a near-repeat; exactly half is
    assert pick(np.array([0.9, 0.8, 0.1]), ["a b c d", "a b c x y", "z"], 2, "near_duplicate_blocking") == [0, 1]
    assert pick(np.array([0.9, 0.8, 0.1]), ["a b c d", "a b c x", "z"], 2, "near_duplicate_blocking") == [0, 2]


def test_an_unknown_pick_rule_is_refused():
    with pytest.raises(ValueError, match="unknown pick rule"):
        pick(np.array([0.5]), ["a"], 1, "mmr")


def test_a_length_exponent_puts_the_shorter_of_two_sentences_scored_alike_first():
    long = "the council said on tuesday that the old bridge over the river will close to all cars from monday"  # 20 words
    short = "the old bridge will close to cars"  # 7 words
    other = "markets shrugged at the news"  # 5 words
    sentences, scores = [long, short, other], np.array([0.50, 0.45, 0.10])
    assert pick(scores, sentences, 1) == [0]  # by score alone the long one wins
    # 0.50 / 20 ** 0.2 = 0.274 < 0.45 / 7 ** 0.2 = 0.304: weighed by length the short one does
    assert pick(scores, sentences, 1, "top", 0.2) == [1]
    assert pick(scores, sentences, 1, "near_duplicate_blocking", 0.2) == [1]
    # a clearly better score still wins, and the picks come back in document order
    assert pick(np.array([0.9, 0.45, 0.10]), sentences, 1, "top", 0.2) == [0]
    assert pick(scores, sentences, 2, "top", 0.2) == [0, 1]
    # the exponent only reorders: it never changes how many come back, nor takes a blocked repeat
    repeat = "the old bridge will close to cars, officials said"
    assert pick(np.array([0.5, 0.45, 0.44]), [long, short, repeat], 2, "near_duplicate_blocking", 0.2) == [0, 1]
    with pytest.raises(ValueError, match="length_exponent"):
        pick(scores, sentences, 1, "top", -0.2)


def test_every_baseline_picks_k_sentences_in_document_order():
    sentences = ["The bank raised rates today.", "Markets fell on the news.", "The bank said rates may rise again.",
                 "Traders had expected the move."]
    for name in ("lead", "luhn", "lexrank", "textrank"):  # the greedy oracle stops when no pick adds ROUGE
        picked = baseline_picker(name)(sentences, ["The bank raised rates and may again."], 2)
        assert len(picked) == 2 and picked == sorted(picked), name


def test_lead_and_oracle_baselines():
    sentences = ["alpha beta gamma", "delta epsilon", "zeta eta theta iota"]
    assert baseline_picker("lead")(sentences, [], 2) == [0, 1]
    assert baseline_picker("oracle")(sentences, ["zeta eta theta iota alpha beta gamma"], 2) == [0, 2]


def test_luhn_prefers_the_sentence_dense_with_the_article_s_frequent_words():
    sentences = [
        "Brief highlights articles.",
        "Brief scores article sentences with a model; Brief highlights the top article sentences.",
        "The weather was mild.",
    ]
    scores = score_luhn(sentences)
    assert scores.argmax() == 1 and scores[2] == 0.0


@pytest.mark.parametrize("name", ["lexrank", "textrank"])
def test_sumy_baselines_pick_k_sentences_in_order(name):
    sentences = [
        "The central bank raised interest rates.",
        "Rates rose by a quarter point at the central bank.",
        "A cat slept.",
        "Banks and markets expected the rate rise.",
    ]
    picked = baseline_picker(name)(sentences, [], 2)
    assert len(picked) == 2 and picked == sorted(picked)


def _length_scored(references_short: bool):
    """A model that scores a sentence by its length alone, and articles whose summary is their short
    sentence (or their long one)."""
    import keras
    from keras import ops

    from app.core.sentences import Sentence
    from training.data import Article
    from training.examples import Example

    rows_in = keras.Input((None, 2), name="sentences")
    mask = keras.Input((None,), name="mask")
    score = keras.layers.Lambda(lambda x: ops.sigmoid(0.1 * x[..., 1:]), name="score")(rows_in)  # column 1: words
    model = keras.Model([rows_in, mask], score)
    long = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi omicron pi rho sigma tau upsilon"
    short = "the bridge closes"
    examples = []
    for i in range(4):
        texts = [long, short, "filler words here and there"]
        rows = np.array([[i, len(t.split())] for t in texts], dtype=np.float32)
        sentences = [Sentence(t, 0, len(t)) for t in texts]
        article = Article(f"a{i}", " ".join(texts), (short,) if references_short else (long,))
        examples.append(Example(article, sentences, rows, np.zeros(3, dtype=np.float32)))
    return model, {"validation": examples}


def test_selection_weighs_by_length_only_where_it_wins_on_validation():
    from training.fit import select

    # scores 0.88 (20 words) against 0.57 (3 words): the short summary sentence is picked only from
    # e = 0.3 on (0.88 / 20 ** 0.3 = 0.36 < 0.57 / 3 ** 0.3 = 0.41), and the least e that wins is kept
    model, val = _length_scored(references_short=True)
    chosen = select(model, val, 1)
    assert (chosen.length_exponent, chosen.criterion) == (0.3, 100.0)
    # where the long sentence is the summary, no weighting is the best and the simplest
    model, val = _length_scored(references_short=False)
    chosen = select(model, val, 1)
    assert (chosen.pick_rule, chosen.length_exponent, chosen.criterion) == ("top", 0.0, 100.0)
