"""Measure every speed and memory target of docs/benchmarks.md on this machine, once.

    python scripts/bench_targets.py            # markdown table on stdout
    python scripts/bench_targets.py --json out.json

Single thread, pinned: the process is bound to one CPU (the idlest over a
short sample, or --cpu N) with os.sched_setaffinity, and
OPENBLAS/OMP/MKL/LINALGAD_NUM_THREADS=1 are set before numpy is imported, as
the PyTorch and JAX figures of docs/benchmarks.md were measured. Times
are medians of repeated samples after a warm-up, in process CPU time by
default (--clock wall for wall time): pinned to one CPU, CPU time leaves out
the time other jobs hold that core, the main noise on a shared machine. A ratio (GEMM-equivalents:
over one n x n numpy matmul of the same dtype; over B * B) interleaves the
samples of its two terms in one process and takes the median of the
per-sample ratios, so load drifting on a shared machine hits both alike.
The 3x3 batch rows (over B * B) are judged from memory
(timing.ratio_from_memory): before every timed call, of the pullback and of
B * B alike, the caches are emptied by writing a buffer of 3 x the L3, and
one call is timed. Back to back, B * B's 14 MB stay in L3 while the
pullback's 40 MB cannot, which makes the reference 3 times faster than in a
program whose stack was made earlier; from memory, JAX, PyTorch and a plain
C loop come out at the figures docs/benchmarks.md quotes. The in-cache
ratio is in the row's note.
These rows and the two-thread ones follow the host's memory traffic, so
the rules take turns, --rounds times (3), and each row is its median
round, with the range in the row's note.
The two-thread figure runs in a subprocess allowed two CPUs, with the batch
loop at one and at two threads (BLAS stays at one); memory in a fresh
pinned subprocess. JAX's and PyTorch's figure for the same quantity is
shown when they are importable (reverse pass alone on stored residuals).
The 3x3 batch rows of svd, eigh and eig also give their traffic floor: the
same ratios (from memory, in cache) for one C pass that only reads the
arrays the pullback reads and writes dA (scripts/bench_batch_floor.py), the
least any code could take. The two-thread rows give, from the same
interleaved rounds, two controls on two threads: that floor's pass split in
two (what the host's memory gave a second thread that only moves the same
bytes) and a loop of multiply-adds touching no memory (what the cores gave).

The inputs are the asv suite's (asv_bench/benchmarks/common.py): spectra
with well-separated values, phase-invariant cotangents, default options.
"""

import os
import sys

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(ROOT, "asv_bench"))
import timing  # noqa: E402  (no numpy: pins before numpy is imported)

_MODE = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1].endswith("-worker") else None
if _MODE == "--threads-worker":  # two CPUs given on the command line, thread vars at 1
    timing.pin_single_thread(int(os.environ["BENCH_CPU"]))
    os.sched_setaffinity(0, {int(c) for c in sys.argv[3].split(",")})
else:
    _cpu = sys.argv[sys.argv.index("--cpu") + 1] if "--cpu" in sys.argv else os.environ.get("BENCH_CPU")
    os.environ["BENCH_CPU"] = str(timing.pin_single_thread(_cpu))

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

from benchmarks import common  # noqa: E402  (imports linalgad; working tree as fallback)
from benchmarks.cases import Case  # noqa: E402

linalgad = common.linalgad


median_time, ratio, ratio_from_memory = timing.median_time, timing.ratio, timing.ratio_from_memory


def gemm_ref(n, dtype):
    g = common.generator("targets-gemm", n, dtype)
    A, B = common.gaussian(g, (n, n), dtype), common.gaussian(g, (n, n), dtype)
    return lambda: A @ B


def have(name):
    return hasattr(linalgad, name)


# --- peers ----------------------------------------------------------------------

