#!/usr/bin/env python3
"""Runs every benchmark program in <build>/bench and prints ratios against peers.

Usage: bench_report.py BUILD_DIR [FILTER]

Each program runs with 5 interleaved repetitions; the report uses the best
(lowest) CPU time of each benchmark, and every ratio compares two benchmarks
measured in the same run of this script. Why the best and not the median: the
machine is shared, and its throughput switches between two levels about 1.6x
apart for seconds at a time (the same binary read 2.5 or 4.2 ns a pair from
one process to the next, both sides of an A/B alike); a median of 5 mixes the
levels differently for each benchmark, and the best of 5 reads most of them
at the unloaded level (not all: in one run, single repetitions of two of
core_bench's identical loops read a level faster still, so compare such rows
across runs). Absolute times still mean little. Results go to
<build>/bench/results.json and a table on stdout, and the ratios are drawn
with gnuplot into docs/benchmarks.png (the chart in the README).
"""
import json
import os
import re
import shutil
import subprocess
import sys

# (label, numerator, denominator): "program:benchmark" names, best times compared.
RATIOS = [
    ("system pair / malloc pair (64 B)", "core_bench:BM_SystemPair64", "core_bench:BM_MallocPair64"),
    ("span index loop / raw index loop", "core_bench:BM_SpanIndexLoop", "core_bench:BM_RawIndexLoop"),
    ("span range loop / raw range loop", "core_bench:BM_SpanRangeLoop", "core_bench:BM_RawRangeLoop"),
    ("checked operator[] loop / raw index loop", "core_bench:BM_CheckedIndexLoop", "core_bench:BM_RawIndexLoop"),
    ("arena typed / bump pointer (64 B)", "scoped_bench:BM_ArenaTyped64", "scoped_bench:BM_BumpPointer64"),
    ("arena typed / pmr monotonic, inlined (64 B)", "scoped_bench:BM_ArenaTyped64", "scoped_bench:BM_PmrMonotonic64"),
    ("arena typed / pmr monotonic via memory_resource& (64 B)", "scoped_bench:BM_ArenaTyped64", "scoped_bench:BM_PmrMonotonicVirtual64"),
    ("DeferScope / vector<function> (4 actions)", "scoped_bench:BM_DeferScope/4", "scoped_bench:BM_VectorOfFunction/4"),
    ("debug pair / ASan malloc pair (64 B)", "debug_bench:BM_DebugPair64", "debug_asan_bench:BM_AsanMallocPair64"),
    ("debug pair / system pair (64 B)", "debug_bench:BM_DebugPair64", "core_bench:BM_SystemBytesPair64"),
    ("vector<int> push_back x1000: pool (StdAllocator) / std::allocator", "adapters_bench:BM_VectorOnPool/1000", "adapters_bench:BM_VectorStdAllocator/1000"),
    ("vector<int> push_back x16: pool (StdAllocator) / std::allocator", "adapters_bench:BM_VectorOnPool/16", "adapters_bench:BM_VectorStdAllocator/16"),
    ("vector<int> push_back x1000: pool (StdAllocator) / malloc allocator", "adapters_bench:BM_VectorOnPool/1000", "adapters_bench:BM_VectorMallocAllocator/1000"),
    ("vector<int> push_back x16: pool (StdAllocator) / malloc allocator", "adapters_bench:BM_VectorOnPool/16", "adapters_bench:BM_VectorMallocAllocator/16"),
    ("pmr vector<int> push_back x1000: pool / pmr unsynchronized pool", "adapters_bench:BM_PmrVectorOnPool/1000", "adapters_bench:BM_PmrVectorOnPmrPool/1000"),
    ("pool Buffer pair / mimalloc pair (64 B)", "pool_bench-mimalloc:BM_PoolBufferPair/64", "pool_bench-mimalloc:BM_MallocPair/64"),
    ("pool Buffer pair / tcmalloc pair (64 B)", "pool_bench-tcmalloc:BM_PoolBufferPair/64", "pool_bench-tcmalloc:BM_MallocPair/64"),
    ("pool pair through Allocator& (bytes) / mimalloc pair (64 B)", "pool_bench-mimalloc:BM_PoolBytesPair/64", "pool_bench-mimalloc:BM_MallocPair/64"),
    ("pool pair through Allocator& (Buffer) / mimalloc pair (64 B)", "pool_bench-mimalloc:BM_PoolErasedBufferPair/64", "pool_bench-mimalloc:BM_MallocPair/64"),
    ("pool Buffer pair / foonathan memory_pool (64 B)", "pool_bench-glibc:BM_PoolBufferPair/64", "pool_bench-glibc:BM_FoonathanPoolPair/64"),
    ("pool Buffer pair / pmr unsynchronized pool (64 B)", "pool_bench-glibc:BM_PoolBufferPair/64", "pool_bench-glibc:BM_PmrUnsyncPair/64"),
    ("pool 1000x64 B batch / mimalloc batch", "pool_bench-mimalloc:BM_PoolBufferBatch/64", "pool_bench-mimalloc:BM_MallocBatch/64"),
    ("hybrid 4096 doubles (pooled) / SystemAllocator over glibc", "pool_bench-glibc:BM_HybridTyped<double>/4096", "pool_bench-glibc:BM_DirectRouteTyped<double>/4096"),
    ("hybrid 4097 doubles (direct) / SystemAllocator over glibc", "pool_bench-glibc:BM_HybridTyped<double>/4097", "pool_bench-glibc:BM_DirectRouteTyped<double>/4097"),
]


