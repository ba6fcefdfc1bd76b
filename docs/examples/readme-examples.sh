#!/usr/bin/env bash
# Re-runs every example of the README and the documentation site (docs/) whose output comes from the
# bundled model (models/brief.h5 and models/brief.json), and prints each block as the pages show it:
# a header line that names the block and its page, a caption with the date and the model id, then the
# block itself between its ``` fences, each command as `$ command` followed by what it printed (stdout
# and stderr together). With --write it also puts each block into its page, in place of what stands
# between the page's `<!-- examples:NAME -->` and `<!-- /examples:NAME -->` lines. After shipping a
# new model, run it once and review the diff:
#
#     nice -n 19 docs/examples/readme-examples.sh --write > readme-examples.out
#
# Blocks (NAME, page: what runs):
#   readme, README.md and api, docs/api.md
#                         gunicorn as `make serve` starts it, on 127.0.0.1:8000; the curl examples, /api/drift,
#                         /metrics (the README shows the first example only)
#   web-pages, docs/web-pages.md
#                         gunicorn with URL fetching on 127.0.0.1:18790 and `python3 -m http.server 18791` serving story.html
#   cli, docs/cli.md      brief highlight in-process, against the service above, from stdin, and its usage error
#   python, docs/cli.md   the highlight() snippet
#   request-log, docs/operations/keys-and-limits.md
#                         the request log line (a one-worker gunicorn on 127.0.0.1:18792 with a key for "logger")
#
# Only loopback addresses are used; every process started here is stopped on exit. The ports are the
# pages': if one is taken the script stops and says so (it never picks another). story.html and
# bridge.txt are written as docs/web-pages.md and docs/cli.md show them into a temporary folder, which
# is removed on exit. Progress and notes go to stderr, the blocks to stdout. What may vary from run to
# run: /api/drift's psi, ks and ks_pvalue (with the same model and requests they come out the same), the
# order of the /metrics lines (the service sums its workers' metric files in the order the folder lists
# them, which follows their pids), and the log line's time (printed as "...", as the page does), ms and
# worker pid. TensorFlow's start-up lines on the stderr of the in-process `brief` commands are left out
# of the blocks, as on the pages, and counted on stderr (KEEP_TF_LOGS=1 keeps them). A command not found
# word for word in README.md or a page under docs/ is reported on stderr.
# Environment: READY_TIMEOUT (seconds a server may take to be ready, default 900), STEP_TIMEOUT
# (seconds one example may take, default 900). BRIEF_* variables are cleared: the examples use the defaults.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WRITE=0
case "${1:-}" in
  --write) WRITE=1 ;;
  "") ;;
  *) printf 'usage: %s [--write]\n' "$0" >&2; exit 2 ;;
esac
READY_TIMEOUT=${READY_TIMEOUT:-900}
STEP_TIMEOUT=${STEP_TIMEOUT:-900}
STARTED_AT=$SECONDS

note() { printf 'readme-examples: %s\n' "$*" >&2; }
die() { note "$*"; exit 1; }

cd "$ROOT" || exit 1
[ -x .venv/bin/gunicorn ] && [ -x .venv/bin/brief ] || die "no .venv with gunicorn and brief in $ROOT: set it up first (make setup)"
[ -f models/brief.h5 ] && [ -f models/brief.json ] || die "models/brief.h5 and models/brief.json are needed"
command -v curl > /dev/null || die "curl is needed"

# The pages' commands run as written: `brief`, `gunicorn` and `python3` are the venv's.
export PATH="$ROOT/.venv/bin:$PATH"
for v in $(compgen -e | grep -E '^(BRIEF_|PROMETHEUS_MULTIPROC_DIR$)'); do
  note "ignoring $v from the environment (the examples use the defaults)"
  unset "$v"
done

API_PORT=8000 URL_PORT=18790 PAGE_PORT=18791 LOG_PORT=18792

