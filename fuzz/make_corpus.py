#!/usr/bin/env python3
"""Writes the seed corpora fuzz/corpus/<harness>/seed-* from readable programs.

Each harness decodes its input as a program (see the harness's header comment);
the encoders below spell those programs byte by byte, so a seed says what it
tests. Seeds are small and each aims at one edge (size-class boundaries, index
== size, copy one element too long, nested scopes, throwing defers, ...);
fuzzing grows the rest. Regression inputs for fixed bugs are named regress-*
and are never touched by this script (or by `scripts/fuzz.sh minimize`).

    python3 fuzz/make_corpus.py            # rewrites every fuzz/corpus/*/seed-*

Keep the opcode tables here in step with the enums of the harnesses.
"""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))


def u8(v):
    return bytes([v & 0xFF])


def u16(v):
    return struct.pack("<H", v & 0xFFFF)


def u32(v):
    return struct.pack("<I", v & 0xFFFFFFFF)


# ---------------------------------------------------------------- buffer_fuzzer
class BufferProgram:
    """fuzz/buffer_fuzzer.cpp: element type, then (op, slot, args...)*."""
    OPS = ["allocate", "wrap", "write", "read", "front_back", "fill", "clear",
           "copy_from", "move", "reset", "release", "spans"]
    TYPES = {"u8": 0, "u32": 1, "triple": 2, "wide": 3}

    def __init__(self, element):
        self.b = u8(self.TYPES[element])

    def op(self, name, slot, args=b""):
        self.b += u8(self.OPS.index(name)) + u8(slot) + args
        return self

    def allocate(self, slot, count, zero=False, seed=7):
        return self.op("allocate", slot, u16(count) + u8(int(zero)) + (b"" if zero else u8(seed)))

    def wrap(self, slot, count, how):  # how: 0 wrap_existing, 1 wrap_span, 2 nullptr
        return self.op("wrap", slot, u16(count) + u8(how))

    def index(self, op, slot, mode, value=0, at=False, byte=3):
        # mode 0: SIZE_MAX - u8; 1: u32; 2: size + (u8 % 4) - (u8 % 3)
        if mode == 0:
            idx = u8(0) + u8(value)
        elif mode == 1:
            idx = u8(1) + u32(value)
        else:
            idx = u8(2) + u8(value) + u8(0)
        return self.op(op, slot, idx + u8(int(at)) + u8(byte))

    def copy_vector(self, slot, length, from_slot=0):
        return self.op("copy_from", slot, u8(from_slot) + u8(1) + u16(length))

    def copy_slot(self, slot, from_slot, offset, length):
        return self.op("copy_from", slot, u8(from_slot) + u8(0) + u8(offset) + u16(length))


def buffer_seeds():
    seeds = {}
    for t in BufferProgram.TYPES:
        p = BufferProgram(t).allocate(0, 5).index("write", 0, 1, 4).index("read", 0, 1, 4)
        p.index("write", 0, 1, 5).index("read", 0, 0, 0, at=True)
        p.op("front_back", 0, u8(1)).op("front_back", 0, u8(0)).op("spans", 0)
        seeds[f"index-edges-{t}"] = p.b
        p = BufferProgram(t).allocate(1, 8, zero=True).copy_vector(1, 8).copy_vector(1, 9)
        p.copy_slot(1, 1, 1, 7).copy_slot(1, 1, 0, 6).op("fill", 1, u8(0x5A)).op("clear", 1)
        seeds[f"copy-{t}"] = p.b
    p = BufferProgram("u32").wrap(2, 6, 0).wrap(3, 6, 1).wrap(0, 3, 2).op("front_back", 0, u8(1))
    p.copy_slot(2, 3, 2, 4).op("move", 1, u8(2)).op("release", 1).op("spans", 2)
    seeds["wrap-move-release"] = p.b
    p = BufferProgram("u8").allocate(0, 300).allocate(1, 0).op("front_back", 1, u8(0))
    p.op("move", 2, u8(0)).op("release", 2, u8(1)).allocate(3, 17).op("release", 3, u8(0))
    p.allocate(0, 1).op("reset", 0).index("read", 0, 2, 0)
    seeds["ownership"] = p.b
    p = BufferProgram("wide").allocate(0, 3, zero=True).copy_slot(1, 0, 0, 3).copy_vector(0, 4)
    p.op("move", 1, u8(0)).copy_slot(1, 1, 2, 1)
    seeds["wide-aligned"] = p.b
    return seeds


