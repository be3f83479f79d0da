"""The PyTorch side of `grader bench`: times every benchmark in bench/week*.py.

Each bench/weekN.py defines BENCHES = {id: setup}, where setup() builds the inputs and returns
the function to time (one iteration), with the same shapes as the Rust side's benchmark of that
id. Timing: one warm-up call, then repeated calls for about SECONDS seconds (at least 5), median
and minimum, written to target/candlecamp/bench-torch.json for `grader bench` to compare.

Usage: python bench/run_torch.py [filter] [--seconds S]   (`just bench` runs it in the fixture venv)
"""
import importlib.util
import json
import statistics
import sys
import time
from pathlib import Path

import torch

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "target" / "candlecamp" / "bench-torch.json"


# Ids a bench/weekN.py lists in SLOW (minutes a run): timed once, and only when a filter names
# them, as `grader bench` does with benchmarks whose description starts with SLOW.
SLOW = set()


def load_benches():
    benches = {}
    for path in sorted(HERE.glob("week*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        benches.update(mod.BENCHES)
        SLOW.update(getattr(mod, "SLOW", ()))
    return benches


def time_one(fn, seconds):
    fn()
    runs = []
    start = time.perf_counter()
    while (len(runs) < 5 or time.perf_counter() - start < seconds) and len(runs) < 1000:
        t = time.perf_counter()
        fn()
        runs.append(time.perf_counter() - t)
    runs.sort()
    return statistics.median_low(runs), runs[0], len(runs)


def main():
    args = sys.argv[1:]
    seconds = 2.0
    if "--seconds" in args:
        i = args.index("--seconds")
        seconds = float(args[i + 1])
        del args[i : i + 2]
    flt = args[0] if args else ""
    torch.manual_seed(0)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s)")
    results = []
    for bid, setup in load_benches().items():
        if flt not in bid or (bid in SLOW and not flt):
            continue
        with torch.inference_mode(False):
            fn = setup()
            if bid in SLOW:
                t = time.perf_counter()
                fn()
                med = mn = time.perf_counter() - t
                n = 1
            else:
                med, mn, n = time_one(fn, seconds)
        print(f"{bid:40} {med * 1e3:10.3f} ms  ({n} runs)")
        results.append({"id": bid, "median_s": med, "min_s": mn, "runs": n})
    OUT.parent.mkdir(parents=True, exist_ok=True)
    old = {t["id"]: t for t in json.loads(OUT.read_text())} if OUT.exists() else {}
    old.update({t["id"]: t for t in results})
    OUT.write_text(json.dumps(list(old.values()), indent=1) + "\n")
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
