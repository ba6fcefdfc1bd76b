"""What every interface asks and answers, with no web framework: the request and answer shapes
(``schema``), the answer built from a highlighted article (``answer``), and the one call from articles
as given (text, HTML, URL) to answers (``highlighter``). The HTTP service, the ``brief`` command and
``app.highlight`` all go through it."""