# ---------------------------------------------------------------- ops engine
# ops_fuzzer, pool_fuzzer and scope_defer_fuzzer share fuzz/ops_engine.hpp;
# they differ in their target list and in the table the opcode byte indexes.
ENGINE_OPS = ["allocate", "allocate_bytes", "reset", "release", "raw_free", "write", "read",
              "fill", "copy", "move", "edge", "containers", "out_of_memory", "target_op",
              "defer", "check_all"]
POOL_OPS = ["allocate", "allocate_bytes", "allocate_bytes", "reset", "raw_free", "raw_free",
            "release", "write", "copy", "edge", "containers", "out_of_memory", "target_op",
            "target_op", "check_all"]
SCOPE_OPS = ["allocate", "allocate", "allocate_bytes", "reset", "raw_free", "release", "write",
             "fill", "copy", "target_op", "target_op", "target_op", "defer", "defer", "defer",
             "defer", "out_of_memory", "check_all"]
TYPES = ["u8", "u16", "u32", "u64", "odd", "line"]
DEFER = ["open", "push", "allocate", "run", "close", "cancel", "move"]


class OpsProgram:
    """fuzz/ops_engine.hpp: config byte, then (op, args...)*."""

    def __init__(self, targets, ops=ENGINE_OPS, config=0):
        self.targets, self.ops = targets, ops
        self.b = u8(config)

    def op(self, name, args=b""):
        self.b += u8(self.ops.index(name)) + args
        return self

    def target(self, name):
        return u8(self.targets.index(name))

    def allocate(self, target, type_, count, zero=False, large=False, concrete=False, seed=1):
        return self.op("allocate", self.target(target) + u8(TYPES.index(type_)) + u8(int(large)) +
                       u16(count) + u8(int(zero)) + u8(int(concrete)) + u8(seed))

    def allocate_bytes(self, target, size_args, align_log2, zero=False, pmr=False, seed=2):
        return self.op("allocate_bytes", self.target(target) + size_args + u8(align_log2) +
                       u8(int(zero) | (int(pmr) << 1)) + u8(seed))

    def entry_op(self, name, entry, args=b""):
        return self.op(name, u8(entry) + args)

    def write(self, entry, offset, length, seed=9):
        return self.entry_op("write", entry, u8(offset) + u16(length) + u8(seed))

    def copy(self, src, dst, length):
        return self.op("copy", u8(src) + u8(dst) + u16(length))

    def edge(self, target, what):
        return self.op("edge", self.target(target) + u8(what))

    def containers(self, target, count, seed=5):
        return self.op("containers", self.target(target) + u16(count) + u8(seed))

    def oom(self, target, size_args, seed=3):
        return self.op("out_of_memory", self.target(target) + size_args + u8(seed))

    def special(self, target, what, args=b""):
        return self.op("target_op", self.target(target) + u8(what) + args)

    def defer(self, what, args=b""):
        return self.op("defer", u8(DEFER.index(what)) + args)

    def defer_push(self, kind):  # 0 log, 1 heap, 2 throws, 3 nested
        return self.defer("push", u8(kind))

    def defer_allocate(self, target, type_, count, zero=False, seed=4):
        single = count == 1
        return self.defer("allocate", self.target(target) + u8(TYPES.index(type_)) +
                          u8(int(single)) + (b"" if single else u16(count)) + u8(int(zero)) +
                          u8(seed))


def small(size):  # default raw size: small (<= 512)
    return u8(0) + u16(size - 1)


