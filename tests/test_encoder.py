"""Sentences -> vectors: the real MiniLM encoder on the real OpenVINO, its shape, normalisation, determinism,
weights check, tokenizer, precision, converted-model cache, and its proof against TensorFlow float32."""

import json
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest

from app import ROOT
from app.core import encoder_runtime
from app.core.card import ModelCard
from app.core.coalescer import Coalescer
from app.core.encoder import DIM, SentenceEncoder, reference_vectors
from app.core.encoder_runtime import choose_precision
from app.core.probes import MIN_COSINE, PROBE_SENTENCES, probe_cosines, prove_encoder
from app.core.weights import WEIGHTS_SHA256, EncoderError, verify_weights, weights_dir
from app.core.wordpiece import WordPieceTokenizer


@pytest.fixture(scope="module")
def encoder():
    return SentenceEncoder(cache_size=4)


def test_vectors_are_384_d_and_unit_length(encoder):
    vectors = encoder.encode(["The cat sat on the mat.", "Stocks fell on Monday.", "Hi."])
    assert vectors.shape == (3, DIM)
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, rtol=1e-5)


def test_paraphrases_are_closer_than_unrelated_sentences(encoder):
    a, b, c = encoder.encode(["The cat sat on the mat.", "A cat was sitting on a mat.", "Interest rates rose again."])
    assert a @ b > 0.8
    assert a @ c < 0.3


def test_same_sentence_same_vector_whatever_its_batch(encoder):
    sentence = "Quarterly profits at the media giant jumped 76%."
    alone = encoder.encode_uncached([sentence])[0]
    in_batch = encoder.encode_uncached(["Short.", sentence, "A much longer sentence " * 20])[1]
    np.testing.assert_allclose(alone, in_batch, atol=1e-5)
    np.testing.assert_array_equal(encoder.encode_uncached([sentence])[0], alone)


def test_very_long_sentences_are_truncated_not_rejected(encoder):
    vectors = encoder.encode_uncached(["word " * 2000])
    assert vectors.shape == (1, DIM) and np.isfinite(vectors).all()


def test_cache_serves_repeats_and_stays_bounded(encoder):
    encoder.encode(["one.", "two.", "three."])
    hits = encoder.cache_hits
    encoder.encode(["one.", "two."])
    assert encoder.cache_hits == hits + 2
    encoder.encode([f"sentence {i}." for i in range(10)])
    assert len(encoder._cache) <= 4


def test_weights_with_another_hash_are_refused():
    with pytest.raises(EncoderError, match="sha256"):
        verify_weights(weights_dir(), expected="0" * 64)


def test_threads_that_wait_together_share_one_encoder_call():
    calls = []
    first_call_running, release = threading.Event(), threading.Event()

    def fn(items):
        calls.append(list(items))
        if len(calls) == 1:  # hold the first call until the other callers are queued behind it
            first_call_running.set()
            release.wait(5)
        return np.array([[len(x)] for x in items])

    together = Coalescer(fn, max_items=100)
    with ThreadPoolExecutor(4) as pool:
        first = pool.submit(together, ["a"])
        first_call_running.wait(5)
        rest = [pool.submit(together, [x * 2, x * 3]) for x in "bcd"]
        while len(together._queue) < 3:
            threading.Event().wait(0.01)
        release.set()
        assert first.result().tolist() == [[1]]
        assert [f.result().tolist() for f in rest] == [[[2], [3]]] * 3  # each caller gets its own rows
    assert len(calls) == 2 and sorted(calls[1]) == sorted(["bb", "bbb", "cc", "ccc", "dd", "ddd"])
    assert (together.calls, together.jobs) == (2, 4)


def test_a_shared_call_never_exceeds_max_items_unless_one_caller_needs_more():
    sizes = []
    together = Coalescer(lambda items: sizes.append(len(items)) or np.zeros((len(items), 1)), max_items=5)
    together._running = True  # as if a call were under way: these three callers queue
    with ThreadPoolExecutor(3) as pool:
        futures = [pool.submit(together, ["x"] * n) for n in (3, 3, 7)]
        while len(together._queue) < 3:
            threading.Event().wait(0.01)
        with together._changed:
            together._running = False
            together._changed.notify_all()
        assert [len(f.result()) for f in futures] == [3, 3, 7]
    assert sorted(sizes) == [3, 3, 7]


def test_a_failed_shared_call_fails_its_callers_and_the_next_call_runs():
    def fn(items):
        if "boom" in items:
            raise RuntimeError("encoder failed")
        return np.ones((len(items), 1))

    together = Coalescer(fn, max_items=10)
    with pytest.raises(RuntimeError, match="encoder failed"):
        together(["boom"])
    assert together(["fine", "fine"]).shape == (2, 1)


