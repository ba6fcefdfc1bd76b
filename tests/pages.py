"""Web pages written for the tests, and a real HTTP server on loopback that serves them.

Each page wraps the same kind of article in a different layout, with the boilerplate a real page
has: navigation, a cookie banner, comments, related links, share buttons, inline scripts. The
tests check that only ``ARTICLE_SENTENCES`` become sentences.
"""

from __future__ import annotations

import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

ARTICLE_SENTENCES = [
    "The council voted on Tuesday to close the old bridge to cars from next spring.",
    "Engineers found cracks in two of its supports during an inspection in March.",
    "Repairs would cost more than a new crossing, according to the council's own report.",
    "Cyclists and pedestrians will still be able to use the bridge while a replacement is designed.",
    "Local shops fear that fewer drivers will stop in the high street.",
    "A public meeting on the design of the new bridge is planned for June.",
]
TITLE = "Old bridge to close to cars"
# Words that appear only in the boilerplate: none may reach a sentence.
BOILERPLATE_MARKERS = ["cookie", "Accept", "Subscribe", "newsletter", "Comments", "Joe123", "Related", "parking fees",
                       "Share", "Copyright", "alert", "window.", "Home", "Sign in", "ferry", "Popular"]


def paragraphs(sentences: list[str], per: int = 2) -> str:
    return "\n".join(f"<p>{' '.join(sentences[i:i + per])}</p>" for i in range(0, len(sentences), per))