def peer_pullback(peer, rule, dtype, n, batch=()):
    if importlib.util.find_spec(peer) is None:
        return None
    from benchmarks import peers
    A = peers._input(rule, dtype, n, batch)
    try:
        pb = (peers.jax_pullback if peer == "jax" else peers.torch_pullback)(rule, A)
        pb()
    except Exception as exc:  # report, do not fail the table
        print(f"# {peer} {rule}: {type(exc).__name__}: {exc}", file=sys.stderr)
        return None
    return pb


def peer_cell(values):
    cells = [f"{p} {v}" for p, v in values.items() if v is not None]
    return "; ".join(cells) if cells else "n/a"


# --- the targets ------------------------------------------------------------------

class Table:
    def __init__(self):
        self.rows = []

    def add(self, target, value, limit, ok, unit="", peers=None, note=""):
        self.rows.append({"target": target, "value": value, "limit": limit, "ok": ok,
                          "unit": unit, "peers": peers or {}, "note": note})

    def markdown(self):
        out = ["| target | measured | limit | pass | PyTorch / JAX (same figure) |",
               "|---|---|---|---|---|"]
        for r in self.rows:
            if r["value"] is None:
                meas, ok = "not available" + (f" ({r['note']})" if r["note"] else ""), "skip"
            else:
                meas = f"{r['value']:.3g} {r['unit']}".strip()
                if r["note"]:
                    meas += f" ({r['note']})"
                ok = "pass" if r["ok"] else "**FAIL**"
            out.append(f"| {r['target']} | {meas} | {r['limit']} | {ok} | {peer_cell(r['peers'])} |")
        return "\n".join(out)


def pullback_gemm(rule, dtype, n, gemm_dtype=None):
    case = Case(rule, dtype, n)
    return ratio(case.pull, gemm_ref(n, gemm_dtype or dtype))[0]


def peer_gemm(rule, dtype, n, gemm_dtype=None):
    out = {}
    for peer in ("torch", "jax"):
        pb = peer_pullback(peer, rule, dtype, n)
        out[peer] = None if pb is None else f"{ratio(pb, gemm_ref(n, gemm_dtype or dtype))[0]:.2f}"
    return out


def dense_targets(t, with_peers):
    for dtype in ("float64", "complex128"):
        v = pullback_gemm("svd", dtype, 512)
        t.add(f"SVD pullback, n=512, {dtype}", v, "<= 4.5 GEMM", v <= 4.5, "GEMM",
              peer_gemm("svd", dtype, 512) if with_peers else None)
    for dtype in ("float64", "complex128"):
        if not have("eigh_vjp"):
            t.add(f"eigh pullback, n=512, {dtype}", None, "<= 3.0 GEMM", False, note="no eigh_vjp")
            continue
        v = pullback_gemm("eigh", dtype, 512)
        t.add(f"eigh pullback, n=512, {dtype}", v, "<= 3.0 GEMM", v <= 3.0, "GEMM",
              peer_gemm("eigh", dtype, 512) if with_peers else None)
    if have("eig_vjp"):
        v = pullback_gemm("eig", "float64", 256)
        t.add("eig pullback, real input, n=256", v, "<= 16 real GEMM", v <= 16, "real GEMM",
              peer_gemm("eig", "float64", 256) if with_peers else None)
    else:
        t.add("eig pullback, real input, n=256", None, "<= 16 real GEMM", False, note="no eig_vjp")


def small_targets(t, with_peers):
    for rule in ("svd", "polar", "eigh", "eig", "funm"):
        try:
            case = Case(rule, "float64", 8)
        except NotImplementedError as exc:
            t.add(f"one 8x8 {rule} pullback (float64), incl. Python call", None, "<= 15 us", False,
                  note=str(exc))
            continue
        v = median_time(case.pull) * 1e6
        peers = None
        if with_peers and rule in ("svd", "eigh", "eig"):
            peers = {}
            for peer in ("torch", "jax"):
                pb = peer_pullback(peer, rule, "float64", 8)
                peers[peer] = None if pb is None else f"{median_time(pb) * 1e6:.1f} us"
        t.add(f"one 8x8 {rule} pullback (float64), incl. Python call", v, "<= 15 us", v <= 15,
              "us", peers)


