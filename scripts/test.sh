#!/usr/bin/env bash
# Runs ruff, the type checker and the whole pytest suite; a run that collects no test fails loudly.
set -uo pipefail
cd "$(dirname "$0")/.."
.venv/bin/ruff check . || { echo "ruff found problems"; exit 1; }
# Type check (settings in pyproject.toml).
.venv/bin/mypy -p analytics -p dsp -p ivr -p store -p telephony -p console -p hardware -p bench -m loglines \
    || { echo "mypy found problems"; exit 1; }
# Required parts are required here: a missing one fails its tests (tests/harness/parts.py).
export CI="${CI:-true}"
.venv/bin/python -m pytest -p no:cacheprovider -ra --durations=40 "$@"
rc=$?
if [ $rc -eq 5 ]; then
    echo "pytest collected no tests: failing on purpose" >&2
    exit 1
fi
exit $rc