def run(program, path, bench_filter, repetitions=5):
    """Runs one benchmark program; returns {"program:run_name": figures}.

    Per benchmark: the lowest CPU time and wall time and the highest items/s
    of its repetitions (see the module comment), the median of each of its
    counters named *_per_route or *_per_one (hybrid_per_route, the thread
    benchmarks' two_per_one and their controls: ratios measured in turn
    inside each repetition, so both sides saw the same load), and its retained_bytes
    counter and label. Repetitions are interleaved so a burst of load hits
    every benchmark alike.
    """
    cmd = [path, "--benchmark_format=json", f"--benchmark_repetitions={repetitions}",
           "--benchmark_min_time=0.05", "--benchmark_enable_random_interleaving=true"]
    if bench_filter:
        cmd.append("--benchmark_filter=" + bench_filter)
    print(f"running {program} ...", file=sys.stderr, flush=True)
    out = subprocess.run(cmd, check=True, capture_output=True, text=True).stdout
    reps = {}
    for b in json.loads(out)["benchmarks"]:
        if b.get("run_type") == "iteration":
            reps.setdefault(b["run_name"], []).append(b)
    results = {}
    for name, runs in reps.items():
        scale = {"ns": 1.0, "us": 1e3, "ms": 1e6, "s": 1e9}[runs[0]["time_unit"]]
        figures = {
            "cpu": min(r["cpu_time"] for r in runs) * scale,
            "real": min(r["real_time"] for r in runs) * scale,
            "items": max(r.get("items_per_second", 0.0) for r in runs),
            "retained": runs[-1].get("retained_bytes", 0.0),
            "hybrid_per_route": float("nan"),
            "label": runs[0].get("label", "")}
        # Ratios measured in turn: the median of the repetitions.
        for counter in (k for k in runs[0] if re.search(r"_per_(route|one)$", k)):
            ratios = sorted(r[counter] for r in runs if counter in r)
            figures[counter] = ratios[len(ratios) // 2]
        results[f"{program}:{name}"] = figures
    return results


def main():
    build = sys.argv[1]
    bench_filter = sys.argv[2] if len(sys.argv) > 2 else ""
    bench_dir = os.path.join(build, "bench")
    programs = sorted(f for f in os.listdir(bench_dir)
                      if re.search(r"_bench(-[\w-]+)?$", f)
                      and os.access(os.path.join(bench_dir, f), os.X_OK))
    results = {}
    for program in programs:
        results.update(run(program, os.path.join(bench_dir, program), bench_filter))
    best = {name: r["cpu"] for name, r in results.items()}

    print(f"\n{'benchmark (best CPU time of 5)':60} {'ns':>10}")
    for name, ns in sorted(best.items()):
        print(f"{name:60} {ns:10.2f}")
    print(f"\n{'ratio':60} {'value':>10}")
    for label, num, den in RATIOS:
        if num in best and den in best:
            print(f"{label:60} {best[num] / best[den]:10.2f}")
    import pool_report  # the pool's tables, from the same run
    pool_report.print_tables(results)
    chart([(label, best[n] / best[d]) for label, n, d in RATIOS
           if n in best and d in best],
          os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "benchmarks.png"))
    with open(os.path.join(bench_dir, "results.json"), "w") as f:
        json.dump({"best_cpu_ns": best,
                   "ratios": {label: best[n] / best[d] for label, n, d in RATIOS
                              if n in best and d in best}}, f, indent=2)


def chart(ratios, png):
    """Draws the ratios as horizontal bars; 1.0 (parity with the peer) is marked."""
    if not ratios or shutil.which("gnuplot") is None:
        print("gnuplot not found: no chart", file=sys.stderr)
        return
    data = os.path.splitext(png)[0] + ".dat"
    with open(data, "w") as f:
        for i, (label, value) in enumerate(ratios):
            f.write(f'{i} {value!r} "{label}"\n')  # full precision: the label rounds once
    height = 120 + 28 * len(ratios)
    script = f"""
set terminal pngcairo size 1000,{height} font ",10" noenhanced
set output "{png}"
set title "ziggyalloc / peer, best of 5 (lower is better)"
set style fill solid 0.8
set yrange [-0.7:{len(ratios) - 0.3}]
set xrange [0:*]
set offsets 0, graph 0.1, 0, 0
set ytics nomirror
set grid xtics
set arrow from 1,graph 0 to 1,graph 1 nohead dt 2 lc rgb "red"
unset key
plot "{data}" using 2:1:(0):2:($1-0.35):($1+0.35):ytic(3) with boxxyerror lc rgb "#3572a5", \\
     "{data}" using 2:1:(sprintf(" %.2f", $2)) with labels left
"""
    subprocess.run(["gnuplot"], input=script, text=True, check=True)
    os.remove(data)
    print(f"chart: {png}", file=sys.stderr)


if __name__ == "__main__":
    main()