def median_round(rows, rounds):
    """The row of the round with the median value (the peers of the first
    round, where they were measured), its note naming the range."""
    ok = [r for r in rows if r["value"] is not None]
    if len(ok) < 2:
        return rows[0]
    ok.sort(key=lambda r: r["value"])
    row = dict(ok[(len(ok) - 1) // 2], peers=rows[0]["peers"])
    row["note"] = (f"median of {rounds} rounds spread over the run, "
                   f"{ok[0]['value']:.3g}-{ok[-1]['value']:.3g}; " + row["note"]).rstrip("; ")
    return row


def batch_targets(t, with_peers, rounds):
    """Each rule in a fresh pinned subprocess: an earlier case's heap (and a
    peer's threads) changed what the allocation of B * B cost (funm's B * B
    read 0.40 ms after polar's case, 0.19 ms alone). The rules take turns,
    `rounds` times, and each row is its median round: from memory these
    rows follow the host's memory traffic, whose busy spells last seconds
    and, in a single pass, fell on whichever rule ran then (eig's pullback
    read 3.5 ms in one run and 7.6 in the next)."""
    rules = ("svd", "eigh", "polar", "funm", "eig")
    rows = {rule: [] for rule in rules}
    for k in range(rounds):
        for rule in rules:
            cmd = [sys.executable, os.path.abspath(__file__), "--batch-worker", rule,
                   "peers" if with_peers and k == 0 else "no-peers", timing.clock_name()]
            proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
            rows[rule].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    for rule in rules:
        t.add(**median_round(rows[rule], rounds))


def _batch_floor():
    """scripts/bench_batch_floor.py, the traffic floor's C and its callers."""
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import bench_batch_floor
    return bench_batch_floor


def traffic_floor(case):
    """(from memory, in cache): the ratios to B * B of one pass reading what
    the pullback reads and writing dA (scripts/bench_batch_floor.py), or
    None (another rule, no C compiler)."""
    import tempfile
    bf = _batch_floor()
    if case.rule not in bf.FLOOR_RULES:
        return None
    with tempfile.TemporaryDirectory() as tmp:
        try:
            lib, _ = bf.compile_c(tmp)
        except SystemExit as exc:
            print(f"# no traffic floor: {exc}", file=sys.stderr)
            return None
        fn, _ = bf.floor_of(lib, case)
        A = case.A
        return ratio_from_memory(fn, lambda: A * A)[0], ratio(fn, lambda: A * A)[0]


def batch_worker(rule, with_peers):
    """The target judged from memory (see the module docstring); the
    in-cache figures of the same quantities in the row's note and peer cells."""
    label = f"100,000 3x3 {rule} pullback / B*B from memory (float64, 1 thread)"
    t = Table()
    try:
        case = Case(rule, "float64", 3, (100_000,))
    except NotImplementedError as exc:
        t.add(label, None, "<= 5", False, note=str(exc))
    else:
        A = case.A
        r, tp, tbb = ratio_from_memory(case.pull, lambda: A * A)
        rc, tpc, tbbc = ratio(case.pull, lambda: A * A)
        peers = None
        if with_peers and rule in ("svd", "eigh", "eig"):    # the rules peers.py knows
            peers = {}
            for peer in ("torch", "jax"):
                pb = peer_pullback(peer, rule, "float64", 3, (100_000,))
                if pb is None:
                    peers[peer] = None
                    continue
                pm, pc = ratio_from_memory(pb, lambda: A * A)[0], ratio(pb, lambda: A * A)[0]
                peers[peer] = f"{pm:.1f} (in cache {pc:.0f})"
        note = (f"{tp * 1e3:.2f} ms vs B*B {tbb * 1e3:.3f} ms; in cache: {rc:.1f} "
                f"({tpc * 1e3:.2f} vs {tbbc * 1e3:.3f} ms)")
        floor = traffic_floor(case)
        if floor is not None:
            note += f"; traffic floor {floor[0]:.1f} (in cache {floor[1]:.1f})"
        t.add(label, r, "<= 5", bool(r <= 5), "", peers, note=note)
    print(json.dumps(t.rows[0]))


def thread_targets(t, rounds):
    """As the batch rows: the two rules take turns, `rounds` times, each row
    its median round."""
    rules = ("svd", "eigh")
    rows = {rule: [] for rule in rules}
    for _ in range(rounds):
        for rule in rules:
            rows[rule].append(_thread_row(rule))
    for rule in rules:
        t.add(**median_round(rows[rule], rounds))


def _thread_row(rule):
    """One round of a rule's two-thread row (a dict for Table.add)."""
    sub = Table()
    cpus = timing.ALLOWED[:2]
    label = f"100,000 3x3 {rule} pullback: 1 thread / 2 threads"
    if not have(rule + "_vjp"):
        sub.add(label, None, ">= 1.6", False, note=f"no {rule}_vjp")
    elif len(cpus) < 2:
        sub.add(label, None, ">= 1.6", False, note="one CPU only")
    else:
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--threads-worker", rule,
                               ",".join(map(str, cpus))], capture_output=True, text=True,
                              check=True)
        r = json.loads(proc.stdout.strip().splitlines()[-1])
        sp = r["ratio"]
        note = f"{r['t1'] * 1e3:.2f} ms / {r['t2'] * 1e3:.2f} ms"
        for key, what in (("floor", "its traffic floor"), ("fma", "an FMA loop")):
            if key in r:
                c = r[key]
                note += (f"; {what} on 2 threads: {c['ratio']:.2f} "
                         f"({c['t1'] * 1e3:.2f} / {c['t2'] * 1e3:.2f} ms)")
        sub.add(label + " (float64)", sp, ">= 1.6", sp >= 1.6, "x", None, note=note)
    return sub.rows[0]


