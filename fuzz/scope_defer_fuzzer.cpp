// fuzz/scope_defer_fuzzer.cpp — ScopedAllocator and DeferScope under the ops engine.
//
// The ops program (see ops_fuzzer.cpp) aimed at scopes: two arena stacks with
// different block sizes, next to a system allocator, and an operation mix
// dominated by opening, closing and resetting nested arenas and by DeferScope
// operations — logging, heap-stored, throwing and nested actions, deferred
// allocations from any of the allocators, run(), closing, cancel() and moves.
// The checks are the engine's: contents, exact arena accounting where the
// arena documents it, actions run once each in reverse order, run() rethrows
// the first exception, deferred memory is back after the scope ran, and the
// checked backing gets every block back.
#include "ops_engine.hpp"

namespace {

using namespace ziggy_fuzz;

Targets make_scope_targets(std::uint8_t config) {
    Targets targets;
    targets.add<ScopedTarget>(config);
    targets.add<ScopedTarget>(static_cast<std::uint8_t>(config >> 4));
    targets.add<SystemTarget>(config);
    return targets;
}

Profile scope_profile() {
    Profile p;
    p.make_targets = &make_scope_targets;
    p.ops = {Op::allocate,  Op::allocate,      Op::allocate_bytes, Op::reset, Op::raw_free,
             Op::release,   Op::write,         Op::fill,           Op::copy,  Op::target_op,
             Op::target_op, Op::target_op,     Op::defer,          Op::defer, Op::defer,
             Op::defer,     Op::out_of_memory, Op::check_all};
    return p;
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const Profile profile = scope_profile();
    run_ops(data, size, profile);
    return 0;
}
