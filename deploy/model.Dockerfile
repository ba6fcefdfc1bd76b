# Brief's model alone, for Kubernetes: the LSTM (brief.h5), its card (brief.json) and the Punkt
# parameters (nltk_data), in /model. The Deployment's init container copies them into the pod's
# model volume, so a new model ships as a new image of this kind, with no build of the code image.
#   podman build -f deploy/model.Dockerfile -t localhost/brief-model:$(jq -r .id models/brief.json) .
# BASE_IMAGE needs only `cp`: any small Debian-like image.
ARG BASE_IMAGE=debian:bookworm-slim
FROM ${BASE_IMAGE}
COPY models/brief.h5 models/brief.json /model/
COPY models/nltk_data/ /model/nltk_data/
USER 10001:10001
CMD ["cp", "-R", "/model/.", "/models/"]
