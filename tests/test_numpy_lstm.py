"""Serving's LSTM forward pass in NumPy gives the Keras model's scores, from the same .h5, without TensorFlow."""

import subprocess
import sys

import keras
import numpy as np
import pytest

from app import ROOT
from app.core.batching import pad_rows
from app.core.model_file import ModelFileError, load_keras_model, load_scoring_model
from app.core.numpy_lstm import NumpyLSTM, UnsupportedModel, read_numpy_lstm
from app.core.scorer import predict_rows
from training.fit import average_models
from training.model import ModelConfig, build_model

DIM = 6
MODEL = ROOT / "models" / "brief.h5"


def _articles(seed=0, lengths=(1, 4, 9, 30)):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, DIM)).astype(np.float32) for n in lengths]


def _with_random_weights(config: ModelConfig, seed: int) -> keras.Model:
    """A tiny model with every weight random, so that none is at its initial value (a zero bias, say)."""
    model = build_model(config, DIM)
    rng = np.random.default_rng(seed)
    model.set_weights([rng.normal(scale=0.5, size=w.shape).astype(np.float32) for w in model.get_weights()])
    return model


@pytest.mark.parametrize("config", [
    ModelConfig(units=8),
    ModelConfig(units=8, bidirectional=True),
    ModelConfig(units=8, layers=2, bidirectional=True),
], ids=["lstm", "bidirectional", "two-layers-bidirectional"])
def test_a_saved_model_scores_as_keras_scores_it_padded_batches_included(tmp_path, config):
    model = _with_random_weights(config, seed=1)
    model.save(tmp_path / "m.h5")
    numpy_lstm = read_numpy_lstm(tmp_path / "m.h5")
    x, mask = pad_rows(_articles(seed=2))  # lengths 1 to 30 in one batch: 29 padded steps for the shortest
    np.testing.assert_allclose(numpy_lstm(x, mask), model.predict_on_batch([x, mask]), atol=1e-6)


def test_an_average_of_models_scores_as_keras_scores_it(tmp_path):
    members = [_with_random_weights(ModelConfig(units=8, bidirectional=True), seed) for seed in (1, 2)]
    averaged = average_models(members + [_with_random_weights(ModelConfig(units=8), seed=3)])
    averaged.save(tmp_path / "average.h5")
    numpy_lstm = read_numpy_lstm(tmp_path / "average.h5")
    assert len(numpy_lstm.members) == 3
    articles = _articles(seed=4)
    np.testing.assert_allclose(np.concatenate(predict_rows(numpy_lstm, articles)),
                               np.concatenate(predict_rows(averaged, articles)), atol=1e-6)


@pytest.mark.slow
def test_the_shipped_model_scores_every_bbc_test_article_within_1e_5_of_keras():
    from app.core.summarizer import Summarizer, featurize_articles
    from training.data import load_dataset

    summarizer = Summarizer(MODEL, ROOT / "models" / "brief.json", ROOT / "models" / "nltk_data")
    assert isinstance(summarizer.model, NumpyLSTM)
    articles = [summarizer.split(a.text) for a in load_dataset("bbc:test")]
    assert len(articles) > 200
    served = summarizer.score_sentences(articles)
    rows = featurize_articles(articles, summarizer.encoder.encode([s.text for a in articles for s in a]))
    keras_scores = predict_rows(load_keras_model(MODEL), rows)
    for article, scores in zip(served, keras_scores):
        np.testing.assert_allclose(article.scores, scores, atol=1e-5, rtol=0)


def test_loading_and_scoring_for_serving_imports_neither_tensorflow_nor_keras():
    code = ("import sys, numpy as np; from app.core.model_file import load_scoring_model;"
            "from app.core.scorer import predict_rows; m = load_scoring_model(sys.argv[1]);"
            "s = predict_rows(m, [np.zeros((3, m.input_shape[0][-1]), np.float32)]);"
            "print(type(m).__name__, len(s[0]), sorted({'tensorflow', 'keras'} & set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", code, str(MODEL)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["NumpyLSTM", "3", "[]"]


def test_an_architecture_the_numpy_pass_does_not_read_is_served_by_keras(tmp_path):
    sentences = keras.Input(shape=(None, DIM), name="sentences")
    mask = keras.Input(shape=(None,), name="mask")
    hidden = keras.layers.GRU(4, return_sequences=True)(sentences, mask=mask)
    model = keras.Model([sentences, mask], keras.layers.Dense(1, activation="sigmoid")(hidden))
    model.save(tmp_path / "gru.h5")
    with pytest.raises(UnsupportedModel, match="GRU"):
        read_numpy_lstm(tmp_path / "gru.h5")
    served = load_scoring_model(tmp_path / "gru.h5")
    assert isinstance(served, keras.Model)
    articles = _articles()
    np.testing.assert_allclose(np.concatenate(predict_rows(served, articles)),
                               np.concatenate(predict_rows(model, articles)), atol=1e-6)


def test_a_file_that_is_not_a_model_is_refused_with_its_path(tmp_path):
    path = tmp_path / "brief.h5"
    path.write_text("not HDF5")
    with pytest.raises(ModelFileError, match="cannot load model file .*brief.h5"):
        load_scoring_model(path)
    with pytest.raises(ModelFileError, match="does not match the sha256"):
        load_scoring_model(MODEL, expected_sha256="0" * 64)