def test_concurrent_requests_get_the_vectors_they_would_get_alone():
    encoder = SentenceEncoder(cache_size=0)
    articles = [[f"Article {a} says thing number {i} about the economy." for i in range(3 + a)] for a in range(6)]
    articles[5][0] = articles[4][0]  # the same sentence in two concurrent requests
    alone = [encoder.encode(a) for a in articles]
    with ThreadPoolExecutor(6) as pool:
        together = list(pool.map(encoder.encode, articles))
    for a, b in zip(alone, together):
        np.testing.assert_allclose(a, b, atol=1e-5)


# --- the runtime: OpenVINO, its precision, its cache on disk, and the proof against TensorFlow float32 ---

AMD_WITHOUT_AVX512 = "flags\t\t: fpu sse sse2 avx avx2 fma\n"
AMD_WITH_AVX512_BF16 = "flags\t\t: fpu avx2 avx512f avx512bw avx512_bf16 avx512_vnni\n"
INTEL_WITH_AMX = "flags\t\t: fpu avx2 avx512f avx512_bf16 amx_bf16 amx_tile amx_int8\n"
BF16_HERE = choose_precision("auto") == "bfloat16"


@pytest.mark.parametrize("cpuinfo, capabilities, expected", [
    (AMD_WITHOUT_AVX512, ["FP32", "INT8"], "float32"),
    (AMD_WITH_AVX512_BF16, ["BF16", "FP32", "INT8"], "bfloat16"),
    (INTEL_WITH_AMX, ["BF16", "FP32", "INT8"], "bfloat16"),
    (INTEL_WITH_AMX, ["FP32", "INT8"], "float32"),  # OpenVINO does not confirm: not where it would be emulated
    ("", ["BF16"], "float32"),  # no /proc/cpuinfo
])
def test_auto_precision_is_bfloat16_only_where_the_cpu_has_it(cpuinfo, capabilities, expected):
    assert choose_precision("auto", cpuinfo, capabilities) == expected
    assert choose_precision("AUTO", cpuinfo, capabilities) == expected


def test_a_named_precision_is_taken_whatever_the_cpu_and_anything_else_is_refused():
    assert choose_precision("float32", INTEL_WITH_AMX, ["BF16"]) == "float32"
    assert choose_precision("bfloat16", AMD_WITHOUT_AVX512, []) == "bfloat16"
    with pytest.raises(ValueError, match="auto, float32, bfloat16"):
        choose_precision("int8", INTEL_WITH_AMX, ["BF16"])


def test_the_tokenizer_gives_keras_hubs_ids_on_every_bbc_test_sentence_and_odd_unicode():
    import keras_hub

    sentences = bbc_test_sentences() + [
        "Café naïve résumé", "ﬁne ﬂow", "a\u00a0b", "Ｆｕｌｌ width", "soft\u00adhyphen", "zero\u200bwidth",
        "emoji 😀 ok", "中文字符 test", "İstanbul ß Straße", "x" * 150, "“quotes” — dash…", "\u2028line", "tab\there", ""]
    theirs = keras_hub.models.BertTokenizer.from_preset(str(weights_dir()))(sentences)
    theirs = theirs.to_list() if hasattr(theirs, "to_list") else theirs
    ours = WordPieceTokenizer.from_preset(weights_dir())(sentences)
    assert len(sentences) > 3000
    assert [[int(t) for t in ids] for ids in theirs] == ours


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    """A cache folder the float32 encoder was converted into, and the conversions that took."""
    folder = tmp_path_factory.mktemp("encoder-cache")
    before = encoder_runtime.conversions
    encoder = SentenceEncoder(cache_size=0, precision="float32", runtime_dir=folder)
    return folder, encoder, encoder_runtime.conversions - before


def test_the_first_start_converts_and_caches_a_restart_reads_the_cache(converted):
    folder, encoder, conversions = converted
    assert conversions == 1
    xml = encoder_runtime.cache_folder(folder) / encoder_runtime.MODEL_XML
    written = xml.stat().st_mtime_ns
    converted_before = encoder_runtime.conversions
    again = SentenceEncoder(cache_size=0, precision="float32", runtime_dir=folder)
    assert encoder_runtime.conversions == converted_before
    assert xml.stat().st_mtime_ns == written
    np.testing.assert_array_equal(again.encode(["The cat sat on the mat."]), encoder.encode(["The cat sat on the mat."]))
    # keyed by the weights and the converter: both name the folder, and its key.json
    key = json.loads((xml.parent / "key.json").read_text())
    assert key == {"weights_sha256": WEIGHTS_SHA256, "openvino": encoder_runtime.openvino_version()}
    # the precision is a compile setting: another one compiles the same IR, converting nothing
    if BF16_HERE:
        other = SentenceEncoder(cache_size=0, precision="bfloat16", runtime_dir=folder)
        assert encoder_runtime.conversions == converted_before
        assert other.encode(["The cat sat on the mat."]).shape == (1, DIM)
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no half-written folder left behind
    # readable by a service user other than the one that converted (the image converts as root)
    assert all(p.stat().st_mode & 0o004 for p in (xml.parent, xml, xml.with_suffix(".bin"), xml.parent / "key.json"))