def large(size):  # default raw size: up to 20000
    return u8(1) + u16(size - 1)


ALL_TARGETS = ["system", "scoped", "debug", "pool", "hybrid"]


def lifecycle(p, t):
    """Typed and raw blocks of every kind on target t, then frees of each kind."""
    for i, ty in enumerate(TYPES):
        p.allocate(t, ty, 1 + 7 * i, zero=(i % 2 == 0), concrete=(i % 3 == 0))
    p.allocate_bytes(t, small(100), 6, pmr=True).allocate_bytes(t, large(20000), 12, zero=True)
    p.write(0, 0, 3).copy(1, 2, 4).entry_op("fill", 3, u8(0xAB)).entry_op("move", 4)
    p.entry_op("release", 5).entry_op("raw_free", 5, u8(1)).entry_op("reset", 0)
    p.entry_op("raw_free", 1, u8(0)).op("check_all")
    return p


def ops_seeds():
    seeds = {}
    for t in ALL_TARGETS:
        seeds[f"lifecycle-{t}"] = lifecycle(OpsProgram(ALL_TARGETS), t).b
        p = OpsProgram(ALL_TARGETS)
        for w in range(5):
            p.edge(t, w)
        p.containers(t, 100).oom(t, large(4000)).oom(t, small(24))
        seeds[f"edges-{t}"] = p.b
    p = OpsProgram(ALL_TARGETS)
    p.special("scoped", 0, u8(1)).allocate("scoped", "u32", 50).allocate("scoped", "line", 3)
    p.entry_op("reset", 1).entry_op("reset", 0).special("scoped", 1, u8(1))
    p.allocate("scoped", "u8", 100).special("scoped", 2, u8(0)).special("scoped", 3, u8(1))
    seeds["scoped-levels"] = p.b
    p = OpsProgram(ALL_TARGETS)
    p.allocate("debug", "u64", 9).allocate("debug", "odd", 5).special("debug", 0)
    p.entry_op("reset", 0).special("debug", 1).special("debug", 2)
    seeds["debug-checks"] = p.b
    p = OpsProgram(ALL_TARGETS)
    p.allocate("pool", "u8", 64).allocate("pool", "u8", 64).entry_op("reset", 0).special("pool", 0)
    p.allocate("pool", "u8", 64).special("pool", 1).allocate("hybrid", "u32", 512)
    p.allocate("hybrid", "u32", 513).special("hybrid", 1, route_args("u32", 513, 4))
    p.special("hybrid", 0)
    seeds["pool-hybrid"] = p.b
    # Thread rounds on the pool (its special 5) and the hybrid (6): a worker
    # frees buffers the main thread allocated and allocates its own, over
    # the default bases, another pool (0x50) or without TLS slots (0x20).
    for cfg, suffix in ((0, ""), (0x50, "-pool-base"), (0x20, "-slotless")):
        p = OpsProgram(ALL_TARGETS, config=cfg)
        p.allocate("pool", "u8", 64).allocate("pool", "u32", 100).allocate("pool", "line", 2)
        p.allocate("hybrid", "u64", 8).allocate("hybrid", "u8", 5000)
        p.special("pool", 5, thread_args([5, 4, 6], [64, 32800, 16]))
        p.special("hybrid", 6, thread_args([4, 5], [100, 4096, 32770]))
        p.special("pool", 1).special("hybrid", 2).special("pool", 0).special("hybrid", 0)
        seeds[f"threads{suffix}"] = p.b
    p = OpsProgram(ALL_TARGETS)
    p.defer("open").defer_push(0).defer_push(1).defer_push(2).defer_push(3)
    p.defer_allocate("pool", "u32", 16).defer_allocate("scoped", "u8", 1).defer("run")
    p.defer_push(2).defer_allocate("debug", "u64", 4).defer("cancel").defer("open").defer_push(0)
    p.defer("move").defer("close")
    seeds["defers"] = p.b
    return seeds


