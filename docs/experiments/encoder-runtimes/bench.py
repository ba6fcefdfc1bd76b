"""Interleaved sentences/s of TF float32 (the project's forward) vs candidates, one process per thread count.
Run: cd /tmp/p16 && nice -n 5 venv/bin/python bench.py THREADS [candidate ...] [--rounds N] [--articles N] [--mode corpus|article]
candidates: ov_f32 ov_bf16 ort_f32 ort_opt ort_int8 (see make_*)."""
import argparse, json, os, sys, time
p = argparse.ArgumentParser()
p.add_argument("threads", type=int); p.add_argument("candidates", nargs="*")
p.add_argument("--rounds", type=int, default=5); p.add_argument("--articles", type=int, default=8)
p.add_argument("--mode", default="corpus"); p.add_argument("--cosine", default="")  # e.g. bbc_test
args = p.parse_args()
T = str(args.threads)
os.environ.update(TF_NUM_INTRAOP_THREADS=T, TF_NUM_INTEROP_THREADS=T, OMP_NUM_THREADS=T, TF_CPP_MIN_LOG_LEVEL="3")
sys.path.insert(0, __import__("os").environ.get("BRIEF_ROOT", "/work/main"))
import numpy as np
import harness as h


def make_tf_f32():
    from app.encoder import SentenceEncoder
    return SentenceEncoder(cache_size=0)._forward


def make_ov(precision, **extra):
    import openvino as ov
    core = ov.Core()
    cfg = {"INFERENCE_NUM_THREADS": args.threads, "INFERENCE_PRECISION_HINT": precision,
           "PERFORMANCE_HINT": "LATENCY", **extra}
    compiled = core.compile_model("/tmp/p16/ov/minilm.xml", "CPU", cfg)
    print("ov", precision, "compiled hint:", compiled.get_property("INFERENCE_PRECISION_HINT"),
          "threads:", compiled.get_property("INFERENCE_NUM_THREADS"), file=sys.stderr)
    req = compiled.create_infer_request()
    out = compiled.outputs[0]
    return lambda ids, mask: req.infer({0: ids, 1: mask})[out]


def make_ort(path, **kw):
    import onnxruntime as ort
    so = ort.SessionOptions()
    so.intra_op_num_threads = args.threads; so.inter_op_num_threads = 1
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    s = ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])
    names = [i.name for i in s.get_inputs()]
    print("ort", path, [(i.name, i.type) for i in s.get_inputs()], file=sys.stderr)
    def f(ids, mask):
        feed = {}
        for n, i in zip(names, s.get_inputs()):
            if "mask" in n:
                feed[n] = mask if i.type == "tensor(bool)" else mask.astype(np.int32 if "int32" in i.type else np.int64)
            else:
                feed[n] = ids if i.type == "tensor(int32)" else ids.astype(np.int64)
        return s.run(None, feed)[0]
    return f


MAKERS = {
    "tf_f32": make_tf_f32,
    "ov_f32": lambda: make_ov("f32"),
    "ov_bf16": lambda: make_ov("bf16"),
    "ov_f32_tput": lambda: make_ov("f32", PERFORMANCE_HINT="THROUGHPUT", NUM_STREAMS=1),
    "ort_f32": lambda: make_ort("/tmp/p16/onnx/minilm.onnx"),
    "ort_opt": lambda: make_ort("/tmp/p16/onnx/minilm_opt.onnx"),
    "ort_int8": lambda: make_ort("/tmp/p16/onnx/minilm_int8.onnx"),
    "ort_opt_int8": lambda: make_ort("/tmp/p16/onnx/minilm_opt_int8.onnx"),
    "ort_rr_ffn8": lambda: make_ort("/tmp/p16/onnx/minilm_rr_ffn8.onnx"),
    "ort_rr_int8": lambda: make_ort("/tmp/p16/onnx/minilm_rr_int8.onnx"),
    "ort_ffn8": lambda: make_ort("/tmp/p16/onnx/minilm_ffn8.onnx"),
    "ort_ffn1_8": lambda: make_ort("/tmp/p16/onnx/minilm_ffn1_8.onnx"),
}
cands = {k: MAKERS[k]() for k in ((["tf_f32"] if args.rounds else []) + args.candidates)}  # cosine-only runs: the reference is prep.py's
result = {"threads": args.threads, "mode": args.mode, "load_start": os.getloadavg()}
if args.rounds:
    arts = h.bench_articles(args.articles)
    med, all_ = h.interleaved(cands, arts, args.rounds, args.mode)
    result.update(sentences=sum(map(len, arts)), median_sentences_per_s=med,
                  ratio_to_tf_f32={k: round(v / med["tf_f32"], 3) for k, v in med.items()}, rounds=all_)
for name in filter(None, args.cosine.split(",")):
    idx = h.sentence_set(name)
    ids = [h.DATA["ids"][i] for i in idx]
    result.setdefault("cosine", {})[name] = {}
    for k, f in cands.items():
        t = time.time()
        v = h.encode(ids, f)
        result["cosine"][name][k] = {**h.cosines(v, idx), "seconds": round(time.time() - t, 1)}
result["load_end"] = os.getloadavg()
print(json.dumps(result))
