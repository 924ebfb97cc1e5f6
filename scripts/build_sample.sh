#!/usr/bin/env bash
# Rebuild the bundled sample benchmark (yaml_tasks/sample/) from its real-scan sources.
#
#   1. scripts/fetch_sample_sources.sh fills ./sources/ (package registries only; skips what exists);
#   2. `python -m medvision_tasks.builder scripts/sample_manifest.yaml` writes the docs, volumes and
#      summary.json into yaml_tasks/sample/ (previous generated files are removed first, so
#      nothing stale survives; no .cases/ cache is kept in the repository).
# The result is deterministic: rebuilding on the same sources gives byte-identical files.
# Usage: scripts/build_sample.sh [--workers N]      (PYTHON=/path/to/python to pick the interpreter)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${PYTHON:-python}
sample="$repo_root/yaml_tasks/sample"
cd "$repo_root"

PYTHON="$python" "$repo_root/scripts/fetch_sample_sources.sh"

rm -rf "$sample/volumes" "$sample/train" "$sample/.cases"
rm -f "$sample/detection.jsonl" "$sample/tl.jsonl" "$sample/ad.jsonl" "$sample/summary.json"
"$python" -m medvision_tasks.builder scripts/sample_manifest.yaml --out "$sample" --no-cache "$@"
du -sh "$sample"
