"""One settings class for the service, gunicorn and the command line: typed, checked at start, named in errors."""

import os
import subprocess
import sys

import pytest

from app import create_app
from app.settings import ROOT, Settings, SettingsError


def test_each_setting_is_read_from_its_brief_variable_with_its_type():
    settings = Settings.load({"BRIEF_MAX_ARTICLES": "32", "BRIEF_FETCH_URLS": "1", "BRIEF_PROTECT_OPS": "true",
                              "BRIEF_FETCH_TIMEOUT": "2.5", "BRIEF_FETCH_ALLOW": "127.0.0.1", "OTHER": "x"})
    assert settings.MAX_ARTICLES == 32 and settings.FETCH_URLS is True and settings.PROTECT_OPS is True
    assert settings.FETCH_TIMEOUT == 2.5 and settings.FETCH_ALLOW == "127.0.0.1"
    assert Settings.load({}) == Settings()


def test_the_encoder_precision_is_auto_unless_named_in_any_case():
    assert Settings.load({}).ENCODER_PRECISION == "auto"
    assert Settings.load({"BRIEF_ENCODER_PRECISION": "BFloat16"}).ENCODER_PRECISION == "BFloat16"  # the encoder lowercases


def test_overrides_win_over_the_environment():
    assert Settings.load({"BRIEF_MAX_ARTICLES": "32"}, {"MAX_ARTICLES": 4}).MAX_ARTICLES == 4


def test_the_recycle_jitter_defaults_to_a_fifth_of_max_requests():
    assert Settings.load({"BRIEF_MAX_REQUESTS": "100"}).max_requests_jitter == 20
    assert Settings.load({"BRIEF_MAX_REQUESTS": "100", "BRIEF_MAX_REQUESTS_JITTER": "0"}).max_requests_jitter == 0


@pytest.mark.parametrize("name, value, message", [
    ("BRIEF_WORKERS", "two", "BRIEF_WORKERS must be a whole number, not 'two'"),
    ("BRIEF_WORKERS", "0", "BRIEF_WORKERS must be at least 1"),
    ("BRIEF_MAX_ARTICLES", "1.5", "BRIEF_MAX_ARTICLES must be a whole number"),
    ("BRIEF_FETCH_URLS", "maybe", "BRIEF_FETCH_URLS must be true or false"),
    ("BRIEF_BODY_TIMEOUT", "soon", "BRIEF_BODY_TIMEOUT must be a number"),
    ("BRIEF_LOG_LEVEL", "loud", "BRIEF_LOG_LEVEL must be one of DEBUG, INFO"),
    ("BRIEF_ENCODER_PRECISION", "int8", "BRIEF_ENCODER_PRECISION must be one of auto, float32, bfloat16"),
])
def test_a_bad_value_is_refused_with_the_variable_named(name, value, message):
    with pytest.raises(SettingsError, match=message):
        Settings.load({name: value})


def test_create_app_refuses_a_bad_setting(monkeypatch):
    monkeypatch.setenv("BRIEF_MAX_SENTENCES", "lots")
    with pytest.raises(SettingsError, match="BRIEF_MAX_SENTENCES"):
        create_app({"TESTING": True})


def test_gunicorn_stops_at_start_on_a_bad_setting_and_says_which():
    env = {**os.environ, "BRIEF_THREADS": "many", "BRIEF_BIND": "127.0.0.1:0"}
    result = subprocess.run([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:create_app()"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "BRIEF_THREADS must be a whole number, not 'many'" in result.stderr