def threads_worker(rule):
    """Subprocess: allowed two CPUs, BLAS at one thread; the batch loop timed
    with 1 and 2 threads, and in the same interleaved rounds two controls
    on 1 and 2 threads (thread_controls), so a spell of load on the shared
    host falls on all three alike."""
    case = Case(rule, "float64", 3, (100_000,))

    def at(threads):    # a pullback reads the thread count when it runs
        def run():
            linalgad.set_num_threads(threads)
            case.pull()
        return run

    import tempfile
    with tempfile.TemporaryDirectory() as tmp:
        controls = thread_controls(case, tmp)
        got = timing.ratios([(at(1), at(2)), *controls.values()], 1.0, 9)
    (r, t1, t2), rest = got[0], got[1:]
    out = {"t1": t1, "t2": t2, "ratio": r}
    for name, (cr, c1, c2) in zip(controls, rest):
        out[name] = {"ratio": cr, "t1": c1, "t2": c2}
    print(json.dumps(out))


def thread_controls(case, tmp):
    """{name: (1-thread callable, 2-thread callable)}: what the host gave a
    second thread, from scripts/bench_batch_floor.py's C built in tmp.
    "floor": the traffic floor's pass over the pullback's arrays, split in
    two (memory alone); "fma": a loop of multiply-adds that touches no
    memory (the cores alone). Empty without a C compiler or OpenMP; no
    "floor" for a rule without one."""
    bf = _batch_floor()
    try:
        lib, _ = bf.compile_c(tmp)
        out = {"fma": tuple(bf.spin_call(lib, k) for k in (1, 2))}
        if case.rule in bf.FLOOR_RULES:
            out = {"floor": tuple(bf.floor_of(lib, case, k)[0] for k in (1, 2)), **out}
    except (SystemExit, ValueError) as exc:
        print(f"# no two-thread controls: {exc}", file=sys.stderr)
        return {}
    return out


