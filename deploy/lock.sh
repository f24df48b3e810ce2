#!/usr/bin/env bash
# Regenerates requirements.lock at the repository root: the exact version and hashes of every
# runtime dependency (transitive too) that `pip install .` resolves, for deployments to install
# with `pip install --require-hashes -r requirements.lock` and then `pip install --no-deps .`.
# Run it from anywhere after changing [project.dependencies] in pyproject.toml, with the
# Python the service runs on (the lock is resolved for that version). pip-tools goes into a
# throwaway venv, not into the project's.
set -euo pipefail
cd "$(dirname "$0")/.."
tools="$(mktemp -d)"
trap 'rm -rf "$tools"' EXIT
python3 -m venv "$tools"
"$tools/bin/pip" install -q "pip-tools==7.7.0"
# The header of the lock names this script as the way to regenerate it.
CUSTOM_COMPILE_COMMAND="deploy/lock.sh" "$tools/bin/pip-compile" --quiet --generate-hashes \
    --strip-extras --no-emit-index-url --no-emit-find-links --upgrade \
    --output-file requirements.lock pyproject.toml
