// fuzz/pool_fuzzer.cpp — UnmanagedMemoryPool and HybridAllocator under the ops engine.
//
// The ops program (see ops_fuzzer.cpp) aimed at the pool: the configuration
// byte picks a pool with the retention caps the input picks (default; none at
// all; small caps with a small thread cache; the depot only) or a hybrid
// allocator (top bit set), over a checked base, with bit 0x10 over a
// DebugAllocator over that base (its guards catch a write outside a block),
// with both bits 0x10 and 0x40 over another pool over that base, or with
// bit 0x40 alone over a SystemAllocator (whose blocks the pool takes as its
// direct blocks with no header of its own); with bit 0x20 the pool is made
// while other pools hold every TLS slot, so every operation takes the slow
// paths that find a thread's cache by pool id. Raw sizes sit
// on the size-class edges (a class size, one below, one above; the largest
// class and past it, where requests go straight to the base). The targets'
// own operations clear the pool (after which the base must hold exactly the
// blocks of live buffers and nothing may be retained), check the statistics
// against the base (it holds exactly the retained blocks and one per live
// buffer; retention within the caps; counters never go back), check the
// hybrid's typed and byte routing at and around its limits, and run rounds:
// a reuse round follows one block through allocate, free and allocate
// again (each allocation exactly one hit, miss or direct block, a miss one
// block from the base, a free the caps have room for retained and then
// handed back by a hit; reuse_round in targets.hpp), a bulk round may free
// every block a second time, which must be refused (bulk_round; its Buffer
// form, buffer_bulk_round, checks bad counts and a failing base), a
// bad-free round refuses pointers that are no block of it, another pool's
// block among them (bad_free_round), and a
// thread round frees buffers on a worker thread that then exits
// (thread_round).
#include "ops_engine.hpp"

namespace {

using namespace ziggy_fuzz;

Targets make_pool_targets(std::uint8_t config) {
    Targets targets;
    // One allocator per input, chosen by the configuration's top bit, with one
    // retention setting (default, none, small caps, depot only): building and
    // tearing down a pool costs more than most programs, and a program over
    // two independent pools finds nothing one over each does not.
#ifdef ZIGGY_FUZZ_HAS_HYBRID
    if ((config & 0x80) != 0) {
        targets.add<HybridTarget>(config);
        return targets;
    }
#endif
    targets.add<PoolTarget>(config);
    return targets;
}

std::size_t class_edge_size(Reader& in) {
    const std::uint8_t how = in.u8();
    const std::size_t index = in.pick(ziggy::detail::size_class_count);
    const std::size_t size = ziggy::detail::class_size(index);
    switch (how % 4) {
        case 0:
            return size - 1;
        case 1:
            return size + 1;
        case 2:
            return ziggy::detail::max_class_size + 1 + in.u8();
        default:
            return size;
    }
}

Profile pool_profile() {
    Profile p;
    p.make_targets = &make_pool_targets;
    p.raw_size = &class_edge_size;
    // Allocation and free heavy, with clears and statistics checks.
    p.ops = {Op::allocate,   Op::allocate_bytes, Op::allocate_bytes, Op::reset,     Op::raw_free,
             Op::raw_free,   Op::release,        Op::write,          Op::copy,      Op::edge,
             Op::containers, Op::out_of_memory,  Op::target_op,      Op::target_op, Op::check_all};
    return p;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Profile profile = pool_profile();
    run_ops(data, size, profile);
    return 0;
}
