import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
MODULES = [
    "dsp.g711",
    "dsp.resample",
    "dsp.levels",
    "dsp.vad",
    "dsp.dtmf",
    "dsp.prosody",
    "dsp.aec",
    "dsp.aec_filter",
    "dsp.aec_paths",
    "dsp.aec_suppressor",
]

PROBE = """
import importlib, json, sys
from numba.core.registry import CPUDispatcher
report = {}
for name in sys.argv[1:]:
    module = importlib.import_module(name)
    kernels = {k: v for k, v in vars(module).items() if isinstance(v, CPUDispatcher)}
    report[name] = {k: [str(s) for s in v.signatures] for k, v in kernels.items()}
report["_options"] = {
    name + "." + k: [type(v._cache).__name__ != "NullCache", v.targetoptions.get("nogil", False)]
    for name in sys.argv[1:]
    for k, v in vars(importlib.import_module(name)).items()
    if isinstance(v, CPUDispatcher)
}
print(json.dumps(report))
"""


def test_importing_dsp_compiles_nothing_and_every_kernel_is_cached_and_nogil() -> None:
    result = subprocess.run(
        [sys.executable, "-c", PROBE, *MODULES],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    report = json.loads(result.stdout)
    options = report.pop("_options")
    assert set(report) == set(MODULES)
    assert all(report[name] for name in MODULES)  # each module has numba kernels
    compiled = {f"{m}.{k}": s for m, kernels in report.items() for k, s in kernels.items() if s}
    assert compiled == {}
    assert options and all(cache and nogil for cache, nogil in options.values())
