import os, time, numpy as np
import keras, tensorflow as tf
tf.config.threading.set_intra_op_parallelism_threads(1); tf.config.threading.set_inter_op_parallelism_threads(1)
from app.core.scorer import ModelScorer
models = {"before (one LSTM)": keras.saving.load_model("runs/old-one-lstm.h5", compile=False),
          "shipped (average of two)": keras.saving.load_model("models/brief.h5", compile=False)}
scorers = {k: ModelScorer(m) for k, m in models.items()}
for s in scorers.values(): s.compile()
rng = np.random.default_rng(0)
for rep in range(3):
  for n in (11, 29, 149):
    x = rng.normal(size=(1, n, 396)).astype(np.float32) * 0.1; mk = np.ones((1, n), np.float32)
    for name, s in scorers.items():
        for _ in range(5): s(x, mk)
        t = []
        for _ in range(200):
            t0 = time.perf_counter(); s(x, mk); t.append(time.perf_counter() - t0)
        print(rep, n, name, "p50 %.2f ms p99 %.2f ms" % (1000 * np.median(t), 1000 * np.quantile(t, 0.99)))
