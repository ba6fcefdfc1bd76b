"""Safe to put on the internet: API keys, rate limits, request ids and logs, browser headers.

In-process tests (``make_client``) cover the rules one at a time; the slow ones run the real
thing: gunicorn with 2 workers, keys on, rate limits counted in a real redis-server of the test's
own, and CORS allowing one origin, which a real Chromium on two other loopback origins tries.
"""

from __future__ import annotations

import http.server
import json
import re
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from app import create_app
from app.server.auth import KeyRing, KeysFileError, new_key, parse_keys
from app.server.rate_limits import parse_budgets
from tests import soak
from tests.conftest import start_gunicorn, stop_gunicorn, wait_until_ready

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CLIENTS = ["alice", "ops", "counter", "patient", "reader", "logger", "browser", "soak-0", "soak-1", "soak-2"]
WINDOW = 10  # seconds of the test server's budgets
REQUESTS, SENTENCES = 20, 100
ARTICLE = ("The harbour council approved a new tide gauge on Monday. It will record the water level every minute. "
           "Fishermen say the old gauge often froze in winter. The new one is heated and reports over the network.")
slow = pytest.mark.slow


def write_keys(path: Path, names: list[str]) -> dict[str, str]:
    keys, lines = {}, ["# Brief's test clients"]
    for name in names:
        keys[name], line = new_key(name)
        lines.append(line)
    path.write_text("\n".join(lines) + "\n")
    return keys


def make_client(tmp_path, **settings):
    app = create_app({"TESTING": True, "MODEL_PATH": str(tmp_path / "none.h5"), "CARD_PATH": str(tmp_path / "none.json"),
                      "LOAD_IN_BACKGROUND": False, **settings})
    return app.test_client()


def request_log(text: str) -> list[dict]:
    """The JSON request-log lines in a server's output."""
    return [json.loads(line) for line in text.splitlines() if line.startswith('{"time"')]


# --- keys: making them, the file, the check ----------------------------------------------------------


