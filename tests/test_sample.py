"""The bundled sample is exactly what `cx synth` writes with the documented arguments."""

from __future__ import annotations

import subprocess
import sys


def test_sample_is_reproducible(tmp_path, sample_dir):
    out = tmp_path / "sample"
    res = subprocess.run([sys.executable, "-m", "cx_helpers", "synth", "--out", str(out),
                          "--customers", "3000", "--seed", "20261122"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    written = sorted(p.name for p in out.iterdir())
    assert written == sorted(p.name for p in sample_dir.iterdir())
    for name in written:
        assert (out / name).read_bytes() == (sample_dir / name).read_bytes(), name


def test_synth_refuses_to_overwrite(sample_copy):
    before = (sample_copy / "survey.csv").read_bytes()
    res = subprocess.run([sys.executable, "-m", "cx_helpers", "synth", "--out", str(sample_copy)],
                         capture_output=True, text=True)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert (sample_copy / "survey.csv").read_bytes() == before
