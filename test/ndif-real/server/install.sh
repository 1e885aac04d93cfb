#!/usr/bin/env bash
# Builds the venv the real NDIF server of test/ndif-real runs in: `install.sh VENV_DIR`.
# Called by test/ndif-real/harness/server.ts when VENV_DIR/.fingerprint does not match; safe to
# rerun (it starts from an empty folder). Needs Python 3.11 (python3.11, else python3) and pip
# access to PyPI. Takes a few minutes and ~1.7 GB.
set -euo pipefail
VENV=${1:?usage: install.sh VENV_DIR}
HERE=$(cd "$(dirname "$0")" && pwd)
PY=${LMPROBE_NDIF_PYTHON:-$(command -v python3.11 || command -v python3)}
rm -rf "$VENV"
"$PY" -m venv "$VENV"
PIP=("$VENV/bin/python" -m pip install --disable-pip-version-check --progress-bar off)
"${PIP[@]}" -r "$HERE/requirements.txt" -c "$HERE/constraints.txt"
# ndif's wheel declares Requires-Python >=3.12; its code runs on 3.11 (see requirements.txt).
"${PIP[@]}" --no-deps --ignore-requires-python "ndif==0.1.2"
"$VENV/bin/python" -c "import ndif, nnsight, ray, moto, redis; print('ndif server venv ok')"
