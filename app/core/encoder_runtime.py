"""Where the encoder's transformer runs: OpenVINO, in bfloat16 where the CPU has it, from a model converted once.

keras-hub stays the source of the graph and the weights: the first start converts its
``BertBackbone`` (under TensorFlow) to OpenVINO's IR and writes it to a cache folder keyed by the
weights' sha256 and OpenVINO's version; every later start reads that folder and imports neither
TensorFlow nor Keras. The IR holds the float32 weights whatever the precision: the precision is a
compile setting, and each precision's compiled blob is kept beside the IR. The container image
converts at build time (``python -m app.core.encoder_runtime FOLDER``) and ships without TensorFlow.
The float32 TensorFlow forward stays here as the reference every other path is measured against
(``tf_float32_forward``).
"""

from __future__ import annotations

import fcntl
import functools
import json
import logging
import os
import shutil
import tempfile
import threading
from pathlib import Path
from typing import Callable, Sequence

import numpy as np

from app.core.weights import WEIGHTS_SHA256

log = logging.getLogger(__name__)

PRECISIONS = ("float32", "bfloat16")
SETTING_CHOICES = ("auto", *PRECISIONS)  # BRIEF_ENCODER_PRECISION
RUNTIME = "openvino"
BF16_CPU_FLAGS = ("amx_bf16", "avx512_bf16")  # /proc/cpuinfo flags of CPUs with bfloat16 matrix instructions
MODEL_XML = "encoder.xml"  # in the cache folder, beside encoder.bin (the weights) and key.json
_HINTS = {"float32": "f32", "bfloat16": "bf16"}  # OpenVINO's INFERENCE_PRECISION_HINT

Forward = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (token ids int32 (B, T), mask bool (B, T)) -> hidden (B, T, 384)

