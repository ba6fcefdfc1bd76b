#!/usr/bin/env bash
# Build Brief's image with podman on a machine with no Docker engine and no reachable image registry
# (shared/CONTAINERS.md): a local Python 3.11 base made with debootstrap (once, kept between runs),
# then the Dockerfile with the host network and CA bundle. Root only (debootstrap).
#   deploy/podman-build.sh [TAG]        default TAG: localhost/brief:test (what tests/test_container.py runs)
# CI runs it in the background while the venv installs and the tests run; the test then finds its layers cached.
set -euo pipefail
cd "$(dirname "$0")/.."
# One build at a time: a second (tests/test_container.py's, while CI's runs in the background) waits for
# the first, then finds every layer cached.
exec 9> /var/tmp/brief-podman-build.lock
flock 9
TAG=${1:-localhost/brief:test}
BASE=localhost/python-base:3.11
CA=/etc/ssl/certs/ca-certificates.crt
podman() { command podman --runtime runc "$@"; }  # crun, podman's default, fails on cgroups on these machines

# podman would otherwise raise resource limits that it may not raise on these machines
[ -e /etc/containers/containers.conf ] || printf '[containers]\ndefault_ulimits = []\n' > /etc/containers/containers.conf

if ! podman image exists $BASE; then
  rootfs=$(mktemp -d /var/tmp/brief-rootfs-XXXXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates bookworm "$rootfs" \
    http://deb.debian.org/debian > /dev/null
  # the downloaded .debs and package lists are not needed in the image (~95 MB)
  tar -C "$rootfs" --exclude=./var/cache/apt/archives/*.deb --exclude=./var/lib/apt/lists/* -c . | podman import - $BASE
fi

previous=$(podman image inspect --format '{{.Id}}' "$TAG" 2>/dev/null || true)
mount=(); [ -f $CA ] && mount=(-v $CA:$CA:ro)
# --format docker keeps the HEALTHCHECK (the OCI image format has no field for it)
podman build --network host --format docker --build-arg BASE_IMAGE=$BASE "${mount[@]}" -t "$TAG" .
current=$(podman image inspect --format '{{.Id}}' "$TAG")
# our last build, now untagged
if [ -n "$previous" ] && [ "$previous" != "$current" ]; then podman rmi "$previous" > /dev/null 2>&1 || true; fi