def route_args(type_, count=None, align_log2=4, near_limit=None):
    """The hybrid's route check (its special 1): a typed allocation of `count`
    elements (below 4096), or with `near_limit` -1/0/+1 one below, at or one
    above its pooled limit; then a raw one of those bytes at 2^align_log2."""
    how = (count << 2) | 3 if near_limit is None else near_limit + 1
    return u8(TYPES.index(type_)) + u16(how) + u8(align_log2)


def reuse_args(class_index, edge, typed=False, align_log2=4, unsized=False):
    """A reuse round (the pool's special 3, the hybrid's 4): a block of the
    class's size `edge` -1/0/+1, typed as bytes or raw at 2^align_log2 and
    freed sized or (raw only) by free(void*)."""
    kind = {-1: 0, 1: 1, 0: 2}[edge]
    for how in range(256):
        if (how % 3 == kind and bool(how & 4) == typed and bool(how & 0x40) == unsized
                and (typed or (how >> 3) % 7 == align_log2)):
            return u8(how) + u8(class_index)
    raise ValueError("no reuse round byte")


def buffer_bulk_args(type_, n, count, prefill=(), zero=False, fail=False, bad=False, past=False,
                     null_at=0):
    """A Buffer bulk round (the bulk special with an even flag byte): `n`
    buffers of `count` elements (below 4 KiB; with `past`, count is the
    number of elements past the classes' 32 KiB, 1 to 4, and n at most 8),
    those in `prefill` already holding one; `bad` a count whose bytes
    overflow (or reach 2^47 for 1-byte types)."""
    how = int(bad) | (int(zero) << 1) | (int(fail) << 2) | (int(past) << 3)
    size = b"" if bad and n else u8(count - 1) if past else u16(count)
    b = u8(0) + u8(TYPES.index(type_)) + u8(how) + u8(n) + size
    b += b"".join(u8(0 if i in prefill else 1) for i in range(n))
    return b + u8(null_at)


def bad_free_args(class_index, kind, past=False, align_log2=4, at=3):
    """A bad-free round (the pool's special 4, the hybrid's 5): a block of the
    class's size (past the classes: 32 KiB + 1 + that size) at 2^align_log2,
    and a free of a pointer `kind` 0 16-aligned inside it, 1 misaligned
    inside it, 2 malloc's (`at` picks the offset or malloc's size), 3 a block
    of another pool of the same size and alignment (`at` unused)."""
    return u8(int(past) | (align_log2 << 1) | (kind << 4)) + u8(class_index) + u8(at)


def thread_args(hows, sizes):
    """A thread round (the pool's special 5, the hybrid's 6): one byte per
    live buffer, newest first (bit 2: the worker frees it; bit 0 through
    its Buffer, else bit 1 unsized), then the worker's own block sizes
    (below 4096, or 32 KiB + 1 + n past the classes)."""
    b = b"".join(u8(h) for h in hows) + u8(len(sizes))
    for size in sizes:
        b += u16(((size - 32769) << 1) | 1) if size > 32768 else u16((size - 1) << 1)
    return b


