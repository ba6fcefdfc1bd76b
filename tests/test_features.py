"""Features: what the LSTM sees besides the MiniLM vectors."""

import numpy as np
import pytest

from app.core.features import FEATURES, featurize


def _unit(rows):
    rows = np.asarray(rows, dtype=np.float32)
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_rows_are_the_vector_followed_by_the_named_features():
    sentences = ["Rates rose.", "The central bank raised rates again on Tuesday.", "Cats sleep."]
    vectors = _unit([[1, 0], [1, 1], [0, 1]])
    rows = featurize(sentences, vectors)
    assert rows.shape == (3, 2 + len(FEATURES))
    np.testing.assert_array_equal(rows[:, :2], vectors)
    f = {name: rows[:, 2 + i] for i, name in enumerate(FEATURES)}
    np.testing.assert_allclose(f["position"], [0, 0.5, 1])
    np.testing.assert_array_equal(f["is_first"], [1, 0, 0])
    assert f["log_words"][1] > f["log_words"][0]  # longer sentence
    assert f["centroid"][1] == f["centroid"].max()  # [1,1] is the middle of the three
    assert f["centrality"][2] < f["centrality"][1]  # "Cats sleep." shares no word with the rest


def test_an_empty_article_has_no_rows():
    assert featurize([], np.zeros((0, 4), dtype=np.float32)).shape == (0, 4 + len(FEATURES))


def test_rank_features_order_sentences_within_their_article():
    sentences = ["Short one.", "A somewhat longer sentence here.", "The longest sentence of the three, by quite a margin."]
    rows = featurize(sentences, _unit([[1, 0], [1, 1], [0, 1]]))
    np.testing.assert_allclose(rows[:, 2 + FEATURES.index("rank_words")], [0, 0.5, 1])
    single = featurize(["Alone."], _unit([[1, 0]]))
    assert single[0, 2 + FEATURES.index("rank_words")] == 1.0


@pytest.mark.slow
def test_training_and_serving_build_identical_rows_for_the_same_article(tmp_path):
    """One featurizer: the rows the LSTM was fit on are, bit for bit, the rows it is served."""
    from app.core.encoder import SentenceEncoder
    from app.core.sentences import SentenceSplitter
    from app.settings import NLTK_DATA, resolve
    from app.core.summarizer import featurize_articles
    from training.data import Article
    from training.examples import prepare_examples
    from training.vector_cache import VectorCache

    text = ("The council voted on Tuesday to close the old bridge to cars from next spring. "
            "Engineers found cracks in two of its supports in March. Cyclists will still be able to cross. "
            "A public meeting on the design of a new bridge is planned for June.")
    splitter, encoder = SentenceSplitter(resolve(NLTK_DATA)), SentenceEncoder()
    article = Article("a", text, ("The old bridge will close to cars.",))
    training = prepare_examples([article], splitter, "oracle", VectorCache(tmp_path / "v.h5", encoder.signature), encoder)
    served_sentences = splitter.split(text)
    serving = featurize_articles([served_sentences], encoder.encode([s.text for s in served_sentences]))
    assert [s.text for s in training[0].sentences] == [s.text for s in served_sentences]
    np.testing.assert_array_equal(training[0].rows, serving[0])


def test_an_articles_weight_reaches_its_training_example(tmp_path):
    """A set's "^W" (training.data) is what the loss sees: prepare_examples carries it over."""
    import dataclasses

    from app.core.encoder import SentenceEncoder
    from app.core.sentences import SentenceSplitter
    from app.settings import NLTK_DATA, resolve
    from training.data import Article
    from training.examples import prepare_examples
    from training.vector_cache import VectorCache

    encoder = SentenceEncoder()
    plain = Article("a", "The bridge will close. Cyclists can still cross.", ("The bridge will close.",))
    weighted = dataclasses.replace(plain, id="b", weight=4.0)
    examples = prepare_examples([plain, weighted], SentenceSplitter(resolve(NLTK_DATA)), "oracle",
                                VectorCache(tmp_path / "v.h5", encoder.signature), encoder)
    assert [e.weight for e in examples] == [1.0, 4.0]


@pytest.mark.slow
def test_examples_prepared_in_several_processes_are_the_examples_prepared_in_one(tmp_path, monkeypatch):
    """``jobs`` only spreads the labelling and featurizing: same rows, labels and order, bit for bit."""
    from app.core.encoder import SentenceEncoder
    from app.core.sentences import SentenceSplitter
    from app.settings import NLTK_DATA, resolve
    from training import examples as examples_module
    from training.data import Article
    from training.vector_cache import VectorCache

    sentences = ["The council voted on Tuesday to close the old bridge to cars.", "Engineers found cracks in March.",
                 "Cyclists will still be able to cross.", "A meeting on a new bridge is planned for June.",
                 "The mayor said the town would find the money."]
    articles = [Article(f"a{i}", " ".join((sentences * 2)[i % 5 : i % 5 + 2 + i % 4]), (sentences[i % 5],))
                for i in range(12)]
    splitter, encoder = SentenceSplitter(resolve(NLTK_DATA)), SentenceEncoder()
    cache = VectorCache(tmp_path / "v.h5", encoder.signature)
    one = examples_module.prepare_examples(articles, splitter, "oracle", cache, encoder)
    monkeypatch.setattr(examples_module, "PARALLEL_FROM", 2)
    two = examples_module.prepare_examples(articles, splitter, "oracle", cache, encoder, jobs=2)
    assert [e.article.id for e in two] == [e.article.id for e in one] and len(one) == 12
    for a, b in zip(one, two):
        assert a.sentences == b.sentences
        np.testing.assert_array_equal(a.rows, b.rows)
        np.testing.assert_array_equal(a.labels, b.labels)
    assert len({len(e.rows) for e in one}) > 1  # articles of several lengths, so order mistakes would show