def test_brief_keys_new_prints_the_key_then_its_line_for_the_keys_file():
    out = subprocess.run([sys.executable, "-m", "app.cli", "keys", "new", "news-desk"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    key, line = out
    assert key.startswith("brief_") and len(key) >= 40
    ring = parse_keys(line)
    assert [name for _, name in ring] == ["news-desk"]
    assert key not in line  # only its hash is stored
    again = subprocess.run([sys.executable, "-m", "app.cli", "keys", "new", "news-desk"], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.splitlines()
    assert again[0] != key  # random, not derived from the name


@pytest.mark.parametrize("name", ["", "two words", "_underscore-first", "x" * 65, "naïve", "a\nb"])
def test_brief_keys_new_refuses_a_name_the_file_could_not_hold(name):
    result = subprocess.run([sys.executable, "-m", "app.cli", "keys", "new", name], cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 2 and result.stdout == "" and "client name" in result.stderr


@pytest.mark.parametrize("text", ["sha256:abc alice", "alice sha256:" + "0" * 64, "sha256:" + "0" * 64,
                                  "sha256:" + "G" * 64 + " alice", "md5:" + "0" * 32 + " alice"])
def test_a_malformed_keys_file_stops_the_service_from_starting(tmp_path, text):
    (tmp_path / "keys").write_text(f"# fine\n\n{text}\n")
    with pytest.raises(KeysFileError, match="line 3"):
        make_client(tmp_path, API_KEYS_FILE=str(tmp_path / "keys"))


def test_a_missing_keys_file_stops_the_service_from_starting(tmp_path):
    with pytest.raises(KeysFileError, match="cannot read"):
        make_client(tmp_path, API_KEYS_FILE=str(tmp_path / "missing"))


def test_keys_are_added_and_revoked_by_editing_the_file_without_a_restart(tmp_path):
    keys_file = tmp_path / "keys"
    keys = write_keys(keys_file, ["alice", "bob"])
    client = make_client(tmp_path, API_KEYS_FILE=str(keys_file))

    def status(key):
        return client.post("/api/evaluate", data="A b.", headers={"Content-Type": "text/plain", "X-API-Key": key}).status_code

    assert status(keys["alice"]) == 503 and status(keys["bob"]) == 503  # past the key check; no model here
    carol, carol_line = new_key("carol")
    keys_file.write_text(keys_file.read_text().replace(parse_line(keys_file, "bob"), carol_line))
    assert status(carol) == 503 and status(keys["bob"]) == 401 and status(keys["alice"]) == 503
    keys_file.write_text(keys_file.read_text() + "not a key line\n")  # a broken edit keeps the keys in force
    assert status(carol) == 503 and status(keys["alice"]) == 503


def parse_line(keys_file: Path, name: str) -> str:
    return next(line for line in keys_file.read_text().splitlines() if line.endswith(" " + name))


HOSTILE_CREDENTIALS = [
    {},
    {"Authorization": "Bearer"},
    {"Authorization": "Bearer    "},
    {"Authorization": "Basic YWxpY2U6c2VjcmV0"},
    {"Authorization": "Bearer " + "x" * 4000},
    {"Authorization": "Bearer brief_\u00e9\u00e8"},  # latin-1 bytes in the header
    {"Authorization": "Bearer \x00\x01"},
    {"X-API-Key": ""},
    {"X-API-Key": "' OR 1=1 --"},
    {"X-API-Key": "sha256:" + "0" * 64},  # a line of the file is not a key
]


@pytest.mark.parametrize("headers", HOSTILE_CREDENTIALS, ids=range(len(HOSTILE_CREDENTIALS)))
def test_hostile_credentials_get_401_in_the_json_shape_never_a_crash(tmp_path, headers):
    keys_file = tmp_path / "keys"
    keys = write_keys(keys_file, ["alice"])
    (tmp_path / "keys").write_text(keys_file.read_text() + f"sha256:{'0' * 64} zero\n")
    client = make_client(tmp_path, API_KEYS_FILE=str(keys_file))
    response = client.post("/api/evaluate", data="A b.", headers={"Content-Type": "text/plain", **headers})
    assert response.status_code == 401
    assert response.json["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"].startswith('Bearer realm="brief"')
    assert keys["alice"] not in response.get_data(as_text=True)


def test_a_wrong_key_of_the_right_length_takes_as_long_as_the_right_one(tmp_path):
    """No early exit: the time of the check is the same for the right key, a wrong key that shares
    all but its last character with it, and one that shares nothing (medians of interleaved rounds)."""
    keys_file = tmp_path / "keys"
    keys = write_keys(keys_file, [f"client-{i}" for i in range(50)])
    ring = KeyRing.load(keys_file)
    right = keys["client-25"]
    near = right[:-1] + ("A" if right[-1] != "A" else "B")
    far = "brief_" + "Z" * (len(right) - 6)
    candidates = {"right": right, "near": near, "far": far}
    assert ring.identify(right) == "client-25" and ring.identify(near) is None and ring.identify(far) is None
    rounds: dict[str, list[float]] = {name: [] for name in candidates}
    for _ in range(300):
        for name, key in candidates.items():
            started = time.perf_counter_ns()
            for _ in range(20):
                ring.identify(key)
            rounds[name].append(time.perf_counter_ns() - started)
    medians = {name: statistics.median(times) for name, times in rounds.items()}
    for name in ("near", "far"):
        assert 0.8 < medians[name] / medians["right"] < 1.25, medians


def test_open_endpoints_need_no_key_and_ops_need_one_only_when_protected(tmp_path):
    keys_file = tmp_path / "keys"
    keys = write_keys(keys_file, ["alice"])
    for protect_ops, ops_status in ((False, {200, 503}), (True, {401})):
        client = make_client(tmp_path, API_KEYS_FILE=str(keys_file), PROTECT_OPS=protect_ops)
        for path in ("/", "/static/brief.js", "/api/samples", "/api/health", "/openapi.json"):
            assert client.get(path).status_code == 200, path
        assert client.get("/api/ready").status_code == 503  # open: it says why, not 401 (no model here)
        for path in ("/metrics", "/api/model", "/api/drift"):
            assert client.get(path).status_code in ops_status, (path, protect_ops)
            assert client.get(path, headers={"X-API-Key": keys["alice"]}).status_code in {200, 503}, path
        assert client.post("/api/evaluate", data="A b.", headers={"Content-Type": "text/plain"}).status_code == 401


# --- rate limits ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("setting", ["60", "60 requests", "60 requests/fortnight", "0 requests/minute",
                                     "5 requests/minute, 6 requests/hour", "10 words/minute"])
def test_a_rate_limit_setting_it_cannot_read_stops_the_start(tmp_path, setting):
    with pytest.raises(ValueError, match="RATE_LIMIT"):
        make_client(tmp_path, RATE_LIMIT=setting)


def test_rate_limit_settings_read_requests_and_sentences_per_window():
    budgets = parse_budgets("60 requests/minute, 20000 sentences / 10 minutes")
    assert (budgets["requests"].amount, budgets["requests"].get_expiry()) == (60, 60)
    assert (budgets["sentences"].amount, budgets["sentences"].get_expiry()) == (20000, 600)
    assert parse_budgets("") == {}


def test_without_keys_the_budget_is_per_client_address(tmp_path):
    client = make_client(tmp_path, RATE_LIMIT="2 requests/minute")

    def post(addr):
        return client.post("/api/evaluate", data="A b.", headers={"Content-Type": "text/plain"},
                           environ_base={"REMOTE_ADDR": addr})

    assert [post("10.0.0.1").status_code for _ in range(3)] == [503, 503, 429]
    assert post("10.0.0.2").status_code == 503  # another address has its own budget
    assert client.get("/api/health", environ_base={"REMOTE_ADDR": "10.0.0.1"}).status_code == 200


def test_forwarded_addresses_count_only_behind_a_configured_proxy(tmp_path):
    def statuses(client, forwarded):
        return [client.post("/api/evaluate", data="A b.", environ_base={"REMOTE_ADDR": "10.0.0.9"},
                            headers={"Content-Type": "text/plain", "X-Forwarded-For": f}).status_code for f in forwarded]

    direct = make_client(tmp_path, RATE_LIMIT="1 requests/minute")
    assert statuses(direct, ["1.1.1.1", "2.2.2.2"]) == [503, 429]  # a client cannot pick its own address
    proxied = make_client(tmp_path, RATE_LIMIT="1 requests/minute", PROXIES=1)
    assert statuses(proxied, ["1.1.1.1", "2.2.2.2", "1.1.1.1", "6.6.6.6, 2.2.2.2"]) == [503, 503, 429, 429]


def test_an_unreachable_store_lets_requests_through_and_says_so_in_the_log(tmp_path, caplog):
    from tests.conftest import free_port

    client = make_client(tmp_path, RATE_LIMIT="1 requests/minute", RATE_LIMIT_STORAGE=f"redis://127.0.0.1:{free_port()}/0")
    statuses = [client.post("/api/evaluate", data="A b.", headers={"Content-Type": "text/plain"}).status_code
                for _ in range(3)]
    assert statuses == [503, 503, 503]  # not 429, not 500: no model here, and no limit without the store
    assert "rate limits not applied" in caplog.text


# --- request ids and browser headers ---------------------------------------------------------------


@pytest.mark.parametrize("sent, kept", [("abc-123", True), ("a" * 128, True), ("trace:01/x=y+z@h", True),
                                        ("a" * 129, False), ("has space", False), ("<script>", False), ("", False),
                                        ("é", False)])
def test_a_sane_request_id_is_echoed_and_any_other_replaced(tmp_path, sent, kept):
    client = make_client(tmp_path)
    echoed = client.get("/api/health", headers={"X-Request-ID": sent}).headers["X-Request-ID"]
    assert (echoed == sent) if kept else re.fullmatch(r"[0-9a-f]{32}", echoed)


def test_each_request_writes_one_json_log_line_without_the_article_or_the_query(tmp_path, capsys):
    keys_file = tmp_path / "keys"
    keys = write_keys(keys_file, ["alice"])
    client = make_client(tmp_path, API_KEYS_FILE=str(keys_file))
    capsys.readouterr()
    client.post("/api/evaluate?title=Secret+Title", data="Zanzibar is the secret word. Another sentence.",
                headers={"Content-Type": "text/plain", "X-API-Key": keys["alice"], "X-Request-ID": "req-1"})
    client.get("/api/health")
    err = capsys.readouterr().err
    lines = request_log(err)
    assert len(lines) == 2
    assert lines[0]["request_id"] == "req-1" and lines[0]["client"] == "alice" and lines[0]["status"] == 503
    assert lines[0]["path"] == "/api/evaluate" and lines[1]["path"] == "/api/health" and lines[1]["client"] is None
    assert set(lines[0]) == {"time", "request_id", "client", "addr", "method", "path", "status", "sentences", "ms",
                             "model", "worker"}
    assert "Zanzibar" not in err and "Secret" not in err


def test_every_response_carries_the_browser_headers(tmp_path):
    client = make_client(tmp_path)
    for response in (client.get("/"), client.get("/api/health"), client.get("/nowhere"),
                     client.post("/api/evaluate", data="x", headers={"Content-Type": "text/html"})):
        csp = response.headers["Content-Security-Policy"]
        assert "default-src 'none'" in csp and "script-src 'self'" in csp and "style-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert response.headers["X-Content-Type-Options"] == "nosniff"
        assert response.headers["X-Frame-Options"] == "DENY"
        assert response.headers["Referrer-Policy"] == "no-referrer"
        assert "Access-Control-Allow-Origin" not in response.headers  # no CORS unless configured
        assert re.fullmatch(r"[0-9a-f]{32}", response.headers["X-Request-ID"])


def test_the_page_has_no_inline_script_or_style_for_the_policy_to_block():
    html = (ROOT / "app" / "templates" / "index.html").read_text()
    assert not re.search(r"<script(?![^>]*\bsrc=)", html) and "<style" not in html
    assert not re.search(r"\sstyle=|\son[a-z]+=", html)


def test_cors_answers_only_the_configured_origins(tmp_path):
    closed = make_client(tmp_path)
    assert "Access-Control-Allow-Origin" not in closed.get("/api/health", headers={"Origin": "https://a.example"}).headers
    client = make_client(tmp_path, CORS_ORIGINS="https://a.example, https://b.example/")
    allowed = client.get("/api/health", headers={"Origin": "https://b.example"})
    assert allowed.headers["Access-Control-Allow-Origin"] == "https://b.example"
    assert "X-Request-ID" in allowed.headers["Access-Control-Expose-Headers"]
    assert "Origin" in allowed.headers["Vary"]
    for origin in ("https://c.example", "https://a.example.evil.test", "null", "http://a.example"):
        assert "Access-Control-Allow-Origin" not in client.get("/api/health", headers={"Origin": origin}).headers
    preflight = client.options("/api/evaluate", headers={"Origin": "https://a.example",
                                                         "Access-Control-Request-Method": "POST",
                                                         "Access-Control-Request-Headers": "authorization, content-type"})
    assert preflight.status_code == 200
    assert "Authorization" in preflight.headers["Access-Control-Allow-Headers"]
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in client.get("/", headers={"Origin": "https://a.example"}).headers


# --- the real thing: gunicorn with 2 workers, a real Redis, a real browser --------------------------------


class PageServer:
    """A loopback HTTP server that serves one blank page: another origin, for the CORS tests."""

    def __init__(self):
        class Blank(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                body = b"<!doctype html><title>elsewhere</title>"
                self.send_response(200)
                self.send_header("Content-Type", "text/html")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Blank)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def origins():
    allowed, other = PageServer(), PageServer()
    yield allowed, other
    allowed.close()
    other.close()


@pytest.fixture(scope="module")
def secure(tmp_path_factory, redis_url, origins):
    """gunicorn, 2 workers: keys on (ops too), budgets counted in Redis, CORS for one page origin."""
    folder = tmp_path_factory.mktemp("secure")
    keys = write_keys(folder / "keys", CLIENTS)
    server = start_gunicorn(folder / "gunicorn.log", tmp_path_factory.mktemp("prometheus-secure"),
                            API_KEYS_FILE=str(folder / "keys"), PROTECT_OPS="true",
                            RATE_LIMIT=f"{REQUESTS} requests/{WINDOW} seconds, {SENTENCES} sentences/{WINDOW} seconds",
                            RATE_LIMIT_STORAGE=redis_url, CORS_ORIGINS=origins[0].url)
    try:
        wait_until_ready(server, 300)
        server.keys = keys
        yield server
    finally:
        stop_gunicorn(server)


def post(server, key=None, text=ARTICLE, **headers):
    if key:
        headers["Authorization"] = f"Bearer {key}"
    return requests.post(server.url + "/api/evaluate", data=text.encode(), timeout=120,
                         headers={"Content-Type": "text/plain", "Connection": "close", **headers})


@slow
def test_gunicorn_refuses_a_request_without_a_valid_key_and_serves_one_with_it(secure):
    key = secure.keys["alice"]
    response = post(secure)
    assert response.status_code == 401 and response.json()["error"]["code"] == "unauthorized"
    assert response.headers["WWW-Authenticate"] == 'Bearer realm="brief"'
    assert post(secure, "brief_" + "x" * (len(key) - 6)).status_code == 401
    served = post(secure, key)
    assert served.status_code == 200 and len(served.json()["highlights"]) == 4
    assert int(served.headers["RateLimit-Limit"]) in (REQUESTS, SENTENCES)
    assert requests.post(secure.url + "/api/evaluate", data=ARTICLE.encode(), timeout=120,
                         headers={"Content-Type": "text/plain", "X-API-Key": key}).status_code == 200


@slow
def test_a_request_refused_before_its_body_arrives_still_gets_the_answer(secure):
    """The server decides 401 from the headers alone; the client sends its body after that (a slow
    network, a busy client). The answer must still reach it, not a reset connection: the server reads
    the body it will not use before it answers and closes."""
    import socket

    host, port = secure.url.removeprefix("http://").split(":")
    body = b"x" * 200_000
    with socket.create_connection((host, int(port)), timeout=30) as sock:
        sock.sendall(b"POST /api/evaluate HTTP/1.1\r\nHost: brief\r\nConnection: close\r\n"
                     b"Content-Type: text/plain\r\nAuthorization: Bearer wrong\r\n"
                     b"Content-Length: %d\r\n\r\n" % len(body))
        for start in range(0, len(body), 50_000):  # a slow client: the server has decided before the first piece
            time.sleep(0.3)
            sock.sendall(body[start:start + 50_000])
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    assert answer.startswith(b"HTTP/1.1 401"), answer[:200]
    assert b'"unauthorized"' in answer


def test_a_body_the_handler_read_is_not_read_again(client, monkeypatch):
    """Draining is for bodies left unread: a request whose body was read (the usual case) starts one
    body deadline (and its timer thread), not a second one after the answer."""
    from app.server import body

    deadlines = []

    class Counted(body.BodyDeadline):
        def __init__(self, *args, **kwargs):
            deadlines.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(body, "BodyDeadline", Counted)
    answer = client.post("/api/evaluate", data="  \n ", content_type="text/plain")  # read, then refused: no words
    assert answer.status_code == 422 and len(deadlines) == 1
    deadlines.clear()
    answer = client.post("/api/evaluate", data="x", content_type="application/xml")  # refused unread: drained
    assert answer.status_code == 415 and len(deadlines) == 1


@slow
def test_gunicorn_keeps_health_ready_and_the_page_open_however_often_they_are_asked(secure):
    for _ in range(2 * REQUESTS):
        for path in ("/api/health", "/api/ready"):
            assert requests.get(secure.url + path, timeout=10).status_code == 200
    for path in ("/", "/static/brief.js", "/static/brief.css", "/api/samples", "/openapi.json"):
        assert requests.get(secure.url + path, timeout=10).status_code == 200
    for path in ("/metrics", "/api/model", "/api/drift"):  # PROTECT_OPS is on
        assert requests.get(secure.url + path, timeout=10).status_code == 401
        assert requests.get(secure.url + path, timeout=10,
                            headers={"X-API-Key": secure.keys["ops"]}).status_code == 200


@slow
def test_the_request_budget_is_counted_across_both_workers(secure):
    key, sent = secure.keys["counter"], 2 * REQUESTS
    started = time.monotonic()

    def ask(_):
        r = requests.get(secure.url + "/api/model", headers={"X-API-Key": key, "Connection": "close"}, timeout=10)
        return r.status_code, r.headers

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(ask, range(sent)))
    assert time.monotonic() - started < WINDOW  # all within one window
    statuses = [status for status, _ in answers]
    assert statuses.count(200) == REQUESTS and statuses.count(429) == sent - REQUESTS, statuses
    for status, headers in answers:
        if status == 429:
            assert 1 <= int(headers["Retry-After"]) <= WINDOW
            assert headers["RateLimit-Remaining"] == "0" and headers["RateLimit-Limit"] == str(REQUESTS)
    # Both workers answered this client, so each alone would have granted up to the whole budget.
    time.sleep(0.5)
    lines = [line for line in request_log(secure.log_text()) if line["client"] == "counter"]
    assert len(lines) == sent and {line["status"] for line in lines} == {200, 429}
    assert len({line["worker"] for line in lines}) == 2


@slow
def test_a_client_that_waits_retry_after_is_served_again(secure):
    key = secure.keys["patient"]
    answers = [requests.get(secure.url + "/api/model", headers={"X-API-Key": key}, timeout=10)
               for _ in range(REQUESTS + 1)]
    refused = answers[-1]
    assert [a.status_code for a in answers[:-1]] == [200] * REQUESTS and refused.status_code == 429
    body = refused.json()["error"]
    assert body["code"] == "rate_limited" and refused.headers["Retry-After"] in body["message"]
    wait = int(refused.headers["Retry-After"])
    assert requests.get(secure.url + "/api/model", headers={"X-API-Key": key}, timeout=10).status_code == 429
    time.sleep(wait)
    assert requests.get(secure.url + "/api/model", headers={"X-API-Key": key}, timeout=10).status_code == 200


@slow
def test_the_sentence_budget_counts_scored_sentences(secure):
    key = secure.keys["reader"]
    text = " ".join(f"Sentence {i} is about the harbour." for i in range(40))
    # Sent together, so that all three fall in one window however slowly each is scored: two fit in 100.
    with ThreadPoolExecutor(3) as pool:
        answers = list(pool.map(lambda _: post(secure, key, text), range(3)))
    assert sorted(a.status_code for a in answers) == [200, 200, 429]
    served = [a for a in answers if a.status_code == 200]
    assert {a.headers["RateLimit-Limit"] for a in served} == {str(SENTENCES)}
    # what was left when each answer was made: 60 after one charge, 20 after both (if both came first)
    assert {a.headers["RateLimit-Remaining"] for a in served} <= {"60", "20"}
    refused = next(a for a in answers if a.status_code == 429)
    assert refused.json()["error"]["code"] == "rate_limited" and "sentences" in refused.json()["error"]["message"]
    assert 1 <= int(refused.headers["Retry-After"]) <= WINDOW
    too_big = post(secure, key, " ".join(f"Line {i} is here." for i in range(SENTENCES + 1)))
    assert too_big.status_code == 413 and too_big.json()["error"]["code"] == "too_many_sentences"


@slow
def test_every_request_has_a_unique_id_in_its_log_line_and_the_log_never_holds_the_article(secure):
    key, marker = secure.keys["logger"], "Quetzalcoatlus"
    text = f"The {marker} flew over the harbour at dawn. Nobody saw it land. The gauge recorded nothing."
    responses = [post(secure, key, text, **({"X-Request-ID": f"client-{i}"} if i % 2 else {})) for i in range(6)]
    responses += [requests.post(secure.url + "/api/evaluate?title=" + marker, data=text.encode(), timeout=60,
                                headers={"Content-Type": "text/plain", "X-API-Key": key})]
    ids = [r.headers["X-Request-ID"] for r in responses]
    assert len(set(ids)) == len(ids) and ids[1] == "client-1"
    time.sleep(0.5)
    log_text = secure.log_text()
    lines = {line["request_id"]: line for line in request_log(log_text)}
    for response, request_id in zip(responses, ids):
        line = lines[request_id]
        assert line["client"] == "logger" and line["status"] == response.status_code == 200
        assert line["path"] == "/api/evaluate" and line["sentences"] == 3 and line["ms"] > 0
        assert line["model"] == response.json()["model"] and isinstance(line["worker"], int)
    assert marker not in log_text


@slow
def test_the_openapi_description_lists_401_and_429_where_they_apply(secure):
    spec = requests.get(secure.url + "/openapi.json", timeout=10).json()
    evaluate = spec["paths"]["/api/evaluate"]["post"]
    assert {"401", "429"} <= set(evaluate["responses"]) and evaluate["security"]
    assert {"401", "429"} <= set(spec["paths"]["/metrics"]["get"]["responses"])
    assert "401" not in spec["paths"]["/api/health"]["get"]["responses"]
    assert set(spec["components"]["securitySchemes"]) == {"bearer", "apiKey"}


@slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
def test_a_page_on_another_origin_reads_api_answers_only_if_its_origin_is_allowed(secure, origins):
    sync_api = pytest.importorskip("playwright.sync_api")
    script = """async ([url, key]) => {
        try {
            const r = await fetch(url + "/api/evaluate", {method: "POST", body: "One sentence. Another one.",
                headers: {"Content-Type": "text/plain", "Authorization": "Bearer " + key}});
            return {status: r.status, model: (await r.json()).model, id: r.headers.get("X-Request-ID")};
        } catch (e) { return {error: String(e)}; }
    }"""
    simple = """async (url) => {
        try { const r = await fetch(url + "/api/health"); return {status: r.status, body: await r.text()}; }
        catch (e) { return {error: String(e)}; }
    }"""
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            allowed, other = origins
            page.goto(allowed.url)
            answer = page.evaluate(script, [secure.url, secure.keys["browser"]])
            assert answer.get("status") == 200 and answer.get("model") and answer.get("id"), answer
            page.goto(other.url)
            assert "error" in page.evaluate(script, [secure.url, secure.keys["browser"]])
            assert "error" in page.evaluate(simple, secure.url)  # even an open endpoint's answer is unreadable
        finally:
            browser.close()


@slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium (apt-get install chromium)")
def test_the_reader_page_asks_for_a_key_when_the_server_wants_one_and_uses_it(secure):
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            page.add_init_script("window.cspViolations = []; document.addEventListener('securitypolicyviolation',"
                                 " e => window.cspViolations.push(e.violatedDirective));")
            page.goto(secure.url + "/")
            page.wait_for_selector("body[data-ready=true]")
            assert not page.is_visible("#api-key")
            page.select_option("#sample", index=1)
            with page.expect_response(lambda r: r.url.endswith("/api/evaluate")) as refused:
                page.click("#submit")
            assert refused.value.status == 401
            page.wait_for_selector("#api-key", state="visible")
            assert "API key" in page.text_content("#status")
            page.fill("#api-key", secure.keys["browser"])
            with page.expect_response(lambda r: r.url.endswith("/api/evaluate")) as served:
                page.click("#submit")
            assert served.value.status == 200
            page.wait_for_function("() => document.body.dataset.model")
            assert page.locator("#article .tier-1").count() == 5
            assert page.evaluate("sessionStorage.getItem('brief-api-key')") == secure.keys["browser"]
            assert page.evaluate("window.cspViolations") == []
        finally:
            browser.close()


@slow
def test_a_short_soak_with_keys_and_budgets_gets_no_5xx_and_a_429_only_when_over_budget(secure, tmp_path):
    """The soak of docs/operations/keys-and-limits.md (50 clients, 60 s) in small: 10 clients for 10 s, sharing 3 keys."""
    keys_file = tmp_path / "client-keys"
    keys_file.write_text("".join(secure.keys[f"soak-{i}"] + "\n" for i in range(3)))
    out = tmp_path / "soak.json"
    rc = soak.main(["--url", secure.url, "--master-pid", str(secure.process.pid), "--clients", "10", "--duration", "10",
                    "--keys-file", str(keys_file), "--log", str(secure.log), "--out", str(out),
                    "--rate-limit", f"{REQUESTS} requests/{WINDOW} seconds, {SENTENCES} sentences/{WINDOW} seconds"])
    report = json.loads(out.read_text())
    assert report["status_5xx"] == 0 and report["connection_errors"] == 0 and report["unexpected_status"] == 0, \
        report["errors_sample"]
    assert report["status_429"] > 0 and report["by_kind"]["no-key"]["statuses"].keys() == {"401"}
    assert report["request_ids_missing"] == 0 and report["request_ids_repeated"] == 0
    assert report["request_log"]["ids_not_in_log"] == 0 and report["request_log"]["ids_repeated_in_log"] == 0
    assert report["budgets"]["clients"] >= 3  # the soak's 3, and the earlier tests' clients in the same log
    assert report["budgets"]["windows_over_budget"] == [] and report["budgets"]["refusals_with_room"] == []
    assert rc == 0
