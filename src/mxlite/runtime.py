"""``mx.runtime``: what this installation can do, under MXNet's feature names.

MXNet reports the switches it was compiled with; mxlite reports what the running process
has: the CPU's instruction sets as numpy detected them, the BLAS numpy links, and which
optional extras (OpenCV, MPI) import. ``Features().is_enabled('CUDA')`` is False: mxlite
runs on the CPU.
"""

from __future__ import annotations

import collections
import importlib.util

import numpy as np

__all__ = ["Feature", "Features", "feature_list"]

# MXNet 1.9.1's names, in its order.
NAMES = ("CUDA", "CUDNN", "NCCL", "CUDA_RTC", "TENSORRT", "CPU_SSE", "CPU_SSE2", "CPU_SSE3",
         "CPU_SSE4_1", "CPU_SSE4_2", "CPU_SSE4A", "CPU_AVX", "CPU_AVX2", "OPENMP", "SSE",
         "F16C", "JEMALLOC", "BLAS_OPEN", "BLAS_ATLAS", "BLAS_MKL", "BLAS_APPLE", "LAPACK",
         "MKLDNN", "OPENCV", "CAFFE", "PROFILER", "DIST_KVSTORE", "CXX14",
         "INT64_TENSOR_SIZE", "SIGNAL_HANDLER", "DEBUG", "TVM_OP")


class Feature:
    """One feature: ``name`` and whether it is ``enabled``."""

    __slots__ = ("name", "enabled")

    def __init__(self, name: str, enabled: bool):
        self.name, self.enabled = name, bool(enabled)

    def __repr__(self) -> str:
        return f"{'✔' if self.enabled else '✖'} {self.name}"


def _blas() -> str:
    try:
        info = np.show_config(mode="dicts")
        name = info["Build Dependencies"]["blas"]["name"].lower()
    except Exception:  # older numpy: no dict form; the BLAS is then unknown
        return ""
    return name


def _enabled() -> dict[str, bool]:
    try:
        from numpy._core._multiarray_umath import __cpu_features__ as has
    except ImportError:  # numpy < 2
        from numpy.core._multiarray_umath import __cpu_features__ as has
    blas = _blas()

    def mod(name: str) -> bool:
        return importlib.util.find_spec(name) is not None

    return {
        "CPU_SSE": has.get("SSE", False), "CPU_SSE2": has.get("SSE2", False),
        "CPU_SSE3": has.get("SSE3", False), "CPU_SSE4_1": has.get("SSE41", False),
        "CPU_SSE4_2": has.get("SSE42", False), "CPU_AVX": has.get("AVX", False),
        "CPU_AVX2": has.get("AVX2", False), "SSE": has.get("SSE", False),
        "F16C": has.get("F16C", False), "OPENMP": "openblas" in blas or "mkl" in blas,
        "BLAS_OPEN": "openblas" in blas, "BLAS_MKL": "mkl" in blas,
        "BLAS_APPLE": "accelerate" in blas, "BLAS_ATLAS": "atlas" in blas,
        "LAPACK": True, "OPENCV": mod("cv2"), "PROFILER": True,
        "DIST_KVSTORE": mod("mpi4py"), "CXX14": True, "INT64_TENSOR_SIZE": True,
    }


def feature_list() -> list[Feature]:
    """Every feature MXNet 1.9.1 names, with whether this installation has it."""
    on = _enabled()
    return [Feature(n, on.get(n, False)) for n in NAMES]


class Features(collections.OrderedDict):
    """Name -> :class:`Feature`, made once per process."""

    instance: Features | None = None

    def __new__(cls) -> Features:
        if cls.instance is None:
            cls.instance = super().__new__(cls)
            collections.OrderedDict.__init__(cls.instance,
                                             [(f.name, f) for f in feature_list()])
        return cls.instance

    def __init__(self) -> None:  # filled once in __new__
        pass

    def __repr__(self) -> str:
        return str(list(self.values()))

    def is_enabled(self, feature_name: str) -> bool:
        """Whether the feature is there; RuntimeError for a name MXNet does not know."""
        name = feature_name.upper()
        if name not in self:
            raise RuntimeError(f"Feature '{name}' is unknown, known features are: "
                               f"{list(self.keys())}")
        return self[name].enabled
