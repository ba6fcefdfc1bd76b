"""Turning what people have (a web page's HTML, a URL) into an article's text and title."""
