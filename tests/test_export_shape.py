"""Docs in the public export shape (column-wise records, public taskType names, float16 sizes) load
through MEDVISION_DATA_DIR and through prepare's importer, and score exactly like list-shape docs."""

from __future__ import annotations

import json

import pytest

from medvision_tasks.builder.cli import main as prepare_main
from medvision_tasks.documents import load_documents
from medvision_tasks.export_shape import box_columns, box_list, ellipse_list, float16, to_list_shape
from medvision_tasks.utils import LEDGER, score_response
from tests.helpers.synthetic_data import default_docs, write_data_dir
from tests.helpers.volumes import write_manifest

# A row as the public dataset exports it (the real first OAIZIB-CM axial test doc, on the phantom's grid).
EXPORTED_BOX = {
    "min_coords": [[5, 6]],
    "max_coords": [[14, 20]],
    "center_coords": [[9, 13]],
    "dimensions": [[10, 15]],
    "sizes": [[5.0, 12.0]],
}
EXPORTED_ELLIPSE = {
    "metric_type": ["distance"],
    "metric_map_name": ["lines_map"],
    "metric_key_major_axis": ["L-1-2"],
    "metric_value_major_axis": [30.9375],
    "metric_key_minor_axis": ["L-3-4"],
    "metric_value_minor_axis": [24.375],
    "metric_unit": ["mm"],
}


def _exported(docs: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """The same docs as the public dataset's rows hold them: column-wise, public taskType names."""
    detection = []
    for doc, task_type in zip(docs["detection"], ("Box-Size", "BoxSize", "Box-Size", "BoxSize")):
        detection.append({**doc, "taskType": task_type, "bounding_boxes": box_columns(doc["bounding_boxes"])})
    tl = []
    for doc in docs["tl"]:
        profile = doc["biometric_profile"]
        ellipse = {**{k: None for k in EXPORTED_ELLIPSE}, **profile, "metric_map_name": "lines_map"}
        tl.append({**doc, "taskType": "Tumor-Lesion-Size", "biometric_profile": {k: [v] for k, v in ellipse.items()}})
    ad = [
        {**doc, "taskType": "Biometrics-From-Landmarks-" + doc["biometric_profile"]["metric_type"].capitalize()}
        for doc in docs["ad"]
    ]
    return {"detection": detection, "tl": tl, "ad": ad}


def _list_shape_docs() -> dict[str, list[dict]]:
    docs = default_docs()
    for doc in docs["tl"]:
        doc["biometric_profile"]["metric_map_name"] = "lines_map"
    return docs


# Tagged: the default protocol (published) reads plain answers inside <answer> too.
ANSWERS = {
    "detection": "<answer>0.21, 0.6, 0.7, 0.9</answer>",
    "tl": "<answer>12, 6</answer>",
    "ad": "<answer>30</answer>",
}


def _scores(family: str) -> list[tuple]:
    docs = load_documents(family, None)
    LEDGER.forget(family, (d["doc_key"] for d in docs))  # no prompt of another test stated anything for them
    return [(d["doc_key"], d["target"], score_response(d, ANSWERS[family], variant="plain").to_dict()) for d in docs]


def test_shapes_convert_both_ways():
    assert box_list(EXPORTED_BOX) == [
        {
            "min_coords": [5, 6],
            "max_coords": [14, 20],
            "center_coords": [9, 13],
            "dimensions": [10, 15],
            "sizes": [5.0, 12.0],
        }
    ]
    assert box_columns(box_list(EXPORTED_BOX)) == EXPORTED_BOX
    (ellipse,) = ellipse_list(EXPORTED_ELLIPSE)
    assert ellipse["metric_value_major_axis"] == 30.9375 and ellipse["metric_unit"] == "mm"
    doc = to_list_shape({"biometric_profile": EXPORTED_ELLIPSE}, "tl")
    assert doc["biometric_profile"]["metric_value_minor_axis"] == 24.375
    two = {k: v * 2 for k, v in EXPORTED_ELLIPSE.items()}
    assert len(to_list_shape({"biometric_profile": two}, "tl")["biometric_profile"]) == 2
    with pytest.raises(ValueError, match="lists of different lengths"):
        box_list({"min_coords": [[1, 2]], "max_coords": []})
    # float16 as the public features store sizes: 0.7 mm -> 0.7001953125, 73 x 0.7 mm -> 51.09375.
    assert (float16(0.7), float16(51.1), float16(0.1)) == (0.7001953125, 51.09375, 0.0999755859375)


def test_export_shape_loads_and_scores_like_list_shape(tmp_path, monkeypatch):
    listed, exported = tmp_path / "listed", tmp_path / "exported"
    write_data_dir(listed, _list_shape_docs())
    write_data_dir(exported, _exported(_list_shape_docs()))
    scored = {}
    for family in ("detection", "tl", "ad"):
        monkeypatch.setenv("MEDVISION_DATA_DIR", str(listed))
        scored[family] = _scores(family)
        monkeypatch.setenv("MEDVISION_DATA_DIR", str(exported))
        assert _scores(family) == scored[family]
        assert len(scored[family]) == 4
    # Box rows 5..14, cols 6..20 of a 40 x 30 slice: [6/30, 26/40, 20/30, 35/40]; the answer
    # [0.21, 0.6, 0.7, 0.9] overlaps it on x 0.21..0.6667 and y 0.65..0.875.
    _key, target, record = scored["detection"][0]
    assert target == pytest.approx([0.2, 0.65, 20 / 30, 0.875])
    inter = (20 / 30 - 0.21) * (0.875 - 0.65)
    assert record["iou"] == pytest.approx(inter / ((0.49 * 0.3) + (14 / 30 * 0.225) - inter))
    assert scored["tl"][0][1] == [12.5, 7.0] and scored["tl"][0][2]["abs_error"] == pytest.approx(0.75)


def test_export_shape_goes_through_the_importer_unchanged_and_stays_test(tmp_path, monkeypatch):
    public = write_data_dir(tmp_path / "public", _exported(_list_shape_docs()))
    manifest = write_manifest(
        tmp_path,
        {"imports": [{"docs": [f"public/{f}.jsonl" for f in ("detection", "tl", "ad")], "image_root": "public"}]},
    )
    out = tmp_path / "out"
    assert prepare_main([str(manifest), "--out", str(out), "--quiet"]) == 0
    # Every doc stays a test doc (no re-split by subject), in the shape it came in.
    assert not (out / "train").exists()
    first = json.loads((out / "detection.jsonl").read_text().splitlines()[0])
    assert first["bounding_boxes"] == box_columns(_list_shape_docs()["detection"][0]["bounding_boxes"])
    assert first["taskType"] == "Box-Size"
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(public))
    expected = {family: [(target, record) for _, target, record in _scores(family)] for family in ANSWERS}
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(out))
    for family in ANSWERS:
        got = [(target, {**record, "doc_key": None}) for _, target, record in _scores(family)]
        assert got == [(target, {**record, "doc_key": None}) for target, record in expected[family]]


def test_subject_split_only_when_asked(tmp_path):
    write_data_dir(tmp_path / "public", _exported(_list_shape_docs()))
    manifest = write_manifest(
        tmp_path,
        {
            "train_fraction": 1.0,
            "imports": [{"docs": ["public/ad.jsonl"], "image_root": "public", "split": "subject"}],
        },
    )
    out = tmp_path / "out"
    assert prepare_main([str(manifest), "--out", str(out), "--quiet"]) == 0
    assert (out / "ad.jsonl").read_text() == ""
    assert len((out / "train/ad.jsonl").read_text().splitlines()) == 4
