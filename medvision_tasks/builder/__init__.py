"""The data builder: ``medvision-tasks prepare`` turns volumes, masks and landmarks into MedVision docs.

The evaluation path (the task hooks) never imports this package; it only reads what it writes.
One module per job, in the order a build runs:

- :mod:`.spec`: the frozen spec types of a manifest (cases, masks, labels, measurements, imports);
- :mod:`.manifest`: parsing and checking the YAML manifest into specs ("did you mean" for typos);
- :mod:`.volume_io`, :mod:`.landmark_io`: reading input volumes and landmark files into RAS,
  writing NIfTI;
- :mod:`.volume_step`: one case's image and masks reoriented, cropped, resampled and written,
  returned as an immutable :class:`~.volume_step.PreparedVolume`;
- :mod:`.label_slices`: the slice scan detection and T/L share, and the fields every doc holds;
- :mod:`.detection`, :mod:`.tumor_lesion`, :mod:`.angle_distance`: one family's docs of a
  prepared volume, as pure functions returning :class:`~.results.FamilyDocs` (docs and skips);
- :mod:`.case`: one case start to finish, returning its :class:`~.results.CaseResult`;
- :mod:`.results`: skips and their reasons, a family's docs, a case's result;
- :mod:`.importer`: docs already in the public MedVision layout; :mod:`.plan_names`: the names they
  lack, from the public plans;
- :mod:`.upstream_tasks`, :mod:`.plan_reader`, :mod:`.public_docs`, :mod:`.public_plan`: the
  public MedVision data (``prepare --public``): task names and the paper's lists, streaming the
  benchmark plans, the public builder's docs and filters, one plan file's docs as a case result;
- :mod:`.cache`: per-case results reused across runs;
- :mod:`.split`: the subject-level train/test split;
- :mod:`.layout`, :mod:`.output`: the data directory's file names, and writing them;
- :mod:`.atomic`: every file written complete or not at all (partial names, renamed into place);
- :mod:`.driver`: :func:`prepare`, running it all; :mod:`.cli`: the command line.

The manifest format, the output layout and the builder's rules: docs/data.md.
"""

from medvision_tasks.builder.driver import BuildReport, prepare

__all__ = ["BuildReport", "prepare"]
