#!/usr/bin/env bash
# Set up a fresh machine for the tests and the demo: Python packages, then the system tools the
# tests use to make and check speech (espeak-ng, sox) and to drive the app in a browser (chromium).
set -euo pipefail
cd "$(dirname "$0")/.."

# torch first, pinned: on CPU machines without a local wheel, plain `torch` can pull a multi-GB CUDA build.
python -m pip install --quiet --disable-pip-version-check "torch==2.13.0"
python -m pip install --quiet --disable-pip-version-check -r requirements.txt -r requirements-dev.txt

missing=()
for tool in espeak-ng sox chromium chromedriver; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages for: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq espeak-ng sox chromium chromium-driver >/dev/null
fi