def pool_seeds():
    # The configuration's top bit picks the pool (clear) or the hybrid (set);
    # bits 0x40 and 0x10 the base (neither: a checked one; 0x10: a
    # DebugAllocator over it; 0x40: a SystemAllocator; both: another pool
    # over the checked one, its caps by bits 2-3); bit 0x20 a pool without a
    # TLS slot; the low two bits the pool's retention caps, or the hybrid's
    # thresholds (default, small, none, unbounded; bits 2-3 its pool's
    # retention caps). The target byte is still read (one target).
    # Specials: the pool's 0 clear, 1 statistics, 2 bulk, 3 reuse, 4 bad
    # free, 5 thread; the hybrid's 0 clear, 1 route, 2 statistics, 3 bulk,
    # 4 reuse, 5 bad free, 6 thread. Each seed stays within the harness's
    # max_len (256): libFuzzer cuts longer inputs when it loads them.
    seeds = {}
    # Bases beyond the two above (0x09 over another pool: for the pool, it
    # keeps nothing and the inner pool has small caps; for the hybrid, small
    # thresholds, and both its pool and the inner one small caps).
    bases = [(c, b, s) for c in range(4) for b, s in ((0, ""), (0x40, "-system"))]
    bases += [(0, 0x10, "-debug-base"), (2, 0x10, "-debug-base"), (0, 0x20, "-slotless"),
              (1, 0x60, "-system-slotless"), (3, 0x30, "-debug-base-slotless"),
              (0, 0x50, "-pool-base"), (0x09, 0x50, "-pool-base"), (2, 0x70, "-pool-base-slotless")]
    for cfg, base, suffix in bases:
        for target, top in (("pool", 0), ("hybrid", 0x80)):
            reuse = 3 if target == "pool" else 4
            ends = (0, 1) if target == "pool" else (0, 2)
            p = OpsProgram([target], POOL_OPS, config=cfg | base | top)
            for i, index in enumerate([0, 7, 8, 9, 20, 39]):
                for how in range(4):
                    size_args = u8(how) + u8(index) + (u8(i) if how == 2 else b"")
                    p.allocate_bytes(target, size_args, 4)
            for e in range(0, 20, 3):
                p.entry_op("raw_free", e, u8(e % 2))
            p.special(target, ends[0]).special(target, ends[1])
            seeds[f"class-edges-{target}-{cfg}{suffix}"] = p.b
            # Rounds: a worker thread frees three of five live buffers and
            # allocates blocks of its own; reuse rounds; bad frees.
            p = OpsProgram([target], POOL_OPS, config=cfg | base | top)
            for index in (0, 9, 39):
                p.allocate_bytes(target, u8(3) + u8(index), 4)
            p.allocate(target, "u32", 100).allocate(target, "line", 3)
            p.special(target, reuse + 2, thread_args([5, 0, 6, 4, 3],
                                                     [64, 100, 4096, 32770, 16, 32800]))
            for index, edge, typed, align, unsized in ((3, 0, False, 4, False),
                                                       (8, -1, True, 0, False),
                                                       (20, 1, False, 6, True),
                                                       (39, 0, False, 0, False),
                                                       (39, 1, True, 0, False)):
                p.special(target, reuse, reuse_args(index, edge, typed, align, unsized))
            for index, kind, past, align in ((1, 0, False, 4), (0, 1, False, 4), (5, 0, False, 6),
                                             (9, 2, False, 0), (30, 0, True, 4), (2, 1, True, 7),
                                             (8, 3, False, 4), (20, 3, False, 7), (3, 3, True, 0)):
                p.special(target, reuse + 1, bad_free_args(index, kind, past, align))
            p.special(target, ends[0]).special(target, ends[1])
            seeds[f"rounds-{target}-{cfg}{suffix}"] = p.b
        # The hybrid's routes: typed and raw at and around each type's limit.
        p = OpsProgram(["hybrid"], POOL_OPS, config=cfg | base | 0x80)
        p.special("hybrid", 1, route_args("u8", 1024)).special("hybrid", 1, route_args("u8", 1025))
        for t, type_ in enumerate(TYPES):
            for near in (-1, 0, 1):
                p.special("hybrid", 1, route_args(type_, near_limit=near, align_log2=(t + near) % 8))
        p.special("hybrid", 0).special("hybrid", 2)
        seeds[f"routes-hybrid-{cfg}{suffix}"] = p.b
    # Bulk rounds (the pool's special 2, the hybrid's special 3; an odd flag
    # byte first for the raw one): `how` bit 0 a size past the classes (then
    # a u8 past the largest class; else 1 + u16 % 4096), bits 1-3 log2 of
    # the alignment, 0x10 the base's next request fails, 0x20 zeroed, 0x40
    # freed in reverse, 0x80 every block freed a second time (refused; over
    # the checked base and the DebugAllocator over it only); then the count
    # and where the null pointer goes among the frees. The hybrid's
    # configuration's low bits 1 set its small thresholds (bytes up to 64
    # pooled), so 100 and 300 bytes go direct there though within the
    # classes.
    for target, bulk, ends, configs in (
            ("pool", 2, (1, 0), ((0, 0, ""), (2, 0, "-small-caps"), (0, 0x40, "-system"),
                                 (0, 0x10, "-debug-base"), (0, 0x20, "-slotless"),
                                 (0, 0x50, "-pool-base"))),
            ("hybrid", 3, (2, 0),
             ((0x80, 0, ""), (0x81, 0, "-small-thresholds"), (0x80, 0x40, "-system"),
              (0x80, 0x10, "-debug-base"), (0x81, 0x20, "-slotless"),
              (0x80, 0x50, "-pool-base")))):
        for cfg, base, suffix in configs:
            p = OpsProgram([target], POOL_OPS, config=cfg | base)
            p.allocate_bytes(target, u8(3) + u8(8), 4).allocate_bytes(target, u8(3) + u8(8), 4)
            raw = u8(1)
            p.special(target, bulk, raw + u8(0x08) + u16(63) + u8(40) + u8(7))   # 64 B, 16-aligned
            p.special(target, bulk, raw + u8(0x68) + u16(63) + u8(79) + u8(0))   # reused, zeroed
            p.special(target, bulk, raw + u8(0x0C) + u16(99) + u8(20) + u8(20))  # 100 B, 64-aligned
            p.special(target, bulk, raw + u8(0x0E) + u16(99) + u8(9) + u8(3))    # 128-aligned: direct
            p.special(target, bulk, raw + u8(0x41) + u8(5) + u8(12) + u8(6))     # past the classes
            p.special(target, bulk, raw + u8(0x18) + u16(299) + u8(70) + u8(1))  # 300 B: base fails
            p.special(target, bulk, raw + u8(0x08) + u16(47) + u8(3) + u8(1))    # decoded after it
            p.special(target, bulk, raw + u8(0x88) + u16(63) + u8(24) + u8(4))   # freed twice
            p.special(target, bulk, raw + u8(0xC2) + u16(15) + u8(17) + u8(17))  # 16 B, twice, reversed
            p.special(target, bulk, raw + u8(0x81) + u8(9) + u8(5) + u8(2))      # direct, twice
            p.special(target, ends[0]).special(target, ends[1])
            seeds[f"bulk-{target}{suffix}"] = p.b
            # Buffer bulk rounds: buffers already held, zeroed, past the
            # classes, a failing base, overflowing counts, count 0.
            p = OpsProgram([target], POOL_OPS, config=cfg | base)
            p.allocate_bytes(target, u8(3) + u8(8), 4)
            p.special(target, bulk, buffer_bulk_args("u32", 40, 16, prefill=(0, 5, 39)))
            p.special(target, bulk, buffer_bulk_args("line", 12, 3, zero=True, null_at=12))
            p.special(target, bulk, buffer_bulk_args("u64", 5, 1, prefill=(1,), past=True))
            p.special(target, bulk, buffer_bulk_args("u8", 20, 4097, prefill=(7,)))
            p.special(target, bulk, buffer_bulk_args("odd", 30, 77, prefill=(2,), fail=True))
            p.special(target, bulk, buffer_bulk_args("u16", 7, 0, prefill=(3, 4), bad=True))
            p.special(target, bulk, buffer_bulk_args("u8", 3, 0, prefill=(0,), bad=True))
            p.special(target, bulk, buffer_bulk_args("u8", 9, 0, prefill=(8,)))
            p.special(target, ends[0]).special(target, ends[1])
            seeds[f"bulk-buffers-{target}{suffix}"] = p.b
    return seeds


