"""Loading docs from a data directory: names merged from metadata, bad docs named before inference."""

import json

import pytest

from medvision_tasks.documents import MedVisionDataError, load_documents
from tests.helpers.synthetic_data import default_docs, tl_doc, write_data_dir


@pytest.fixture()
def data_root(tmp_path, monkeypatch):
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(tmp_path))
    return tmp_path


def test_plane_selection_and_derived_fields(data_root):
    write_data_dir(data_root)
    axial = load_documents("detection", "axial")
    assert [doc["slice_idx"] for doc in axial] == [8, 9]
    doc = axial[0]
    assert doc["family"] == "detection" and doc["plane"] == "axial"
    assert doc["image_path"] == str(data_root / "volumes/phantom.nii.gz")
    assert doc["doc_key"] == "Phantom/01/volumes/phantom.nii.gz#2:8/1"
    # Box rows 5..14, cols 6..20 on a 40 x 30 slice (inclusive): [6/30, 26/40, 20/30, 35/40].
    assert doc["target"] == pytest.approx([0.2, 0.65, 20 / 30, 0.875])
    assert doc["box_area_fraction"] == pytest.approx(10 * 15 / 1200)
    assert len(load_documents("ad", None)) == 4


def test_names_come_from_metadata_when_docs_lack_them(data_root):
    row = tl_doc(2, 8, 12.5, 7.0)
    for field in ("label_name", "modality", "image_description"):
        del row[field]
    write_data_dir(data_root, {"tl": [row]})
    (data_root / "metadata.json").write_text(
        json.dumps(
            {
                "labels": [
                    {"dataset_name": "Phantom", "taskID": "01", "label": 2, "label_name": "lesion", "modality": "MRI"}
                ]
            }
        )
    )
    (doc,) = load_documents("tl", "axial")
    assert (doc["label_name"], doc["modality"], doc["image_description"]) == ("lesion", "MRI", "")
    assert doc["target"] == [12.5, 7.0]


def test_every_bad_doc_is_named_with_its_problem(data_root):
    docs = default_docs()
    docs["tl"][0]["biometric_profile"]["metric_value_minor_axis"] = 0.0
    del docs["tl"][1]["label_name"]
    docs["tl"][2]["image_file"] = "volumes/missing.nii.gz"
    write_data_dir(data_root, docs)
    with pytest.raises(MedVisionDataError) as raised:
        load_documents("tl", None)
    message = str(raised.value)
    assert "3 MedVision doc(s) cannot be evaluated" in message
    assert (
        "tl.jsonl:1 Phantom/01/volumes/phantom.nii.gz#2:8/2: biometric_profile.metric_value_minor_axis = 0.0" in message
    )
    assert "#2:9/2: missing field label_name" in message
    assert "volume not found: " + str(data_root / "volumes/missing.nii.gz") in message


def test_skip_invalid_drops_bad_docs_and_keeps_the_rest(data_root, monkeypatch):
    docs = default_docs()
    docs["ad"][0]["biometric_profile"]["metric_value"] = 0
    write_data_dir(data_root, docs)
    monkeypatch.setenv("MEDVISION_SKIP_INVALID", "1")
    assert len(load_documents("ad", None)) == 3


def test_malformed_jsonl_line_and_missing_directory(data_root, monkeypatch):
    write_data_dir(data_root)
    with (data_root / "ad.jsonl").open("a") as handle:
        handle.write("{not json\n")
    with pytest.raises(MedVisionDataError, match=r"ad.jsonl:5: not valid JSON"):
        load_documents("ad", None)
    monkeypatch.setenv("MEDVISION_DATA_DIR", str(data_root / "nowhere"))
    with pytest.raises(MedVisionDataError, match="is not a directory"):
        load_documents("ad", None)


def test_one_pixel_thin_box_is_rejected(data_root):
    docs = default_docs()
    box = docs["detection"][0]["bounding_boxes"][0]
    box["max_coords"] = [box["min_coords"][0], 20]
    write_data_dir(data_root, docs)
    with pytest.raises(MedVisionDataError, match=r"bounding box \[5, 6, 5, 20\] has zero area"):
        load_documents("detection", "axial")


def test_invalid_slice_dim_is_named_not_a_crash(data_root):
    docs = default_docs()
    docs["tl"][0]["slice_dim"] = 5
    write_data_dir(data_root, docs)
    with pytest.raises(MedVisionDataError, match="slice_dim is 5; expected 0, 1 or 2"):
        load_documents("tl", "axial")


def test_slice_dim_written_as_float_or_text_selects_the_right_plane(data_root):
    docs = default_docs()
    for doc, written in zip(docs["detection"], (2.0, "2", 1.0, "0")):
        doc["slice_dim"] = written
    write_data_dir(data_root, docs)
    assert [(d["plane"], d["slice_dim"]) for d in load_documents("detection", "axial")] == [("axial", 2)] * 2
    assert [d["plane"] for d in load_documents("detection", "coronal")] == ["coronal"]
    assert [d["plane"] for d in load_documents("detection", "sagittal")] == ["sagittal"]


@pytest.mark.parametrize(
    "family, spoil, message",
    [
        ("detection", lambda d: d["bounding_boxes"][0].pop("max_coords"), "malformed doc (KeyError: 'max_coords')"),
        ("detection", lambda d: d.update(pixel_size=[0.5, 0.0]), "pixel_size [0.5, 0.0] must be two positive"),
        ("detection", lambda d: d.update(image_size_2d=[40]), "image_size_2d [40]"),
        ("tl", lambda d: d["biometric_profile"].update(metric_unit="inch"), "cannot build its prompt"),
        (
            "tl",
            lambda d: d["biometric_profile"].update(metric_value_major_axis="big"),
            "metric_value_major_axis is 'big'; expected a number",
        ),
        ("ad", lambda d: d.update(landmark_names=["A", "B", "C"]), "an angle needs 4 landmark_names"),
    ],
)
def test_malformed_docs_are_named_at_load(data_root, family, spoil, message):
    docs = default_docs()
    index = 2 if family == "ad" else 0  # the first angle doc for A/D
    spoil(docs[family][index])
    write_data_dir(data_root, docs)
    with pytest.raises(MedVisionDataError) as raised:
        load_documents(family, None)
    text = str(raised.value)
    assert "1 MedVision doc(s) cannot be evaluated" in text
    assert f"{family}.jsonl" in text and message in text


def test_an_empty_measurement_name_is_an_unnamed_measurement_and_a_missing_one_an_error(data_root):
    docs = default_docs()
    docs["ad"][0]["measurement_name"] = ""  # unnamed, as every Ceph-Biometrics-400 measurement
    write_data_dir(data_root, docs)
    doc = next(d for d in load_documents("ad", None) if d["measurement_name"] == "")
    assert doc["landmark_names"]
    del docs["ad"][0]["measurement_name"]
    write_data_dir(data_root, docs)
    with pytest.raises(MedVisionDataError, match=r'missing field measurement_name .*write "" for a measurement'):
        load_documents("ad", None)


def test_an_unknown_protocol_stops_the_load(data_root, monkeypatch):
    write_data_dir(data_root)
    monkeypatch.setenv("MEDVISION_PROTOCOL", "nope")
    with pytest.raises(MedVisionDataError, match="MEDVISION_PROTOCOL='nope': unknown protocol"):
        load_documents("tl", None)
