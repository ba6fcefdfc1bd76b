"""Seconds per training batch of the shipped LSTM with N CPU threads (why `--jobs` fits side by side).

    python docs/experiments/fit-threads/threads.py 1; python docs/experiments/fit-threads/threads.py 2

One batch of 32 articles x 48 sentences x 396 features, the shipped model (bidirectional LSTM-128,
listwise loss), 30 steps after one warm-up. 2026-12-06, AMD EPYC 2 cores: idle, 0.068 s a batch
with one thread and 0.051 s with two (two one-thread fits side by side: 1.5x the batches a second of
one two-thread fit); with an encoding job holding both cores, 0.090 s and 0.083 s.
"""
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))
threads = int(sys.argv[1])
import tensorflow as tf  # noqa: E402

tf.config.threading.set_intra_op_parallelism_threads(threads)
tf.config.threading.set_inter_op_parallelism_threads(threads)
import numpy as np  # noqa: E402

from training.model import ModelConfig, build_model  # noqa: E402

model = build_model(ModelConfig(units=128, bidirectional=True, loss="listwise"), 396)
x = np.random.rand(32, 48, 396).astype("float32")
mask = np.ones((32, 48), "float32")
y = np.random.rand(32, 48, 1).astype("float32")
model.train_on_batch([x, mask], y, sample_weight=mask)
start = time.time()
for _ in range(30):
    model.train_on_batch([x, mask], y, sample_weight=mask)
print(threads, "thread(s):", round((time.time() - start) / 30, 3), "s a batch")