def scope_seeds():
    seeds = {}
    targets = ["scoped_a", "scoped_b", "system"]
    p = OpsProgram(targets, SCOPE_OPS)
    p.allocate("scoped_a", "u32", 10).special("scoped_a", 0, u8(1)).allocate("scoped_a", "u8", 300)
    p.special("scoped_a", 0, u8(2)).allocate("scoped_a", "line", 2).entry_op("reset", 2)
    p.special("scoped_a", 1, u8(1)).special("scoped_a", 2, u8(0)).special("scoped_a", 1, u8(0))
    p.special("scoped_a", 3, u8(0))
    seeds["nested-arenas"] = p.b
    p = OpsProgram(targets, SCOPE_OPS)
    p.defer("open").defer_push(0).defer_allocate("scoped_a", "u16", 40).defer_push(3)
    p.defer("open").defer_push(2).defer_push(1).defer_allocate("system", "odd", 7)
    p.defer("run").defer_push(2).defer_push(2).defer("close").defer("move").defer("cancel")
    p.defer_allocate("scoped_b", "u8", 1).defer("close")
    seeds["defer-nesting"] = p.b
    p = OpsProgram(targets, SCOPE_OPS)
    for _ in range(12):
        p.defer_push(0)
    p.defer("move").defer_push(1).defer("run")
    seeds["defer-grow"] = p.b
    return seeds


