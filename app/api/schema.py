"""The request and response shapes of ``POST /api/evaluate`` (and the other endpoints), defined once.

Every interface asks and answers in these shapes: the HTTP API, the ``brief`` command and
``app.highlight``. pydantic models: validation, its error messages and ``/openapi.json``
(``app.server.openapi``) all come from these. A validation error becomes one ``APIError`` with a stable code:

| what is wrong | status | code |
|---|---|---|
| ``top`` | 422 | ``invalid_top`` |
| ``model`` | 422 | ``unknown_model`` |
| two budgets (``top``, ``words``, ``chars``, ``ratio``), or one out of its range | 422 | ``invalid_budget`` |
| ``avoid`` naming a kind other than quotes, questions, exclamations | 422 | ``invalid_avoid`` |
| ``keywords`` not a whole number from 0 to 30 | 422 | ``invalid_keywords`` |
| an article that is empty or only whitespace | 422 | ``empty_article`` |
| a string with a lone surrogate (JSON escapes can smuggle one in) | 400 | ``invalid_utf8`` |
| more articles than ``MAX_ARTICLES`` | 413 | ``too_many_articles`` |
| anything else (shape, types, not exactly one of text/html/url) | 422 | ``invalid_request`` |
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, TypeAdapter, ValidationError, model_validator
from pydantic_core import PydanticCustomError

from app.core.options import AVOID, BUDGETS, MAX_KEYWORDS, MODELS, Options
from app.errors import APIError

SOURCES = ("text", "html", "url")  # an article comes as exactly one of these


def whole_number(value: Any) -> Any:
    """JSON's 3.0 is a whole number too; 3.5 and true are not (checked strictly after this)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Top = Annotated[int, Field(strict=True, ge=1, description="how many highlights (default 5)"),
                BeforeValidator(whole_number)]
Model = Annotated[Literal[MODELS], Field(description="the trained LSTM, or Luhn's method")]
Words = Annotated[int, Field(strict=True, ge=1, description="the best highlights whose words together fit in this "
                             "(at least one highlight); instead of top"), BeforeValidator(whole_number)]
Chars = Annotated[int, Field(strict=True, ge=1, description="the same in characters; instead of top"),
                  BeforeValidator(whole_number)]
Ratio = Annotated[float, Field(gt=0, le=1, description="ceil(ratio x sentences) highlights; instead of top")]
Avoid = Annotated[list[Literal[AVOID]], Field(description="never highlight such sentences (still scored): quotes "
                                                          "(mostly inside quotation marks), questions, exclamations")]
Keywords = Annotated[int, Field(strict=True, ge=0, le=MAX_KEYWORDS,
                                description="how many key phrases to add to the answer (default 0: none)"),
                     BeforeValidator(whole_number)]


class Article(BaseModel):
    """One article, as exactly one of ``text``, ``html`` (a web page) or ``url`` (fetched by the server)."""

    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": [s]} for s in SOURCES]})

    text: str = Field(None, min_length=1, description="the article as plain text; must hold a word")
    html: str = Field(None, min_length=1, description="a web page: its article's text and title are extracted")
    url: str = Field(None, min_length=1, max_length=2048,
                     description="an http(s) page the server fetches, where BRIEF_FETCH_URLS is on")
    title: str | None = Field(None, description="the title (for HTML and URLs, the page's own by default)")

    @model_validator(mode="after")
    def exactly_one_source(self) -> "Article":
        given = [s for s in SOURCES if getattr(self, s) is not None]
        if len(given) != 1:
            raise PydanticCustomError("one_source", "an article needs exactly one of text, html or url, not {given}",
                                      {"given": given or "none"})
        if not getattr(self, given[0]).strip():
            raise PydanticCustomError("empty_article", "the {source} is empty or only whitespace", {"source": given[0]})
        return self

    @property
    def source(self) -> str:
        return next(s for s in SOURCES if getattr(self, s) is not None)


class RequestOptions(BaseModel):
    """What a request asks of the highlights: JSON fields, query parameters, ``brief`` flags and
    ``app.highlight`` arguments of the same names. Unset, each takes the service's default.

    At most one budget (``top``, ``words``, ``chars``, ``ratio``); without one, ``top``'s default holds.
    """

    top: Top = None
    model: Model = None
    words: Words = None
    chars: Chars = None
    ratio: Ratio = None
    avoid: Avoid = None
    keywords: Keywords = None

    @model_validator(mode="after")
    def one_budget(self) -> "RequestOptions":
        given = [unit for unit in BUDGETS if getattr(self, unit) is not None]
        if len(given) > 1:
            raise PydanticCustomError("invalid_budget", "ask for one budget at most, not {given}",
                                      {"given": " and ".join(given)})
        return self

    def options(self, defaults: Options) -> Options:
        """These options, with ``defaults`` for what is unset; a budget set here replaces the defaults' budget."""
        budget = ({unit: getattr(self, unit) for unit in BUDGETS if getattr(self, unit) is not None}
                  or {unit: getattr(defaults, unit) for unit in BUDGETS})
        return Options(top=budget.get("top") or defaults.top, model=self.model or defaults.model,
                       words=budget.get("words"), chars=budget.get("chars"), ratio=budget.get("ratio"),
                       avoid=defaults.avoid if self.avoid is None else tuple(dict.fromkeys(self.avoid)),
                       keywords=defaults.keywords if self.keywords is None else self.keywords)


