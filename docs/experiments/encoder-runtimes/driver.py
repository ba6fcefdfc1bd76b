"""Interleaved rounds across worker processes (one per runtime/venv): each round asks every worker in turn
(rotated order) to encode the same real article sentences; median sentences/s and ratio to tf_f32.
Run: cd /tmp/p16 && nice -n 5 venv/bin/python driver.py THREADS venv:tf_f32 venv-jax:jax_f32 venv-jax:jax_bf16 [--rounds N --articles N --mode corpus|article --cosine SET]"""
import argparse, json, os, statistics, subprocess, sys
p = argparse.ArgumentParser()
p.add_argument("threads"); p.add_argument("workers", nargs="+")
p.add_argument("--rounds", type=int, default=6); p.add_argument("--articles", type=int, default=8)
p.add_argument("--mode", default="corpus"); p.add_argument("--cosine", default="")
a = p.parse_args()
sys.path.insert(0, "/tmp/p16")
import harness as h
n = sum(map(len, h.bench_articles(a.articles)))
procs = {}
for spec in a.workers:
    venv, kind = spec.split(":")
    cmd = ([f"taskset", "-c", "0"] if a.threads == "1" else []) + [f"/tmp/p16/{venv}/bin/python", "/tmp/p16/worker.py", kind, a.threads]
    procs[kind] = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/tmp/p16")
    while procs[kind].stdout.readline().strip() != "ready":
        pass

def ask(kind, line):
    procs[kind].stdin.write(line + "\n"); procs[kind].stdin.flush()
    return procs[kind].stdout.readline()

out = {"threads": int(a.threads), "mode": a.mode, "sentences": n, "load_start": os.getloadavg()}
for k in procs:  # warm-up (every shape compiled)
    ask(k, f"round {a.articles} {a.mode}")
times = {k: [] for k in procs}
names = list(procs)
for r in range(a.rounds):
    for k in names[r % len(names):] + names[: r % len(names)]:
        times[k].append(float(ask(k, f"round {a.articles} {a.mode}")))
        print(r, k, round(n / times[k][-1], 1), file=sys.stderr, flush=True)  # progress, in case of a timeout
if a.rounds:
    med = {k: round(n / statistics.median(v), 1) for k, v in times.items()}
    out.update(median_sentences_per_s=med, ratio_to_first={k: round(v / med[names[0]], 3) for k, v in med.items()},
               rounds={k: [round(n / x, 1) for x in v] for k, v in times.items()})
for s in filter(None, a.cosine.split(",")):
    out.setdefault("cosine", {})[s] = {k: json.loads(ask(k, f"cosine {s}")) for k in procs}
for k in procs:
    ask(k, "quit") if False else procs[k].stdin.write("quit\n"); procs[k].stdin.close(); procs[k].wait()
out["load_end"] = os.getloadavg()
print(json.dumps(out))