conversions = 0  # keras-hub -> OpenVINO conversions in this process (a restart with a cache makes none)


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The flags of the first CPU in ``cpuinfo`` (the text of /proc/cpuinfo; read when not given)."""
    if cpuinfo is None:
        try:
            cpuinfo = Path("/proc/cpuinfo").read_text()
        except OSError:
            return set()
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            return set(line.split(":", 1)[1].split())
    return set()


def choose_precision(setting: str, cpuinfo: str | None = None, capabilities: Sequence[str] | None = None) -> str:
    """``float32`` or ``bfloat16`` for ``BRIEF_ENCODER_PRECISION`` (``auto``, ``float32`` or ``bfloat16``).

    ``auto`` is bfloat16 where the CPU has AMX or AVX512_BF16 (``cpuinfo``'s flags) and OpenVINO's
    CPU plugin lists BF16 among its ``capabilities`` (asked when not given); float32 elsewhere,
    where bfloat16 would be emulated and slower.
    """
    setting = setting.lower()
    if setting not in SETTING_CHOICES:
        raise ValueError(f"encoder precision must be one of {', '.join(SETTING_CHOICES)}, not {setting!r}")
    if setting != "auto":
        return setting
    if not cpu_flags(cpuinfo) & set(BF16_CPU_FLAGS):
        return "float32"
    if capabilities is None:
        capabilities = _core().get_property("CPU", "OPTIMIZATION_CAPABILITIES")
    return "bfloat16" if "BF16" in capabilities else "float32"


def openvino_version() -> str:
    import openvino

    return openvino.get_version().split("-")[0]


def cache_key() -> dict:
    """What the converted model depends on: the weights and the converter (not the precision, a compile setting)."""
    return {"weights_sha256": WEIGHTS_SHA256, "openvino": openvino_version()}


def cache_folder(cache_dir: str | Path) -> Path:
    key = cache_key()
    return Path(cache_dir) / f"minilm-{key['weights_sha256'][:16]}-openvino-{key['openvino']}"


class OpenVINOForward:
    """The transformer compiled by OpenVINO for this CPU in one precision: ``(token_ids, mask) -> hidden``."""

    def __init__(self, model_dir: Path, cache_dir: str | Path, precision: str, threads: int = 0):
        """``threads``: OpenVINO's inference threads (0: the ``OMP_NUM_THREADS`` gunicorn.conf.py sets
        to each worker's share of the cores, else all cores)."""
        if precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, not {precision!r}")
        self.precision = precision
        self.folder = cache_folder(cache_dir)
        model = load_or_convert(model_dir, self.folder)
        threads = threads or int(os.environ.get("OMP_NUM_THREADS", "0") or 0)
        # No pinning: each gunicorn worker would pin its threads to the same first cores, and on a
        # shared host pinned threads wait for busy cores (pinned: 50 sentences/s on 2 threads here, 68 not).
        config = {"INFERENCE_PRECISION_HINT": _HINTS[precision], "PERFORMANCE_HINT": "LATENCY",
                  "ENABLE_CPU_PINNING": False}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        if _writable(self.folder):
            # the compiled blob, one per precision: a restart skips compiling too
            config["CACHE_DIR"] = str(self.folder / f"compiled-{precision}")
            # Workers that start together compile one at a time: the first writes the blob, the others
            # read it (two writing the same blob at once fail: "cannot set permissions").
            with open(self.folder / "compile.lock", "a") as lock:
                fcntl.flock(lock, fcntl.LOCK_EX)
                self._compiled = _core().compile_model(model, "CPU", config)
        else:
            self._compiled = _core().compile_model(model, "CPU", config)
        self._request = self._compiled.create_infer_request()
        self._lock = threading.Lock()  # one infer request: callers take turns (the Coalescer batches them anyway)

    def __call__(self, token_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        with self._lock:
            self._request.infer({"token_ids": token_ids, "mask": mask})
            return self._request.get_output_tensor(0).data.copy()


def load_or_convert(model_dir: Path, folder: Path):
    """The OpenVINO model from ``folder``, converted from keras-hub and written there first if it is not there.

    The folder appears whole or not at all (written beside it, then renamed), so two workers
    that start together may both convert, but neither ever reads half a model. Where the folder
    cannot be written (a read-only image), the model is converted in memory and served all the same.
    """
    import openvino

    xml = folder / MODEL_XML
    if xml.is_file() and _key_matches(folder):
        return _core().read_model(str(xml))
    model = convert_keras_hub(model_dir)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        building = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    except OSError as e:
        log.warning("encoder cache %s cannot be written (%s): the converted model lives in memory only", folder, e)
        return model
    try:
        openvino.save_model(model, str(building / MODEL_XML), compress_to_fp16=False)
        (building / "key.json").write_text(json.dumps(cache_key(), indent=2) + "\n")
        os.chmod(building, 0o755)  # mkdtemp's 0700 would hide it from a service user other than the one converting
        os.rename(building, folder)
        log.info("encoder converted to OpenVINO and cached in %s", folder)
    except OSError:  # another worker renamed its folder first: theirs is as good
        shutil.rmtree(building, ignore_errors=True)
    return model


def convert_keras_hub(model_dir: Path):
    """keras-hub's ``BertBackbone`` from ``model_dir`` as an OpenVINO model ``(token_ids, mask) -> hidden``."""
    global conversions
    import openvino

    log.info("converting the encoder from keras-hub to OpenVINO (once per weights and OpenVINO version)")
    graph = _tf_graph.__wrapped__(model_dir)  # not kept: a worker converts once, then serves with OpenVINO
    model = openvino.convert_model(graph)
    # keras-hub's backbone also returns the pooled [CLS] output; Brief mean-pools the hidden states.
    model = openvino.Model([model.outputs[0]], model.get_parameters(), "minilm")
    conversions += 1
    return model


def tf_float32_forward(model_dir: Path) -> Forward:
    """The reference: keras-hub's backbone under TensorFlow in float32, one graph traced once for every shape."""
    graph = _tf_graph(model_dir)
    return lambda token_ids, mask: graph(token_ids, mask).numpy()


@functools.lru_cache(maxsize=1)
def _tf_graph(model_dir: Path):
    """keras-hub's ``BertBackbone`` as a ``tf.function`` with batch and length left open (built once per
    process: a training run that releases several models computes their probe vectors with one)."""
    import keras_hub  # heavy: TensorFlow and Keras, imported only to convert or to measure against
    import tensorflow as tf

    backbone = keras_hub.models.BertBackbone.from_preset(str(model_dir))
    return tf.function(
        lambda token_ids, mask: backbone(
            {"token_ids": token_ids, "segment_ids": tf.zeros_like(token_ids), "padding_mask": mask}, training=False
        )["sequence_output"],
        input_signature=[tf.TensorSpec((None, None), tf.int32, name="token_ids"),
                         tf.TensorSpec((None, None), tf.bool, name="mask")],
    )


def _key_matches(folder: Path) -> bool:
    try:
        return json.loads((folder / "key.json").read_text()) == cache_key()
    except (OSError, ValueError):
        return False


def _writable(folder: Path) -> bool:
    return folder.is_dir() and os.access(folder, os.W_OK)


_core_lock = threading.Lock()
_the_core = None


def _core():
    """One ``openvino.Core`` per process."""
    global _the_core
    with _core_lock:
        if _the_core is None:
            import openvino

            _the_core = openvino.Core()
        return _the_core


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m app.core.encoder_runtime FOLDER``: convert the installed weights into FOLDER's cache, as a
    first start would (the container image does it at build time, so that it needs no TensorFlow to serve)."""
    import argparse

    from app.core.weights import verify_weights, weights_dir

    parser = argparse.ArgumentParser(prog="python -m app.core.encoder_runtime",
                                     description="Convert the installed encoder weights to OpenVINO's IR, as a first start would.")
    parser.add_argument("folder", type=Path, help="the cache folder (BRIEF_ENCODER_CACHE) to write the converted encoder in")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    model_dir = weights_dir()
    verify_weights(model_dir)
    folder = cache_folder(args.folder)
    load_or_convert(model_dir, folder)
    if not _key_matches(folder):
        parser.exit(1, f"could not write the converted encoder to {folder}\n")
    print(folder)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