class SingleRequest(Article, RequestOptions):
    """One article and the options."""

    # A body with "articles" is a batch, whatever else it holds.
    model_config = ConfigDict(json_schema_extra={"oneOf": [{"required": [s]} for s in SOURCES],
                                                 "not": {"required": ["articles"]}})


class BatchRequest(RequestOptions):
    """Several articles, scored together, answered in order (``maxItems`` is the service's ``MAX_ARTICLES``)."""

    articles: list[Article] = Field(min_length=1)


@dataclass
class EvaluateRequest:
    """What the service scores: the articles, and the options in force."""

    articles: list[Article]
    options: Options
    batch: bool  # answer {"results": [...]} rather than one result


def read_json_request(body: Any, defaults: Options, max_articles: int) -> EvaluateRequest:
    """A decoded JSON body as an ``EvaluateRequest``; the ``defaults`` (the query's) hold unless the body sets them."""
    if not isinstance(body, dict):
        raise APIError(422, "invalid_request", 'the JSON body must be an object: {"text": ...} or {"articles": [...]}')
    batch = "articles" in body
    if batch and isinstance(body["articles"], list) and len(body["articles"]) > max_articles:
        raise APIError(413, "too_many_articles",
                       f"{len(body['articles'])} articles in one request; the limit is {max_articles}")
    model = BatchRequest if batch else SingleRequest
    try:
        parsed = model.model_validate(body)
    except ValidationError as e:
        raise validation_error(e, batch) from None
    articles = parsed.articles if batch else [Article.model_construct(
        **{name: getattr(parsed, name) for name in (*SOURCES, "title")})]
    return EvaluateRequest(articles, parsed.options(defaults), batch)


def read_article(fields: dict) -> Article:
    """One article from its fields (``text``/``html``/``url``, ``title``), or the ``APIError`` saying what is wrong."""
    try:
        return Article.model_validate(fields)
    except ValidationError as e:
        raise validation_error(e, False) from None


def read_options(fields: dict[str, Any], defaults: Options) -> Options:
    """Options given as values (the query string, ``app.highlight``, the ``brief`` command), checked as the
    API checks them; a number may come as a string, ``avoid`` as comma-separated kinds. None means unset."""
    given = {name: value for name, value in fields.items() if value is not None}
    for name, value in given.items():
        field = RequestOptions.model_fields.get(name)
        if name == "avoid" and isinstance(value, str):
            given[name] = [kind.strip() for kind in value.split(",") if kind.strip()]
        elif isinstance(value, str) and field is not None and field.annotation in (int, float):
            try:
                given[name] = field.annotation(value)
            except ValueError:
                pass
    try:
        return RequestOptions.model_validate(given).options(defaults)
    except ValidationError as e:
        raise validation_error(e, False) from None


def validation_error(e: ValidationError, batch: bool, prefix: tuple = ()) -> APIError:
    """The first of pydantic's errors as an ``APIError`` with this module's codes and a message naming the field."""
    error = e.errors(include_url=False)[0]
    loc = prefix + tuple(error["loc"])
    field = loc[-1] if loc and isinstance(loc[-1], str) else None
    if batch and len(loc) >= 2 and loc[0] == "articles" and isinstance(loc[1], int):
        where = f"article {loc[1]}"
    else:
        where = "the article" if error["type"] in ("empty_article", "one_source") or field in SOURCES else "the body"
    if error["type"] == "empty_article" or (error["type"] == "string_too_short" and field in SOURCES):
        return APIError(422, "empty_article", f"{where} is empty or only whitespace")
    if error["type"] == "string_unicode":
        return APIError(400, "invalid_utf8", f"{where}: {'.'.join(map(str, loc))} is not valid Unicode (a lone surrogate)")
    if field == "top" and loc[0] == "top":
        return APIError(422, "invalid_top", f"top must be a positive whole number, not {error.get('input')!r}")
    if field == "model" and loc[0] == "model":
        return APIError(422, "unknown_model", f"model must be one of {list(MODELS)}, not {error.get('input')!r}")
    if error["type"] == "invalid_budget":
        return APIError(422, "invalid_budget", error["msg"])
    if loc and loc[0] in BUDGETS[1:]:
        limits = {"words": "a positive whole number", "chars": "a positive whole number",
                  "ratio": "a number above 0 and at most 1"}
        return APIError(422, "invalid_budget", f"{loc[0]} must be {limits[loc[0]]}, not {error.get('input')!r}")
    if loc and loc[0] == "avoid":
        return APIError(422, "invalid_avoid", f"avoid must list some of {list(AVOID)}, not {error.get('input')!r}")
    if loc and loc[0] == "keywords":
        return APIError(422, "invalid_keywords",
                        f"keywords must be a whole number from 0 to {MAX_KEYWORDS}, not {error.get('input')!r}")
    path = ".".join(str(part) for part in loc)
    return APIError(422, "invalid_request", f"{where}: {path + ': ' if path else ''}{error['msg']}")