class GuardProgram:
    """fuzz/debug_guard_fuzzer.cpp: config, then (op, args...)*."""

    def __init__(self, throws, width_index):
        self.b = u8(int(throws) | (width_index << 1))

    def allocate(self, size, align_log2):
        self.b += u8(0) + u16(size - 1) + u8(align_log2)
        return self

    def write(self, block, offset_arg, value):  # offset_arg = offset + g (mod size + 2g)
        self.b += u8(1) + u8(block) + u16(offset_arg) + u8(value)
        return self

    def check(self):
        self.b += u8(3)
        return self

    def free(self, block, unsized):
        self.b += u8(4) + u8(block) + u8(int(unsized))
        return self


def guard_seeds():
    seeds = {}
    widths = [16, 8, 1, 24, 64, 0]
    for wi, w in enumerate(widths):
        g = (w + 7) // 8 * 8
        for throws in (False, True):
            p = GuardProgram(throws, wi).allocate(13, 0).allocate(64, 6).allocate(1, 8)
            p.write(0, g + 13, 0xEE).check()                 # first byte behind: overrun at 13
            p.write(1, g - 1, 0x91).check()                  # byte in front: underrun at -1
            p.write(0, 0, 0xA2).write(0, g + 5, 0xB3).check()  # far front, and in bounds
            p.write(2, g, 0xC4).write(2, g + 1, 0xD5).free(2, True)  # in bounds, then overrun
            p.write(1, g + 64 + g - 1, 0xE6).free(1, False)  # last guard byte behind
            seeds[f"guards-w{w}-{'throw' if throws else 'log'}"] = p.b
    return seeds


HARNESSES = {
    "buffer_fuzzer": buffer_seeds,
    "ops_fuzzer": ops_seeds,
    "pool_fuzzer": pool_seeds,
    "scope_defer_fuzzer": scope_seeds,
    "debug_guard_fuzzer": guard_seeds,
}


def main():
    only = sys.argv[1:]
    for harness, make in HARNESSES.items():
        if only and harness not in only:
            continue
        directory = os.path.join(HERE, "corpus", harness)
        os.makedirs(directory, exist_ok=True)
        for f in os.listdir(directory):
            if f.startswith("seed-"):
                os.remove(os.path.join(directory, f))
        seeds = make()
        options = os.path.join(HERE, harness + ".options")
        max_len = None
        if os.path.exists(options):
            for line in open(options):
                if line.replace(" ", "").startswith("max_len="):
                    max_len = int(line.split("=")[1])
        for name, data in seeds.items():
            if max_len is not None and len(data) > max_len:
                sys.exit(f"{harness}: seed-{name} is {len(data)} bytes, above max_len {max_len} "
                         "(libFuzzer would cut it)")
            with open(os.path.join(directory, "seed-" + name), "wb") as out:
                out.write(data)
        print(f"{harness}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
