#!/usr/bin/env bash
# Set up napari-elephant on a fresh Debian/Ubuntu machine: the system libraries
# a napari window needs (and Xvfb for headless tests), a virtual environment in
# .venv, and the package with its Qt binding and test tools.
#
#   TORCH_SPEC  which torch to install first (default: torch==2.13.0; use e.g.
#               "torch" for the newest build with CUDA)
#   PYTHON      the interpreter for the venv (default: python3, >= 3.10)
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
PY="${PYTHON:-python3}"

if command -v apt-get >/dev/null 2>&1; then
  pkgs="xvfb xauth libgl1-mesa-dri libglx-mesa0 libegl1 libxkbcommon-x11-0 libdbus-1-3
        libfontconfig1 libxcb-icccm4 libxcb-image0 libxcb-keysyms1 libxcb-randr0
        libxcb-render-util0 libxcb-xinerama0 libxcb-xfixes0 libxcb-shape0 libxcb-cursor0"
  if ! "$PY" -c "import venv, ensurepip" >/dev/null 2>&1; then pkgs="$pkgs python3-venv"; fi
  missing=""
  for p in $pkgs; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" \
      || missing="$missing $p"
  done
  if [ -n "$missing" ]; then
    echo "installing system packages: $missing"
    $SUDO apt-get update -qq
    $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $missing >/dev/null
  fi
fi

if [ ! -x .venv/bin/python ]; then "$PY" -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "${TORCH_SPEC:-torch==2.13.0}"
.venv/bin/python -m pip install -q -e ".[qt,test]"
echo "napari-elephant is installed in $(pwd)/.venv"
