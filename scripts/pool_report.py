#!/usr/bin/env python3
"""Runs the pool_bench-<malloc> programs and prints the pool's ratios.

Usage: pool_report.py BUILD_DIR   (scripts/dev.sh bench prints these tables too)

Single-thread figures are the best CPU time of 5 repetitions (bench_report.py
says why the best). A ratio of the pool to a malloc divides two benchmarks of
that malloc's binary (the pool's fast path never calls malloc, and one process
runs both interleaved, so both see the same load); against the best of several
mallocs it is the highest of those ratios. Thread scaling uses the best
wall-clock items/s of BM_PoolPairThreads/threads:2 over that of threads:1, and
the median of the in-turn ratios of BM_*ScalingInTurn (with their controls).
"""
import math
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_report import run  # noqa: E402  (one runner for every benchmark program)

PEERS = ["glibc", "mimalloc", "jemalloc", "tcmalloc"]
SIZES = [16, 64, 256, 1024, 4096]


def print_tables(results):
    """Prints the pool's tables from bench_report's results ("program:name" keys)."""
    r = {}
    for key, value in results.items():
        program, name = key.split(":", 1)
        if program.startswith("pool_bench-"):
            r.setdefault(program[len("pool_bench-"):], {})[name] = value
    if "glibc" not in r:
        return
    g = r["glibc"]
    cpu = lambda peer, name: r[peer][name]["cpu"] if peer in r and name in r[peer] else float("nan")

    def per_malloc(pool_name, malloc_name, peers):
        """The pool over the best of `peers`' mallocs: each peer's ratio is taken
        in its own binary (the pool and that malloc measured in one process,
        interleaved), and the highest of them is the ratio to the best."""
        ratios = [cpu(p, pool_name) / cpu(p, malloc_name) for p in peers if p in r]
        ratios = [x for x in ratios if math.isfinite(x)]  # a benchmark missing from a binary
        return max(ratios) if ratios else float("nan")

    print("\n## allocate+free pair, CPU ns (best of 5)")
    cols = ["pool Buffer", "pool bytes", "Buffer via Allocator&"] + [f"{p} malloc" for p in PEERS] + \
           ["pmr unsync", "pmr sync", "foonathan", "floor", "memory floor"]
    print("| size | " + " | ".join(cols) + " |")
    print("|---" * (len(cols) + 1) + "|")
    for s in SIZES:
        row = [cpu("glibc", f"BM_PoolBufferPair/{s}"), cpu("glibc", f"BM_PoolBytesPair/{s}"),
               cpu("glibc", f"BM_PoolErasedBufferPair/{s}")]
        row += [cpu(p, f"BM_MallocPair/{s}") for p in PEERS]
        row += [cpu("glibc", f"BM_{n}/{s}") for n in
                ("PmrUnsyncPair", "PmrSyncPair", "FoonathanPoolPair", "FreeListFloorPair",
                  "FreeListMemoryFloorPair")]
        print(f"| {s} | " + " | ".join(f"{x:.2f}" for x in row) + " |")

    print("\n## ratios (pool Buffer pair / peer; goal in brackets; a ratio to a malloc is taken"
          " in that malloc's binary, pool and malloc of one process)")
    print("| size | / best(tcmalloc, mimalloc) [<=0.5] | / foonathan [<=0.8] | / floor [<=3] |"
          " / memory floor | / pmr unsync | / glibc |")
    print("|---|---|---|---|---|---|---|")
    for s in SIZES:
        pool = cpu("glibc", f"BM_PoolBufferPair/{s}")
        per_best = per_malloc(f"BM_PoolBufferPair/{s}", f"BM_MallocPair/{s}", ("tcmalloc", "mimalloc"))
        print(f"| {s} | {per_best:.2f} | {pool / cpu('glibc', f'BM_FoonathanPoolPair/{s}'):.2f} | "
              f"{pool / cpu('glibc', f'BM_FreeListFloorPair/{s}'):.2f} | "
              f"{pool / cpu('glibc', f'BM_FreeListMemoryFloorPair/{s}'):.2f} | "
              f"{pool / cpu('glibc', f'BM_PmrUnsyncPair/{s}'):.2f} | "
              f"{pool / cpu('glibc', f'BM_MallocPair/{s}'):.2f} |")

    print("\nthrough an Allocator& (the byte layer; Buffers from Allocator::allocate<T>)"
          " / best(tcmalloc, mimalloc): " + ", ".join(
              f"{s} B: bytes "
              f"{per_malloc(f'BM_PoolBytesPair/{s}', f'BM_MallocPair/{s}', ('tcmalloc', 'mimalloc')):.2f}"
              f" Buffers "
              f"{per_malloc(f'BM_PoolErasedBufferPair/{s}', f'BM_MallocPair/{s}', ('tcmalloc', 'mimalloc')):.2f}"
              for s in SIZES))

    print("\n## batch: 1000 x 64 B allocate, then free (CPU us, best of 5)")
    pool = cpu("glibc", "BM_PoolBufferBatch/64")
    mallocs = {p: cpu(p, "BM_MallocBatch/64") for p in PEERS}
    for p, v in mallocs.items():
        print(f"{p} malloc: {v / 1e3:.2f}")
    raw = cpu("glibc", "BM_PoolInlineBatch/64")
    sized = cpu("glibc", "BM_PoolSizedBatch/64")
    print(f"pool (Buffers): {pool / 1e3:.2f}  pool (raw pointers, unsized free): {raw / 1e3:.2f}  "
          f"pool (raw pointers, sized free): {sized / 1e3:.2f}  "
          f"pmr unsync: {cpu('glibc', 'BM_PmrUnsyncBatch/64') / 1e3:.2f}  "
          f"foonathan: {cpu('glibc', 'BM_FoonathanPoolBatch/64') / 1e3:.2f}")
    batch = lambda name: per_malloc(name, "BM_MallocBatch/64", PEERS)
    print(f"pool / best malloc [<=0.5] (each in the malloc's own binary): "
          f"Buffers {batch('BM_PoolBufferBatch/64'):.2f}, "
          f"raw pointers with unsized free (as malloc is measured) "
          f"{batch('BM_PoolInlineBatch/64'):.2f}, "
          f"with sized free {batch('BM_PoolSizedBatch/64'):.2f}, "
          f"bulk calls (allocate_bulk, deallocate_bulk) {batch('BM_PoolBulkBatch/64'):.2f}, "
          f"bulk calls over Buffers {batch('BM_PoolBufferBulkBatch/64'):.2f}")
    print(f"hybrid bulk calls / best malloc: raw {batch('BM_HybridBulkBatch/64'):.2f}, "
          f"over Buffers {batch('BM_HybridBufferBulkBatch/64'):.2f}; hybrid / pool "
          f"(glibc's binary): raw "
          f"{cpu('glibc', 'BM_HybridBulkBatch/64') / cpu('glibc', 'BM_PoolBulkBatch/64'):.2f}, "
          f"Buffers {cpu('glibc', 'BM_HybridBufferBulkBatch/64') / cpu('glibc', 'BM_PoolBufferBulkBatch/64'):.2f}")
    # jemalloc's own bulk call (experimental.batch_alloc, then sdallocx each).
    je_bulk = cpu("jemalloc", "BM_JemallocBulkBatch/64")
    print(f"pool bulk calls: {cpu('glibc', 'BM_PoolBulkBatch/64') / 1e3:.2f}  "
          f"jemalloc batch_alloc + sdallocx: {je_bulk / 1e3:.2f}  "
          f"pool bulk / jemalloc bulk (jemalloc's binary): "
          f"{cpu('jemalloc', 'BM_PoolBulkBatch/64') / je_bulk:.2f}")
    # BM_BatchModel<header, counters, check> (bench/pool_bench.cpp): the sized
    # batch's loops over a model of the thread cache, each piece the pool adds
    # to a bare stack switched on or off.
    models = [("bare stack", "false, false, false"), ("header", "true, false, false"),
              ("counters", "false, true, false"), ("check", "false, false, true"),
              ("header + counters", "true, true, false"), ("all three", "true, true, true")]
    print("batch model / best malloc (the pool's pieces on a bare stack: the header "
          "written by allocate and free, the three counters, the sized free's check): " +
          ", ".join(f"{label} {batch(f'BM_BatchModel<{args}>/64'):.2f}" for label, args in models))

    print("\n## mixed sizes: pairs of 256 sizes from 8 B to 4 KiB in a fixed random order (CPU ns, best of 5)")
    mixed = {p: cpu(p, "BM_MallocMixedPair") for p in PEERS}
    pool_mixed = cpu("glibc", "BM_PoolBufferMixedPair")
    print("pool Buffer: " + f"{pool_mixed:.2f}  " +
          "  ".join(f"{p} malloc: {v:.2f}" for p, v in mixed.items()))
    print(f"pool / best(tcmalloc, mimalloc) (each in the malloc's own binary): "
          f"{per_malloc('BM_PoolBufferMixedPair', 'BM_MallocMixedPair', ('tcmalloc', 'mimalloc')):.2f}")

    print("\n## two threads: items/s at 2 threads / items/s at 1 thread [pool >=1.8]")
    for name in ("BM_PoolPairThreads", "BM_PmrSyncPairThreads", "BM_MallocPairThreads"):
        one = g.get(f"{name}/real_time/threads:1", {}).get("items", 0)
        two = g.get(f"{name}/real_time/threads:2", {}).get("items", 0)
        if one:
            print(f"{name}: {two / one:.2f}")
    print("\nmeasured in turn (1- and 2-thread blocks next to each other; median of 5), with the"
          " controls of the same iterations: a multiply chain in a register, and the same pairs"
          " on a pool per thread, and a free list per thread (nothing shared)")
    print("| benchmark | 2 threads / 1 | multiply control | pool per thread | free list per thread |")
    print("|---|---|---|---|---|")
    for name in ("BM_PoolScalingInTurn", "BM_PmrSyncScalingInTurn", "BM_MallocScalingInTurn"):
        f = next((v for k, v in g.items() if k.startswith(name + "/")), None)
        if f is not None:
            print(f"| {name} | {f.get('two_per_one', float('nan')):.2f} |"
                  f" {f.get('multiply_two_per_one', float('nan')):.2f} |"
                  f" {f.get('own_pool_two_per_one', float('nan')):.2f} |"
                  f" {f.get('floor_two_per_one', float('nan')):.2f} |")

    for peer in PEERS:
        if peer in r:
            print_hybrid_table(peer, r[peer])
    print_in_turn_table(r)