def test_a_restart_with_the_cache_imports_neither_tensorflow_nor_keras(converted):
    folder, _, _ = converted
    script = ("import sys; from app.core.encoder import SentenceEncoder; from app.core import encoder_runtime; "
              f"e = SentenceEncoder(precision='float32', runtime_dir={str(folder)!r}); e.encode(['Hello there.']); "
              "print(encoder_runtime.conversions, 'tensorflow' in sys.modules, 'keras' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, cwd=ROOT, check=True)
    assert done.stdout.split() == ["0", "False", "False"]


@pytest.mark.slow
def test_two_workers_that_convert_at_once_both_serve_and_leave_one_whole_folder(tmp_path):
    script = ("from app.core.encoder import SentenceEncoder; "
              f"e = SentenceEncoder(precision='float32', runtime_dir={str(tmp_path)!r}); "
              "print(float(e.encode(['Two workers start at once.'])[0] @ e.encode(['Two workers start at once.'])[0]))")
    workers = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, cwd=ROOT)
               for _ in range(2)]
    outputs = [w.communicate(timeout=600)[0] for w in workers]
    assert [w.returncode for w in workers] == [0, 0]
    assert all(abs(float(o.split()[-1]) - 1.0) < 1e-5 for o in outputs)
    assert [p.name for p in tmp_path.iterdir()] == [encoder_runtime.cache_folder(tmp_path).name]
    assert (encoder_runtime.cache_folder(tmp_path) / "key.json").is_file()


@pytest.mark.parametrize("precision", ["float32", pytest.param("bfloat16", marks=pytest.mark.skipif(
    not BF16_HERE, reason="this CPU has no bfloat16 (AMX or AVX512_BF16)"))])
def test_vectors_are_within_cosine_0_9999_of_tensorflow_float32_on_bbc_test_sentences(precision, tf_reference):
    sentences, reference = tf_reference
    encoder = SentenceEncoder(cache_size=0, precision=precision)
    cosines = probe_cosines(encoder.encode_uncached(sentences), reference)
    assert cosines.min() >= MIN_COSINE, sentences[int(np.argmin(cosines))]


def test_the_shipped_card_carries_tensorflow_float32_vectors_of_the_probe_sentences():
    card = ModelCard.read(ROOT / "models" / "brief.json").encoder
    assert card.probe_sentences == list(PROBE_SENTENCES) and card.reference().shape == (len(PROBE_SENTENCES), DIM)
    assert probe_cosines(reference_vectors(PROBE_SENTENCES), card.reference()).min() > 0.999999


def test_the_probe_check_passes_the_real_encoder_and_refuses_a_corrupted_one(converted):
    folder, _, _ = converted
    card = ModelCard.read(ROOT / "models" / "brief.json").encoder
    encoder = SentenceEncoder(cache_size=0, precision="float32", runtime_dir=folder)
    assert prove_encoder(encoder, card) >= MIN_COSINE and encoder.precision == "float32"
    real = encoder._forward
    encoder._forward = lambda ids, mask: real(ids, mask) + np.random.default_rng(0).normal(0, 0.05, (1, 1, DIM))
    with pytest.raises(EncoderError, match="does not reproduce the model card's probe vectors"):
        prove_encoder(encoder, card)


@pytest.mark.skipif(not BF16_HERE, reason="this CPU has no bfloat16 (AMX or AVX512_BF16)")
def test_a_bfloat16_encoder_that_misses_the_probes_falls_back_to_float32(caplog):
    card = ModelCard.read(ROOT / "models" / "brief.json").encoder
    encoder = SentenceEncoder(cache_size=0, precision="bfloat16")
    real = encoder._forward
    encoder._forward = lambda ids, mask: real(ids, mask) + np.random.default_rng(0).normal(0, 0.05, (1, 1, DIM))
    assert prove_encoder(encoder, card) >= MIN_COSINE
    assert encoder.precision == "float32" and "falling back to float32" in caplog.text


@pytest.fixture(scope="module")
def tf_reference():
    """A sample of BBC test sentences (every 10th) and their TensorFlow float32 vectors."""
    sentences = bbc_test_sentences()[::10]
    return sentences, reference_vectors(sentences)


def bbc_test_sentences() -> list[str]:
    from app.core.sentences import SentenceSplitter
    from app.settings import DATA_ROOT, NLTK_DATA, resolve
    from training.data import LoadReport, load_dataset

    splitter = SentenceSplitter(resolve(NLTK_DATA))
    found = load_dataset("bbc:test", DATA_ROOT, LoadReport(), dedupe=False)
    return list(dict.fromkeys(s.text for a in found for s in splitter.split(a.text)))
