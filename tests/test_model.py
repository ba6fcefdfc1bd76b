"""The LSTM: padding never changes a real sentence's score, and the .h5 reloads identically."""

import subprocess
import sys

import numpy as np
import pytest

from app.core.batching import pad_rows
from app.core.model_file import ModelFileError, load_keras_model
from app.core.scorer import predict_rows
from training.model import build_model
from training.recipe import ModelConfig

DIM = 6


def _articles(seed=0, lengths=(3, 7, 18)):
    rng = np.random.default_rng(seed)
    return [rng.normal(size=(n, DIM)).astype(np.float32) for n in lengths]


@pytest.mark.parametrize("bidirectional", [False, True])
def test_padding_does_not_change_any_real_sentence_score(bidirectional):
    model = build_model(ModelConfig(units=8, layers=2, bidirectional=bidirectional), DIM)
    short, long_ = _articles(lengths=(4, 30))
    alone = model.predict_on_batch(list(pad_rows([short])))[0, :, 0]
    padded = model.predict_on_batch(list(pad_rows([short, long_])))[0, :4, 0]
    np.testing.assert_allclose(alone, padded, atol=1e-6)


def test_padding_carries_no_weight_in_the_loss():
    model = build_model(ModelConfig(units=8, loss="mae"), DIM)
    x, mask = pad_rows(_articles(lengths=(3,)), 10)
    y = np.zeros((1, 10, 1), dtype=np.float32)
    weight = mask.astype(np.float32)
    base = model.evaluate([x, mask], y, sample_weight=weight, verbose=0)
    y[0, 5:, 0] = 1.0  # change only padded targets
    assert model.evaluate([x, mask], y, sample_weight=weight, verbose=0) == pytest.approx(base)


def test_scores_are_probabilities_one_per_sentence():
    model = build_model(ModelConfig(units=8), DIM)
    scores = predict_rows(model, _articles())
    assert [len(s) for s in scores] == [3, 7, 18]
    assert all(((s >= 0) & (s <= 1)).all() for s in scores)


def test_saved_h5_reloads_in_a_fresh_process_with_identical_scores(tmp_path):
    model = build_model(ModelConfig(units=8, bidirectional=True), DIM)
    articles = _articles()
    x, mask = pad_rows(articles)
    model.fit([x, mask], np.random.default_rng(1).random(mask.shape + (1,)), sample_weight=mask.astype("f4"), epochs=1, verbose=0)
    path = tmp_path / "tiny.h5"
    model.save(path)
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "mask.npy", mask)
    np.save(tmp_path / "expected.npy", model.predict_on_batch([x, mask]))
    code = (
        "import numpy as np, sys; from app.core.model_file import load_keras_model; d=sys.argv[1];"
        "m=load_keras_model(d+'/tiny.h5'); out=m.predict_on_batch([np.load(d+'/x.npy'), np.load(d+'/mask.npy')]);"
        "np.testing.assert_array_equal(out, np.load(d+'/expected.npy')); print('same')"
    )
    result = subprocess.run([sys.executable, "-c", code, str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "same" in result.stdout


def test_a_truncated_or_foreign_model_file_is_a_clear_error(tmp_path):
    path = tmp_path / "broken.h5"
    path.write_bytes(b"not an hdf5 file")
    with pytest.raises(ModelFileError, match="cannot load"):
        load_keras_model(path)
    with pytest.raises(ModelFileError, match="sha256"):
        load_keras_model(path, expected_sha256="0" * 64)
    with pytest.raises(ModelFileError, match="does not exist"):
        load_keras_model(tmp_path / "missing.h5")


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown loss"):
        build_model(ModelConfig(loss="hinge"), DIM)


def _listwise(y, p):
    from training.model import listwise_loss

    return float(np.sum(np.asarray(listwise_loss(np.asarray(y, np.float32)[None, :, None], np.asarray(p, np.float32)[None, :, None]))))


def test_listwise_loss_rewards_ranking_the_labelled_sentences_first():
    labels = [1.0, 0.0, 0.5, 0.0]
    assert _listwise(labels, [0.9, 0.1, 0.6, 0.2]) < _listwise(labels, [0.2, 0.9, 0.1, 0.6])


def test_listwise_loss_ignores_padded_steps():
    real = _listwise([1.0, 0.0, 0.5], [0.8, 0.3, 0.4])
    padded = _listwise([1.0, 0.0, 0.5, -1.0, -1.0], [0.8, 0.3, 0.4, 0.99, 0.01])
    assert padded == pytest.approx(real, rel=1e-5)


def test_a_listwise_model_fits_and_reloads_from_h5(tmp_path):
    from training.model import ExampleBatches

    model = build_model(ModelConfig(units=8, loss="listwise"), DIM)
    rng = np.random.default_rng(0)

    class Ex:  # what ExampleBatches reads of an example
        weight = 1.0

        def __init__(self, n):
            self.rows = rng.normal(size=(n, DIM)).astype(np.float32)
            self.labels = (rng.random(n) > 0.6).astype(np.float32)

    history = model.fit(ExampleBatches([Ex(n) for n in (3, 9, 20, 5)], 2, 64, seed=0), epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    model.save(tmp_path / "m.h5")
    reloaded = load_keras_model(tmp_path / "m.h5")
    x = _articles(lengths=(6,))
    np.testing.assert_allclose(predict_rows(model, x)[0], predict_rows(reloaded, x)[0], atol=1e-6)