def print_hybrid_table(peer, g):
    """The hybrid against each of its routes, in the binary linked with `peer`."""
    print(f"\n## hybrid vs its routes, {peer} malloc (CPU ns, best of 5; hybrid / better route [<=1.10])")
    print("| type | count | hybrid route | hybrid | pooled route | direct route | hybrid / better |"
          " retained: hybrid / pool |")
    print("|---|---|---|---|---|---|---|---|")
    nan = {"cpu": float("nan"), "retained": 0}
    for t in ("std::uint8_t", "Rgb", "std::uint32_t", "double", "Vec3", "Vec4"):
        names = [k for k in g if k.startswith(f"BM_HybridTyped<{t}>/")]
        for k in sorted(names, key=lambda k: int(k.rsplit("/", 1)[1])):
            c = k.rsplit("/", 1)[1]
            h = g[k]["cpu"]
            pooled = g.get(f"BM_PooledRouteTyped<{t}>/{c}", nan)
            d = g.get(f"BM_DirectRouteTyped<{t}>/{c}", nan)["cpu"]
            route = "pooled" if g[k]["retained"] > 0 else "direct"
            print(f"| {t} | {c} | {route} | {h:.2f} | {pooled['cpu']:.2f} | {d:.2f} |"
                  f" {h / min(pooled['cpu'], d):.2f} | {g[k]['retained']:.0f} / {pooled['retained']:.0f} |")