# --- responses ---------------------------------------------------------------------------------


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ScoredSentence(Strict):
    index: int = Field(ge=0, description="position in the article (0 = first sentence)")
    sent: str = Field(description="the sentence, exactly ``text[start:end]``")
    score: float = Field(ge=0, le=1)
    start: int = Field(ge=0, description="offset in Unicode code points")
    end: int = Field(ge=0)
    scroll: float = Field(ge=0, le=100, description="where the sentence starts, as a percentage of the article")


class AppliedBudget(Strict):
    """The budget the highlights were picked within: exactly one of these."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"oneOf": [{"required": [u]} for u in BUDGETS[1:]]})

    words: int = Field(None, ge=1)
    chars: int = Field(None, ge=1)
    ratio: float = Field(None, gt=0, le=1)


class KeyPhrase(Strict):
    phrase: str = Field(description="1-3 words, as written in the article")
    score: float = Field(ge=0, le=1, description="relative to the best phrase's (1)")
    count: int = Field(ge=1, description="occurrences in the article")


class Result(Strict):
    """One scored article. ``text`` (and ``url``) only for HTML and URL input: the text the offsets index."""

    model: str = Field(description="what scored the article: the LSTM model card's id, or luhn")
    title: str | None
    scored_article_sentences: list[ScoredSentence] = Field(min_length=1, description="best first; ties in document order")
    highlights: list[Annotated[int, Field(ge=0)]] = Field(description="indices of the top sentences, in document order")
    text: str = Field(None, description="the article's text as extracted from the HTML or the page")
    url: str = Field(None, description="the page's address after redirects")
    budget: AppliedBudget = Field(None, description="where words, chars or ratio was asked: the budget applied")
    keywords: list[KeyPhrase] = Field(None, description="where keywords was asked: the key phrases, best first")


class BatchResults(Strict):
    results: list[Result]


class ErrorDetail(Strict):
    code: str = Field(description="stable and machine-readable")
    message: str = Field(description="for people")


class Error(Strict):
    """Every error has this shape."""

    error: ErrorDetail


class Health(Strict):
    status: Literal["ok"]


class Ready(Strict):
    status: Literal["ready"]
    model: str
    worker: int = Field(description="the answering worker's pid")


class WorkerModel(BaseModel):
    pid: int
    model: str | None
    ready: bool
    status: str
    since: float = Field(description="Unix time of the worker's load")
    retiring: bool = Field(description="being replaced (a reload, or its share of requests served)")


class ServingEncoder(BaseModel):
    """How the answering worker runs the sentence encoder (each worker's is in /metrics: brief_encoder_info)."""

    runtime: str = Field(description="what runs the transformer: openvino")
    precision: Literal["float32", "bfloat16"]
    probe_min_cosine: float | None = Field(
        description="the smallest cosine of its vectors to the card's float32 probe vectors, checked before ready")


class ModelCard(BaseModel):
    """The card of the model the answering worker serves, and which model every worker of the server serves."""

    id: str
    serving_encoder: ServingEncoder
    workers: list[WorkerModel]


class Histogram(BaseModel):
    counts: list[Annotated[int, Field(ge=0)]]
    proportions: list[Annotated[float, Field(ge=0, le=1)]]


class DriftReport(BaseModel):
    model: str
    status: Literal["ok", "warn", "alert", "insufficient_data"]
    n: int = Field(ge=0)
    reference_n: int = Field(ge=0)
    psi: Annotated[float, Field(ge=0)] | None
    ks: Annotated[float, Field(ge=0, le=1)] | None
    ks_pvalue: Annotated[float, Field(ge=0, le=1)] | None
    thresholds: dict
    bin_edges: list[float] = Field(min_length=21, max_length=21)
    live: Histogram
    reference: Histogram


class Sample(BaseModel):
    id: str
    title: str
    text: str


class Samples(BaseModel):
    samples: list[Sample]
