import os, time, numpy as np
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL","2")
import keras, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1); tf.config.threading.set_inter_op_parallelism_threads(1)
from app.core.scorer import ModelScorer
avg = keras.saving.load_model("models/brief.h5", compile=False)
members = [l for l in avg.layers if isinstance(l, keras.Model)]
print([m.name for m in members])
def fuse(members):
    M = len(members)
    bi = [m.get_layer("bi_lstm_0") for m in members]
    dense = [m.get_layer("score") for m in members]
    u = bi[0].forward_layer.units; U = u * M
    d = members[0].input_shape[0][-1]
    inputs = keras.Input(shape=(None, d), name="sentences"); mask = keras.Input(shape=(None,), dtype="float32", name="mask")
    lstm = keras.layers.Bidirectional(keras.layers.LSTM(U, return_sequences=True, name="lstm_0"), name="bi_lstm_0")
    x = lstm(inputs, mask=mask)
    out = keras.layers.Dense(M, activation="sigmoid", name="member_scores")(x)
    score = keras.layers.Dense(1, use_bias=False, name="score")(out)
    model = keras.Model([inputs, mask], score)
    for direction in ("forward_layer", "backward_layer"):
        K = np.zeros((d, 4 * U), np.float32); R = np.zeros((U, 4 * U), np.float32); B = np.zeros(4 * U, np.float32)
        for m, b in enumerate(bi):
            k, r, bb = [w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in getattr(b, direction).cell.weights]
            for g in range(4):
                cols = slice(g * U + m * u, g * U + (m + 1) * u); src = slice(g * u, (g + 1) * u)
                K[:, cols] = k[:, src]; R[m * u:(m + 1) * u, cols] = r[:, src]; B[cols] = bb[src]
        getattr(lstm, direction).cell.set_weights([K, R, B])
    W = np.zeros((2 * U, M), np.float32); bias = np.zeros(M, np.float32)
    for m, dl in enumerate(dense):
        w, bb = dl.get_weights()
        W[m * u:(m + 1) * u, m] = w[:u, 0]; W[U + m * u:U + (m + 1) * u, m] = w[u:, 0]; bias[m] = bb[0]
    model.get_layer("member_scores").set_weights([W, bias])
    model.get_layer("score").set_weights([np.full((M, 1), 1.0 / M, np.float32)])
    return model
fused = fuse(members)
rng = np.random.default_rng(0)
for n in (11, 29, 149, 149):
    x = rng.normal(size=(1, n, members[0].input_shape[0][-1])).astype(np.float32) * 0.1; mk = np.ones((1, n), np.float32)
    sa, sf = ModelScorer(avg), ModelScorer(fused)
    sa.compile(); sf.compile()
    a = sa(x, mk); f = sf(x, mk)
    print(n, "max diff", float(np.abs(np.asarray(a) - np.asarray(f)).max()))
    for name, s in (("avg", sa), ("fused", sf)):
        for _ in range(5): s(x, mk)
        t = []
        for _ in range(100):
            t0 = time.perf_counter(); s(x, mk); t.append(time.perf_counter() - t0)
        print(n, name, "p50 %.2f ms" % (1000 * np.median(t)))