def print_in_turn_table(r):
    """The hybrid against the route it takes, measured in turn in one loop."""
    peers = [p for p in PEERS if p in r]
    print("\n## hybrid / its route, measured in turn (blocks of 256 pairs each, same heap state;"
          " median over 20 placements of objects and code of each one's median of the blocks'"
          " ratios, median of 5) [<=1.10]")
    print("| type | count | route | " + " | ".join(peers) + " |")
    print("|---|---|---|" + "---|" * len(peers))
    g = r[peers[0]]
    for t in ("std::uint8_t", "Rgb", "std::uint32_t", "double", "Vec3", "Vec4"):
        names = [k for k in g if k.startswith(f"BM_HybridInTurnWithRoute<{t}>/")]
        for k in sorted(names, key=lambda k: int(k.rsplit("/", 1)[1])):
            c = k.rsplit("/", 1)[1]
            route = g[k].get("label", "")
            cells = [r[p].get(k, {}).get("hybrid_per_route", float("nan")) for p in peers]
            print(f"| {t} | {c} | {route} | " + " | ".join(f"{x:.2f}" for x in cells) + " |")


def main():
    build = sys.argv[1]
    results = {}
    for peer in PEERS:
        path = os.path.join(build, "bench", f"pool_bench-{peer}")
        if os.path.exists(path):
            results.update(run(f"pool_bench-{peer}", path, ""))
    print_tables(results)


if __name__ == "__main__":
    main()
