#!/usr/bin/env bash
# Fetch the real scans the bundled sample benchmark (yaml_tasks/sample/) is built from.
#
# Everything comes from package registries (no data hub), as listed in docs/data.md, "Bundled sample benchmark":
#   - MNI ICBM152 2009 T1 template + brain / grey-matter / white-matter masks, shipped inside nilearn;
#   - the five pyradiomics 3.0.1 test patients (NRRD image + lesion label), from its source archive;
#   - the MNI152NLin2009cAsym T1 template and its 32 ground-truth anatomical fiducials (AFIDs),
#     from the autoafids 0.1.4 wheel (unzipped, never installed: it pins tensorflow).
# Output: ./sources/ (git-ignored), or $SOURCES_DIR. Re-running skips what is already there.
# Usage: scripts/fetch_sample_sources.sh            (PYTHON=/path/to/python to pick the interpreter)
set -euo pipefail

repo_root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
sources=${SOURCES_DIR:-"$repo_root/sources"}
python=${PYTHON:-python}
downloads="$sources/downloads"
mkdir -p "$downloads"

# --- pyradiomics 3.0.1 test data (the wheel carries no data; the 3.1.0 sdist fails to build) ---
pyradiomics_data="$sources/pyradiomics-3.0.1/data"
if [ ! -d "$pyradiomics_data" ]; then
    # `pip download` of an sdist prepares its metadata, which imports numpy and versioneer:
    # install whichever of its build requirements is missing (nothing else is touched).
    missing=$("$python" -c "import importlib.util as u; print(' '.join(m for m in ('setuptools', 'wheel', 'numpy', 'versioneer') if u.find_spec(m) is None))")
    if [ -n "$missing" ]; then
        # shellcheck disable=SC2086  # one word per package
        "$python" -m pip install $missing
    fi
    "$python" -m pip download --no-deps --no-binary=:all: --no-build-isolation \
        pyradiomics==3.0.1 -d "$downloads"
    tar xzf "$downloads/pyradiomics-3.0.1.tar.gz" -C "$sources" pyradiomics-3.0.1/data
fi

# --- autoafids 0.1.4: MNI152NLin2009cAsym template and ground-truth fiducials ---
afids_dir="$sources/autoafids"
afids_prefix="autoafids/resources/tpl-MNI152NLin2009cAsym_res-01"
if [ ! -f "$afids_dir/${afids_prefix}_desc-groundtruth_afids.fcsv" ]; then
    "$python" -m pip download --no-deps autoafids==0.1.4 -d "$downloads"
    "$python" - "$downloads/autoafids-0.1.4-py3-none-any.whl" "$afids_dir" "$afids_prefix" <<'PY'
import sys
import zipfile

wheel, target, prefix = sys.argv[1:4]
with zipfile.ZipFile(wheel) as archive:
    members = [name for name in archive.namelist() if name.startswith(prefix)]
    if not members:
        sys.exit(f"{wheel}: no member starts with {prefix}")
    archive.extractall(target, members)
PY
fi

# --- nilearn's MNI ICBM152 2009 template and masks, written out as NIfTI files ---
mni_dir="$sources/mni152"
if [ ! -f "$mni_dir/mni152_wm_mask.nii.gz" ]; then
    mkdir -p "$mni_dir"
    "$python" - "$mni_dir" <<'PY'
import sys
from pathlib import Path

from nilearn import datasets

target = Path(sys.argv[1])
loaders = {
    "mni152_t1": datasets.load_mni152_template,
    "mni152_brain_mask": datasets.load_mni152_brain_mask,
    "mni152_gm_mask": datasets.load_mni152_gm_mask,
    "mni152_wm_mask": datasets.load_mni152_wm_mask,
}
for name, loader in loaders.items():
    loader(resolution=1).to_filename(target / f"{name}.nii.gz")
PY
fi

echo "sources ready in $sources"