NEWS = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{TITLE} | The Town Gazette</title>
<script>window.dataLayer = []; function track() {{ alert("This tracking sentence must never be scored."); }}</script>
<style>.banner {{ position: fixed; }}</style></head>
<body>
<header><a href="/">The Town Gazette</a><nav><ul><li><a href="/">Home</a></li><li><a href="/news">News</a></li>
<li><a href="/sport">Sport</a></li><li><a href="/login">Sign in</a></li></ul></nav></header>
<div id="cookie-banner" class="cookie-consent banner">We use cookies to improve your experience. By continuing to browse
you agree to our cookie policy. <button>Accept all</button> <button>Manage settings</button></div>
<main><article><h1>{TITLE}</h1><p class="byline">By Sam Reporter</p>
{paragraphs(ARTICLE_SENTENCES[:3], 1)}
<script>document.write("<p>Injected by a script: this must never be scored.</p>");</script>
{paragraphs(ARTICLE_SENTENCES[3:], 1)}
<div class="share">Share this article: <a href="#">Facebook</a> <a href="#">Twitter</a> <a href="#">Email</a></div>
</article>
<aside class="related"><h3>Related stories</h3><ul><li><a href="/a">Council raises parking fees again</a></li>
<li><a href="/b">New ferry timetable announced for the summer</a></li></ul></aside>
<section id="comments" class="comments"><h3>Comments (2)</h3>
<div class="comment"><p>Joe123: This is a terrible decision by the council and everyone knows it.</p></div>
<div class="comment"><p>Ann: I cross that bridge every day and I think they are right.</p></div></section></main>
<footer><p>Copyright 2026 The Town Gazette. All rights reserved.</p><a href="/privacy">Privacy</a></footer>
</body></html>"""

BLOG = f"""<html><head><title>{TITLE}</title>
<script type="application/ld+json">{{"@type": "BlogPosting", "headline": "Structured data is not a sentence."}}</script>
</head><body class="blog">
<div class="top-menu"><ul class="menu"><li><a href="/">Home</a></li><li><a href="/about">About</a></li></ul></div>
<div class="wrapper"><div class="content"><div class="post">
<h2 class="post-title">{TITLE}</h2>
<div class="post-body entry-content">
{paragraphs(ARTICLE_SENTENCES, 3)}
</div>
<div class="newsletter-signup"><h4>Subscribe to our newsletter</h4><p>Get the week's news in your inbox every Friday.</p>
<form><input type="email"><button>Subscribe</button></form></div>
</div>
<div id="disqus_thread" class="comments-area"><h3>Comments</h3><ol class="comment-list">
<li class="comment"><p>Joe123 wrote: Great post, but I disagree with almost all of it honestly.</p></li></ol></div>
</div>
<div class="sidebar widget-area"><h3>Popular posts</h3><ul><li><a href="/x">Council raises parking fees again</a></li>
<li><a href="/y">The ferry is late once more this week</a></li></ul></div></div>
<div class="cookie-notice" role="dialog">This site uses cookies. <a href="#">Accept</a></div>
<script>var s = document.createElement("script"); s.src = "/tracker.js"; document.body.appendChild(s);</script>
</body></html>"""

PLAIN_DIVS = f"""<!DOCTYPE html><html><head><title>Town news: {TITLE}</title></head><body>
<div id="nav"><a href="/">Home</a> · <a href="/news">News</a> · <a href="/login">Sign in</a></div>
<div id="consent-popup" class="gdpr">Your privacy matters. We and our partners use cookies. <a>Accept</a></div>
<div id="main"><div class="story">
<h1>{TITLE}</h1>
<div class="story-text">{''.join(f'<div class="para">{s}</div>' for s in ARTICLE_SENTENCES)}</div>
<noscript>Please enable JavaScript to see the Comments.</noscript>
</div>
<div class="more"><h2>Related</h2><a href="/c">Council raises parking fees again</a>
<a href="/d">Ferry strike called off</a></div></div>
<div id="footer">Copyright 2026 Town News Ltd</div>
<script>(function () {{ alert("An inline script sentence. It must not be scored."); }})();</script>
</body></html>"""

LAYOUTS = {"news": NEWS, "blog": BLOG, "plain-divs": PLAIN_DIVS}

NO_ARTICLE = """<!doctype html><html><head><title>Home</title><script>var x = "A script sentence here.";</script></head>
<body><nav><a href="/">Home</a> <a href="/news">News</a> <a href="/sport">Sport</a></nav>
<div class="cookie-banner">We use cookies. <button>Accept</button></div><footer>Copyright 2026</footer></body></html>"""


class PageHandler(BaseHTTPRequestHandler):
    """Serves the pages, redirects, a PDF, an endless body and a stalled answer (see ``do_GET``)."""

    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:
        self.server.requests.append(self.path)

    def send(self, status: int, body: bytes, content_type: str = "text/html; charset=utf-8", **headers) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name.replace("_", "-"), value)
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        path = urlsplit(self.path).path
        parts = path.strip("/").split("/")
        if parts[0] == "page" and parts[1] in LAYOUTS:  # /page/<layout>
            self.send(200, LAYOUTS[parts[1]].encode())
        elif parts[0] == "redirect":  # /redirect/N: N more hops, then the news page
            hops = int(parts[1])
            location = f"/redirect/{hops - 1}" if hops > 1 else "/page/news"
            self.send(302, b"", Location=location)
        elif parts[0] == "to":  # /to/<url>: a redirect to anywhere
            self.send(301, b"", Location=path[len("/to/"):])
        elif path == "/paper.pdf":
            self.send(200, b"%PDF-1.4 not a web page", "application/pdf")
        elif path == "/endless":  # HTML that never ends, with no Content-Length
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            self.wfile.write(b"<html><body>")
            try:
                while not self.server.stopping.is_set():
                    self.wfile.write(b"<p>More words, again and again.</p>" * 1000)
            except OSError:  # the client stopped reading
                pass
            self.close_connection = True
        elif path == "/stall":  # accepts, then says nothing
            self.server.stopping.wait(30)
            self.close_connection = True
        elif path == "/empty":
            self.send(200, NO_ARTICLE.encode())
        else:
            self.send(404, b"<p>not found</p>")


class PageServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, host: str = "127.0.0.1"):
        super().__init__((host, 0), PageHandler)
        self.requests: list[str] = []
        self.stopping = threading.Event()
        self.thread = threading.Thread(target=self.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"

    def __enter__(self) -> "PageServer":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stopping.set()
        self.shutdown()
        self.server_close()


class Canary:
    """A loopback listener that counts the connections it gets (it answers none)."""

    def __init__(self):
        import socket

        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.sock.settimeout(0.05)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except OSError:
                continue
            self.accepted += 1
            conn.close()

    def __enter__(self) -> "Canary":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        time.sleep(0.1)  # a connection still in flight is counted
        self._stop.set()
        self._thread.join()
        self.sock.close()
