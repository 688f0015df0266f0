"""linalgad.show_config(): what this installation runs on."""

import importlib.resources
import json
import os
import platform
from typing import Any, Literal

from . import _dispatch, _options

__all__ = ["show_config"]


def _build() -> dict[str, Any]:
    """The build's record (setup.py writes _build.json beside the core)."""
    try:
        return json.loads(importlib.resources.files("linalgad").joinpath("_build.json").read_text())
    except (OSError, ValueError):
        return {"mode": "unknown (no build record)", "targets": {}}


def _threads() -> dict[str, Any]:
    from . import _core
    if _options._forked:
        source = "1 in a forked child until set_num_threads is called"
    elif _options._threads is not None:
        source = "set_num_threads or LINALGAD_NUM_THREADS"
    else:
        source = "default: the smallest of the OpenMP max threads and the usable CPUs"
    return {"count": _options.get_num_threads(), "source": source,
            "openmp_max_threads": _core.omp_max_threads(), "usable_cpus": _options._usable_cpus(),
            "openmp_wait": "passive (set by linalgad)" if _dispatch.chosen["passive"]
            else "the runtime's (OMP_WAIT_POLICY, GOMP_SPINCOUNT, or loaded before linalgad)",
            "busy_machine_guard": _core.batch_guard()[0],
            **{v: os.environ[v] for v in ("LINALGAD_NUM_THREADS", "OMP_NUM_THREADS") if v in os.environ}}


def _libraries() -> list[dict[str, Any]] | str:
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return "unknown (threadpoolctl is not installed)"
    keys = ("user_api", "internal_api", "version", "num_threads", "threading_layer",
            "architecture", "filepath")
    return [{k: lib[k] for k in keys if lib.get(k) is not None} for lib in threadpool_info()]


def _config() -> dict[str, Any]:
    from . import __version__
    features = _dispatch.cpu_features()
    decisive = dict.fromkeys(f for t in _dispatch.TARGETS for f in _dispatch.required(t, features))
    build = _build()
    return {
        "linalgad": {"version": __version__},
        "core": {
            "target": _dispatch.chosen["target"],
            "chosen_by": _dispatch.chosen["reason"],
            "built": _dispatch.built(),
            "build": build["mode"],
            "compile_flags": " ".join(build["targets"].get(_dispatch.chosen["target"], ["unknown"])),
        },
        "cpu": {"machine": platform.machine(),
                "features": {f: bool(features.get(f)) for f in decisive} or "unknown (NumPy reports none)"},
        "threads": _threads(),
        "libraries": _libraries(),
    }


def _lines(value: Any, indent: str = "") -> list[str]:
    out = []
    for k, v in (value.items() if isinstance(value, dict) else enumerate(value, 1)):
        if isinstance(v, dict) or (isinstance(v, list) and v and isinstance(v[0], dict)):
            out += [f"{indent}{k}:"] + _lines(v, indent + "  ")
        else:
            out.append(f"{indent}{k}: {', '.join(v) if isinstance(v, list) else v}")
    return out


def show_config(mode: Literal["stdout", "dicts"] = "stdout") -> dict[str, Any] | None:
    """Print (or return) the configuration linalgad runs with.

    Parameters
    ----------
    mode : {"stdout", "dicts"}, default "stdout"
        "stdout" prints it; "dicts" returns it as nested dictionaries
        (as ``numpy.show_config``).

    Returns
    -------
    dict or None
        With ``mode="dicts"``: ``"linalgad"`` (the version); ``"core"``: the
        compiled core's ``"target"`` this process runs (``"baseline"``,
        ``"avx2"`` or ``"avx512"``), ``"chosen_by"``, the targets ``"built"``,
        the ``"build"`` mode (``"portable"``, ``"native"`` for a
        ``LINALGAD_NATIVE=1`` build, ``"sanitize"``) and the target's
        ``"compile_flags"``; ``"cpu"``: the CPU features (NumPy's names) that
        decided the target; ``"threads"``: :func:`get_num_threads`, where
        the count comes from, how idle OpenMP threads wait and whether the
        busy-machine guard is on; ``"libraries"``: the BLAS and OpenMP libraries
        loaded, with their thread counts (from ``threadpoolctl`` if
        installed). None with ``mode="stdout"``.

    Raises
    ------
    ValueError
        If ``mode`` is neither "stdout" nor "dicts".

    Notes
    -----
    A portable build (the default, e.g. a wheel) has the core compiled for
    several instruction sets; the best one the CPU runs is chosen once, at
    import, from NumPy's runtime CPU feature detection.
    ``LINALGAD_CPU_TARGET=baseline|avx2|avx512`` in the environment forces
    one (it warns and is ignored when the CPU or the build lacks it). Include
    this output in a bug report.

    Examples
    --------
    >>> import linalgad as la
    >>> cfg = la.show_config(mode="dicts")
    >>> cfg["core"]["target"] in cfg["core"]["built"]
    True
    >>> la.show_config()    # doctest: +ELLIPSIS
    linalgad:
      version: ...
    core:
      target: ...
    """
    if mode not in ("stdout", "dicts"):
        raise ValueError(f"show_config: mode must be 'stdout' or 'dicts', got {mode!r}")
    config = _config()
    if mode == "dicts":
        return config
    print("\n".join(_lines(config)))
    return None