MEMORY_CASES = (("svd", "float64", 512, ()), ("svd", "complex128", 512, ()),
                ("svd", "float64", 3, (100_000,)), ("polar", "float64", 3, (100_000,)),
                ("eigh", "float64", 512, ()), ("eigh", "float64", 3, (100_000,)),
                ("eig", "float64", 256, ()), ("eig", "float64", 3, (100_000,)))


def memory_targets(t):
    """Peak memory a pullback adds (VmHWM reset), against its output plus
    an O(n^2) workspace per thread: 8 n^2 itemsize + 64 KiB of slack.
    Each case in a fresh pinned subprocess: VmHWM is per process, JAX's
    threads (imported here for the peer columns) allocate on their own, and
    an earlier case's freed heap changes what a later one adds."""
    for i in range(len(MEMORY_CASES)):
        proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--memory-worker", str(i)],
                              capture_output=True, text=True, check=True)
        t.add(**json.loads(proc.stdout.strip().splitlines()[-1]))


def memory_worker(i):
    rule, dtype, n, batch = MEMORY_CASES[i]
    label = f"peak memory of {rule} pullback, " + (f"{batch[0]:,} {n}x{n}" if batch else f"n={n}") + \
        f" {dtype}"
    t = Table()
    try:
        case = Case(rule, dtype, n, batch)
    except NotImplementedError as exc:
        t.add(label, None, "output + O(n^2)", False, note=str(exc))
    else:
        case.pull()
        extra = min(common.extra_peak_bytes(case.pull) for _ in range(3))
        item = np.dtype(dtype).itemsize * (2 if rule == "eig" and np.dtype(dtype).kind == "f" else 1)
        limit = case.out_bytes + 8 * n * n * item + 64 * 1024
        t.add(label, extra / 2**20, f"<= {limit / 2**20:.2f} MiB (output {case.out_bytes / 2**20:.2f})",
              bool(extra <= limit), "MiB")
    print(json.dumps(t.rows[0]))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", help="also write the rows to this file")
    ap.add_argument("--no-peers", action="store_true", help="skip PyTorch/JAX even if importable")
    ap.add_argument("--cpu", type=int, help="pin to this CPU (default: the idlest one)")
    ap.add_argument("--clock", choices=["cpu", "wall"], default="cpu",
                    help="single-thread figures in process CPU time (default: robust to other jobs "
                         "on a shared machine) or wall time; the thread speedup is always wall time")
    ap.add_argument("--rounds", type=int, default=3,
                    help="the 3x3 batch and two-thread rows: rounds spread over the run, each "
                         "row its median round (default 3)")
    args = ap.parse_args()
    with_peers = not args.no_peers
    timing.set_clock(args.clock)
    t = Table()
    t0 = time.time()
    load0 = timing.load_average()
    dense_targets(t, with_peers)
    small_targets(t, with_peers)
    batch_targets(t, with_peers, args.rounds)
    thread_targets(t, args.rounds)
    memory_targets(t)
    import platform
    peers_seen = [p for p in ("torch", "jax") if with_peers and importlib.util.find_spec(p)]
    print(f"linalgad {getattr(linalgad, '__version__', '?')} at {os.path.dirname(linalgad.__file__)}; "
          f"numpy {np.__version__}; Python {platform.python_version()}; pinned to CPU "
          f"{sorted(os.sched_getaffinity(0))}, 1 thread, {args.clock} clock; peers: {', '.join(peers_seen) or 'none'}; "
          f"{time.time() - t0:.0f} s; load average {load0} at start, {timing.load_average()} at end "
          f"(2 cores: above ~1, other jobs share the machine and absolute times suffer most)\n")
    print(t.markdown())
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(t.rows, fh, indent=1)
    return 0


if __name__ == "__main__":
    if _MODE == "--memory-worker":
        memory_worker(int(sys.argv[2]))
    elif _MODE == "--batch-worker":
        timing.set_clock(sys.argv[4])
        batch_worker(sys.argv[2], sys.argv[3] == "peers")
    elif _MODE == "--threads-worker":
        threads_worker(sys.argv[2])
    else:
        sys.exit(main())