# --- ports: fail if one is taken ---------------------------------------------------------------------
port_users() {  # prints the ports of the given list that something answers on or that cannot be bound on 127.0.0.1
  python3 - "$@" <<'PY'
import socket, sys
for port in map(int, sys.argv[1:]):
    taken = False
    for family, host in ((socket.AF_INET, "127.0.0.1"), (socket.AF_INET6, "::1")):
        try:
            with socket.socket(family, socket.SOCK_STREAM) as s:
                s.settimeout(1)
                taken |= s.connect_ex((host, port)) == 0
        except OSError:
            pass
    try:
        with socket.socket() as s:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind(("127.0.0.1", port))
    except OSError:
        taken = True
    if taken:
        print(port)
PY
}
busy=$(port_users $API_PORT $URL_PORT $PAGE_PORT $LOG_PORT | tr '\n' ' ')
if [ -n "$busy" ]; then
  die "port(s) ${busy% } already in use on localhost. The pages' examples name ports $API_PORT, $URL_PORT and $PAGE_PORT (and $LOG_PORT for the log line), so this script uses exactly those and picks no other: stop what listens there (ss -ltnp) and run it again."
fi

# --- processes, cleaned up on exit -------------------------------------------------------------------
TMP=$(mktemp -d "${TMPDIR:-/tmp}/brief-readme-examples.XXXXXX") || die "cannot make a temporary folder"
WORK=$TMP/work LOGS=$TMP/logs
mkdir -p "$WORK" "$LOGS"
PIDS=()  # each one a process group leader (setsid)

