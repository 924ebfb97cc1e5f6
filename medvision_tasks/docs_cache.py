"""The loaded docs of a task as an Arrow dataset: built once per process, reused across runs.

Loading a data directory's docs (JSON, checks, prompt checks, Arrow) takes about 80 us a doc, so
seconds for the paper's 29K docs, and the ``medvision`` group loads each family twice (plain and
CoT). What loading produces depends only on the docs file, ``metadata.json``, the selection
(family, plane), the protocol (whose prompts every doc must build), ``MEDVISION_SKIP_INVALID``
and this package's code, so the dataset is kept under a key of all of them: in
memory for the other tasks of the process, and as an Arrow file in the cache folder
(:func:`medvision_tasks.volumes.cache_dir`, ``docs/``) that later runs memory-map. A load that
raised stores nothing, and with ``MEDVISION_SKIP_INVALID`` set nothing is stored (the dropped docs
are told on every run); the volumes the docs name are checked again on every load
(:func:`medvision_tasks.documents.volume_problem`: their headers).
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
from collections.abc import Iterable, Mapping
from pathlib import Path

import datasets
import pyarrow as pa

from medvision_tasks import documents, volumes

logger = logging.getLogger(__name__)

_PACKAGE_DIR = Path(__file__).resolve().parent
_loaded: dict[str, datasets.Dataset] = {}
_lock = threading.Lock()


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """Hash of every Python file of the package (what loading a doc may depend on) and the Arrow versions."""
    digest = hashlib.sha256(f"datasets {datasets.__version__} pyarrow {pa.__version__}".encode())
    for path in sorted(_PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(_PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _content(path: Path) -> str:
    """A file's content hash (tens of milliseconds for the paper's docs; a stat could miss a rewrite)."""
    digest = hashlib.sha256()
    try:
        with open(path, "rb") as handle:
            while chunk := handle.read(1 << 20):
                digest.update(chunk)
    except FileNotFoundError:
        return "absent"
    return digest.hexdigest()


def selection_key(root: Path, family: str, plane: str | None, protocol: str) -> str:
    """Names one task selection's loaded docs: the files read, the selection, the protocol, the switches and the code."""
    parts = [
        code_fingerprint(),
        _content(documents.docs_file(root, family)),
        _content(root / documents.METADATA_FILE),
        str(root.resolve()),
        family,
        str(plane),
        protocol,
        str(documents.env_flag(documents.SKIP_INVALID_ENV)),
    ]
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:32]


def as_dataset(docs: list[dict]) -> datasets.Dataset:
    """Docs as a ``datasets.Dataset`` (columns from the first doc, as ``Dataset.from_list``; faster)."""
    return datasets.Dataset(pa.Table.from_pylist(docs))


def _cache_file(key: str) -> Path | None:
    folder = volumes.cache_dir()
    return None if folder is None else folder / "docs" / f"{key}.arrow"


def _read(path: Path | None) -> datasets.Dataset | None:
    if path is None or not path.is_file():
        return None
    try:
        dataset = datasets.Dataset.from_file(str(path))
    except Exception:  # noqa: BLE001  an unreadable cache file is rebuilt
        return None
    columns = (
        dataset.data.column(name).to_pylist() for name in ("image_path", "slice_dim", "slice_idx", "image_size_2d")
    )
    headers: dict = {}
    for fields in zip(*columns):
        if documents.volume_problem(*fields, headers) is not None:
            return None  # the loader names every doc of a bad volume
    return dataset


def _write(path: Path | None, dataset: datasets.Dataset) -> None:
    if path is None:
        return
    partial = path.with_name(f".{path.name}.{os.getpid()}.partial")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        table = dataset.data.table
        with pa.OSFile(str(partial), "wb") as sink, pa.ipc.new_stream(sink, table.schema) as writer:
            writer.write_table(table)
        os.replace(partial, path)
    except OSError as error:
        partial.unlink(missing_ok=True)
        logger.warning("MedVision: cannot store the loaded docs in %s (%s); the next run loads them again", path, error)


def load_dataset(family: str, plane: str | None, sample_rows: Iterable[Mapping] | None = None) -> datasets.Dataset:
    """The docs of one task as a dataset: :func:`medvision_tasks.documents.load_documents`, kept.

    Args and Raises: as :func:`medvision_tasks.documents.load_documents`; the bundled sample
    (``MEDVISION_DATA_DIR`` unset) is loaded each time, without a key.
    """
    root = documents.data_dir()
    if root is None:
        return as_dataset(documents.load_documents(family, plane, sample_rows))
    key = selection_key(root, family, plane, documents.loading_protocol().name)
    with _lock:
        dataset = _loaded.get(key)
        if dataset is None:
            path = _cache_file(key)
            dataset = _read(path)
            if dataset is not None:
                documents.announce_source(f"{documents.DATA_DIR_ENV}={root}")
            else:
                dataset = as_dataset(documents.load_documents(family, plane))
                if not documents.env_flag(documents.SKIP_INVALID_ENV):  # else dropped docs must be told each run
                    _write(path, dataset)
            _loaded[key] = dataset
    return dataset
