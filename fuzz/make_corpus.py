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


# ---------------------------------------------------------------- ops_fuzzer
class OpsProgram:
    """fuzz/ops_fuzzer.cpp: config byte, then (op, args...)*."""
    OPS = ["allocate", "allocate_bytes", "reset", "release", "raw_free", "write", "read",
           "fill", "copy", "move", "edge", "containers", "out_of_memory", "target_op",
           "check_all"]
    TYPES = ["u8", "u16", "u32", "u64", "odd", "line"]
    # Index of each target in make_targets (fuzz/targets.hpp).
    TARGETS = ["system"]

    def __init__(self, config=0):
        self.b = u8(config)

    def op(self, name, args=b""):
        self.b += u8(self.OPS.index(name)) + args
        return self

    def target(self, name):
        return u8(self.TARGETS.index(name))

    def allocate(self, target, type_, count, zero=False, large=False, seed=1):
        return self.op("allocate", self.target(target) + u8(self.TYPES.index(type_)) +
                       u8(int(large)) + u16(count) + u8(int(zero)) + u8(seed))

    def allocate_bytes(self, target, size, align_log2, zero=False, pmr=False, large=False, seed=2):
        size_arg = size - 1  # range(1, max)
        return self.op("allocate_bytes", self.target(target) + u8(int(large)) + u16(size_arg) +
                       u8(align_log2) + u8(int(zero) | (int(pmr) << 1)) + u8(seed))

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


def ops_seeds():
    seeds = {}
    for t in OpsProgram.TARGETS:
        p = OpsProgram()
        for i, ty in enumerate(OpsProgram.TYPES):
            p.allocate(t, ty, 1 + 7 * i, zero=(i % 2 == 0))
        p.write(0, 0, 3).copy(1, 2, 4).entry_op("fill", 3, u8(0xAB)).entry_op("move", 4)
        p.entry_op("release", 5).entry_op("raw_free", 5, u8(1)).entry_op("reset", 0)
        p.entry_op("raw_free", 1, u8(0)).op("check_all")
        seeds[f"typed-{t}"] = p.b
        p = OpsProgram()
        for a in range(0, 13, 3):
            p.allocate_bytes(t, 1 + 40 * a, a, zero=(a % 2 == 1), pmr=(a % 3 == 0))
        p.allocate_bytes(t, 20000, 6, large=True)
        p.copy(0, 1, 64).entry_op("raw_free", 2, u8(1)).entry_op("reset", 0)
        seeds[f"raw-{t}"] = p.b
        p = OpsProgram()
        for w in range(5):
            p.edge(t, w)
        p.containers(t, 100).allocate(t, "u8", 0).allocate(t, "line", 300, large=True)
        seeds[f"edges-{t}"] = p.b
    return seeds


HARNESSES = {
    "buffer_fuzzer": buffer_seeds,
    "ops_fuzzer": ops_seeds,
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
        for name, data in seeds.items():
            with open(os.path.join(directory, "seed-" + name), "wb") as out:
                out.write(data)
        print(f"{harness}: {len(seeds)} seeds")


if __name__ == "__main__":
    main()