stop_group() {  # stop_group PID: SIGTERM its process group, SIGKILL after 40 s; forget it (its pid may be reused)
  local pid=$1 p kept=()
  for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || kept+=("$p"); done
  PIDS=("${kept[@]}")
  kill -0 "$pid" 2> /dev/null || return 0
  kill -TERM -- "-$pid" 2> /dev/null
  for _ in $(seq 1 80); do kill -0 "$pid" 2> /dev/null || return 0; sleep 0.5; done
  kill -KILL -- "-$pid" 2> /dev/null
}
cleanup() {
  local pid
  for pid in "${PIDS[@]}"; do stop_group "$pid"; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_gunicorn() {  # start_gunicorn PORT LOGNAME [VAR=value...]: the pages' gunicorn from the project root, in its own process group
  local port=$1 log=$LOGS/$2.log; shift 2
  (cd "$ROOT" && exec env "$@" setsid gunicorn -c gunicorn.conf.py 'app:create_app()') > "$log" 2>&1 &
  SERVER_PID=$!
  PIDS+=("$SERVER_PID")
  note "started gunicorn on 127.0.0.1:$port (pid $SERVER_PID: $*); waiting for /api/ready"
  wait_ready "$port" "$SERVER_PID" "$log"
}
wait_ready() {  # wait_ready PORT PID LOG: until /api/ready answers 200; sets MODEL_ID
  local port=$1 pid=$2 log=$3 deadline=$((SECONDS + READY_TIMEOUT)) answer
  while [ $SECONDS -lt $deadline ]; do
    if answer=$(curl -fs --max-time 10 "http://127.0.0.1:$port/api/ready" 2> /dev/null); then
      MODEL_ID=$(printf '%s' "$answer" | python3 -c 'import json, sys; print(json.load(sys.stdin)["model"])')
      note "127.0.0.1:$port ready after $((SECONDS - deadline + READY_TIMEOUT)) s, serving $MODEL_ID"
      return 0
    fi
    kill -0 "$pid" 2> /dev/null || { tail -20 "$log" >&2; die "gunicorn on port $port exited before it was ready (its log is above)"; }
    sleep 1
  done
  tail -20 "$log" >&2
  die "gunicorn on port $port was not ready within $READY_TIMEOUT s (READY_TIMEOUT; its log is above)"
}

# --- printing ---------------------------------------------------------------------------------------
TF_LINES='^(WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR|[IWEF][0-9]{4} [0-9:.]+ +[0-9]+ [A-Za-z0-9_]+\.(cc|h):[0-9]+\] .*|To enable the following instructions: .* in other operations, rebuild TensorFlow with the appropriate compiler flags\.)$'
# argparse wraps the usage line to the terminal's width; the page's is 80 columns.
export COLUMNS=80

BLOCKS=$TMP/blocks  # one file per block: NAME.block, its page in NAME.page
mkdir -p "$BLOCKS"
fence_open() { printf '```\n'; }
fence_close() { printf '```\n'; }
check_in_docs() {  # warn if "$ COMMAND" is not in README.md or a page under docs/, word for word
  python3 - "$ROOT" "$1" <<'PY' || note "this command is not in README.md or docs/ as written: $1"
import pathlib, sys
root = pathlib.Path(sys.argv[1])
pages = [root / "README.md", *sorted((root / "docs").rglob("*.md"))]
sys.exit(0 if any(("$ " + sys.argv[2]) in p.read_text(encoding="utf-8") for p in pages) else 1)
PY
}
block_in_page() {  # block_in_page KIND PAGE FILE: whether FILE's text is one of PAGE's ```KIND blocks
  python3 - "$1" "$2" "$3" <<'PY'
import re, sys
kind, page, file = sys.argv[1:]
blocks = re.findall(rf"^```{kind}\n(.*?)^```$", open(page, encoding="utf-8").read(), re.S | re.M)
sys.exit(0 if open(file, encoding="utf-8").read() in blocks else 1)
PY
}
save_block() {  # save_block NAME PAGE: stdin is the block; remember which page it goes to
  cat > "$BLOCKS/$1.block"
  printf '%s\n' "$2" > "$BLOCKS/$1.page"
}
emit_blocks() {  # print every block with its header and caption; with --write, put each into its page
  local name page caption
  caption="Real output, $TODAY, \`$MODEL_ID\`:"
  for name in readme api web-pages cli python request-log; do
    [ -f "$BLOCKS/$name.block" ] || { note "no block $name (an earlier step failed)"; continue; }
    page=$(cat "$BLOCKS/$name.page")
    printf '\n#### %s: %s, between <!-- examples:%s --> and <!-- /examples:%s -->\n%s\n\n' "$name" "$page" "$name" "$name" "$caption"
    cat "$BLOCKS/$name.block"
    [ "$WRITE" = 1 ] || continue
    python3 - "$ROOT/$page" "$name" "$caption" "$BLOCKS/$name.block" <<'PY' || note "could not write the block $name into $page"
import re, sys
page, name, caption, block = sys.argv[1:]
text = open(page, encoding="utf-8").read()
pattern = re.compile(rf"(<!-- examples:{re.escape(name)} -->\n).*?(\n<!-- /examples:{re.escape(name)} -->)", re.S)
if len(pattern.findall(text)) != 1:
    sys.exit(f"{page} needs exactly one <!-- examples:{name} --> ... <!-- /examples:{name} --> region")
body = caption + "\n\n" + open(block, encoding="utf-8").read().rstrip("\n")
open(page, "w", encoding="utf-8").write(pattern.sub(lambda m: m.group(1) + body + m.group(2), text))
PY
    note "wrote the block $name into $page"
  done
}
example() {  # example DISPLAY [ACTUAL]: print "$ DISPLAY", run ACTUAL (default DISPLAY) in the work folder, print its output
  local display=$1 actual=${2:-$1} out=$TMP/example.out
  check_in_docs "$display"
  printf '$ %s\n' "$display"
  (cd "$WORK" && timeout "$STEP_TIMEOUT" bash -c "$actual") > "$out" 2>&1 < /dev/null
  [ $? -eq 124 ] && note "timed out after $STEP_TIMEOUT s (STEP_TIMEOUT): $display"
  if [ "${KEEP_TF_LOGS:-0}" != 1 ]; then
    # TensorFlow's start-up lines on stderr (absl/TSL, printed whatever TF_CPP_MIN_LOG_LEVEL says) vary
    # with the time, the pid and the machine, and the pages leave them out: drop them, and say so.
    local dropped
    dropped=$(grep -cE "$TF_LINES" "$out")
    if [ "$dropped" -gt 0 ]; then
      grep -vE "$TF_LINES" "$out" > "$out.kept"; mv "$out.kept" "$out"
      note "left out $dropped line(s) of TensorFlow start-up messages (stderr) from: $display (KEEP_TF_LOGS=1 keeps them)"
    fi
  fi
  cat "$out"
  [ -n "$(tail -c1 "$out")" ] && printf '\n'
  return 0
}

# --- the pages' files --------------------------------------------------------------------------------
cat > "$WORK/story.html" <<'HTML'
<!doctype html><html><head><title>Old bridge to close to cars | Town Gazette</title>
<script>trackVisit("This script is not a sentence.");</script></head><body>
<nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
<article><h1>Old bridge to close to cars</h1>
<p>The council voted on Tuesday to close the old bridge to cars from next spring.</p>
<p>Engineers found cracks in two of its supports in March.</p>
<p>Cyclists will still be able to cross.</p>
<p>A public meeting on the design of a new bridge is planned for June.</p></article>
<section class="comments"><h3>Comments</h3><p>Joe: What a terrible decision by the council.</p></section>
<footer>Copyright 2026 Town Gazette</footer></body></html>
HTML
block_in_page html "$ROOT/docs/web-pages.md" "$WORK/story.html" \
  || note "story.html here differs from docs/web-pages.md's html block: update one of them"
# "bridge.txt holds the four-sentence article of the API examples": the text of the first curl example, no newline after it.
ARTICLE='The council voted on Tuesday to close the old bridge to cars from next spring. Engineers found cracks in two of its supports in March. Cyclists will still be able to cross. A public meeting on the design of a new bridge is planned for June.'
printf '%s' "$ARTICLE" > "$WORK/bridge.txt"
TODAY=$(date -u +%F)

# === The API (README.md shows the first example, docs/api.md all of them) ================================
start_gunicorn $API_PORT api BRIEF_BIND=127.0.0.1:$API_PORT
example "curl -s 'localhost:8000/api/evaluate?top=2' -H 'Content-Type: text/plain; charset=utf-8' \\
    --data-binary '$ARTICLE'" > "$TMP/first-example.out"
example "curl -s 'localhost:8000/api/evaluate?words=25&avoid=questions&keywords=3' -H 'Content-Type: text/plain; charset=utf-8' \\
    --data-binary '$ARTICLE' | python3 -c 'import json, sys; d = json.load(sys.stdin); print({k: d[k] for k in (\"highlights\", \"budget\", \"keywords\")})'" \
  > "$TMP/budget-example.out"
{ fence_open; cat "$TMP/first-example.out"; echo; cat "$TMP/budget-example.out"; fence_close; } | save_block readme README.md
{
  fence_open
  cat "$TMP/first-example.out"
  echo
  cat "$TMP/budget-example.out"
  echo
  example "curl -s localhost:8000/api/evaluate -H 'Content-Type: application/json' \\
    -d '{\"articles\": [{\"text\": \"Rain fell all day. The river rose by a metre overnight.\"}, {\"text\": \"The shop opened at nine. Queues formed early.\"}], \"top\": 1, \"model\": \"luhn\"}'"
  echo
  example "curl -s localhost:8000/api/evaluate -H 'Content-Type: text/plain' --data-binary '   '"
  echo
  # The page shows /api/drift's first seven fields, in this order, as Python's json.dumps writes them.
  example "curl -s localhost:8000/api/drift      # (fields trimmed) too few live scores yet for a verdict" \
    "curl -s localhost:8000/api/drift | python3 -c 'import json, sys; d = json.load(sys.stdin); print(json.dumps({k: d[k] for k in (\"model\", \"status\", \"n\", \"reference_n\", \"psi\", \"ks\", \"ks_pvalue\")}))'"
  echo
  example "curl -s localhost:8000/metrics | grep -E '^brief_(requests_total\\{endpoint=\"/api/evaluate\"|sentence_score_count)'"
  fence_close
} | save_block api docs/api.md
stop_group "$SERVER_PID"

# === Web pages and URLs ================================================================================
(cd "$WORK" && exec setsid python3 -m http.server $PAGE_PORT --bind 127.0.0.1) > "$LOGS/http-server.log" 2>&1 &
PIDS+=("$!")
start_gunicorn $URL_PORT urls BRIEF_WORKERS=1 BRIEF_BIND=127.0.0.1:$URL_PORT BRIEF_FETCH_URLS=1 BRIEF_FETCH_ALLOW=127.0.0.1
curl -fs --max-time 10 -o /dev/null "http://127.0.0.1:$PAGE_PORT/story.html" || die "python3 -m http.server did not serve story.html on 127.0.0.1:$PAGE_PORT"
{
  fence_open
  example 'curl -s "localhost:18790/api/evaluate?top=2" -H "Content-Type: text/html; charset=utf-8" --data-binary @story.html'
  echo
  example "curl -s localhost:18790/api/evaluate -H 'Content-Type: application/json' -d '{\"url\": \"http://127.0.0.1:18791/story.html\", \"top\": 2, \"model\": \"luhn\"}'"
  echo
  example "curl -s localhost:18790/api/evaluate -H 'Content-Type: application/json' -d '{\"url\": \"http://[::ffff:a9fe:a9fe]/latest/meta-data/\"}'"
  echo
  example "curl -s localhost:18790/api/evaluate -H 'Content-Type: application/json' -d '{\"url\": \"http://localhost:18790/api/model\"}'"
  echo
  example "curl -s localhost:18790/api/evaluate -H 'Content-Type: text/html' --data-binary '<html><body><nav><a href=\"/\">Home</a> <a href=\"/news\">News</a></nav></body></html>'"
  echo
  example "curl -s localhost:18790/metrics | grep -E '^brief_fetches_total'"
  fence_close
} | save_block web-pages docs/web-pages.md

# === The brief command (in-process, and against the service above) =====================================
{
  fence_open
  example 'brief highlight --top 2 bridge.txt'
  example 'brief highlight --words 25 --keywords 3 bridge.txt'
  example 'brief highlight --top 2 --server http://localhost:18790 http://127.0.0.1:18791/story.html missing.html; echo "exit $?"'
  example 'cat story.html | brief highlight --json --top 1 --model luhn -'
  example 'brief highlight --top 0 bridge.txt; echo "exit $?"'
  fence_close
} | save_block cli docs/cli.md
for pid in "${PIDS[@]}"; do stop_group "$pid"; done  # the URL service and the page server: not needed below

# === From Python =======================================================================================
cat > "$TMP/snippet.py" <<'PY'
from app import highlight

page = open("story.html").read()
result = highlight(page, top=2)
print(result["title"])
for i in result["highlights"]:
    s = next(s for s in result["scored_article_sentences"] if s["index"] == i)
    print(f'{s["score"]:.3f}  {s["sent"]}')
PY
block_in_page python "$ROOT/docs/cli.md" "$TMP/snippet.py" \
  || note "the Python snippet here differs from docs/cli.md's python block: update one of them"
{
  # stdout only: TensorFlow's start-up messages on stderr are left out
  fence_open
  (cd "$WORK" && timeout "$STEP_TIMEOUT" python "$TMP/snippet.py") 2> "$LOGS/snippet.err" < /dev/null \
    || { note "the Python snippet failed:"; cat "$LOGS/snippet.err" >&2; }
  fence_close
} | save_block python docs/cli.md

# === Keys, rate limits and headers: the request log line ===============================================
# A key for the client "logger" (`brief keys new`: the key on line 1, the server's line on line 2), a
# one-worker server that wants keys, and one request with X-Request-ID client-1 and a 3-sentence article.
brief keys new logger > "$TMP/new-key" 2> /dev/null || die "brief keys new failed"
sed -n 2p "$TMP/new-key" > "$TMP/keys.txt"
start_gunicorn $LOG_PORT request-log BRIEF_WORKERS=1 BRIEF_BIND=127.0.0.1:$LOG_PORT BRIEF_API_KEYS_FILE="$TMP/keys.txt"
status=$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$LOG_PORT/api/evaluate" -H "X-API-Key: $(sed -n 1p "$TMP/new-key")" \
  -H 'X-Request-ID: client-1' -H 'Content-Type: text/plain' \
  --data-binary 'The Quetzalcoatlus flew over the harbour at dawn. Nobody saw it land. The gauge recorded nothing.')
[ "$status" = 200 ] || note "the logged request got $status, not 200"
line=""
for _ in $(seq 1 20); do
  line=$(grep -F '"request_id": "client-1"' "$LOGS/request-log.log" | head -1) && [ -n "$line" ] && break
  sleep 0.5
done
{
  # "time" shown as "...", as the page does; ms and worker vary
  fence_open
  if [ -n "$line" ]; then
    printf '%s\n' "$line" | sed -E 's/^\{"time": "[^"]*"/{"time": "..."/'
  else
    note "no log line with request_id client-1 in the server's output"
  fi
  fence_close
} | save_block request-log docs/operations/keys-and-limits.md
stop_group "$SERVER_PID"

emit_blocks
note "done in $((SECONDS - STARTED_AT)) s"
