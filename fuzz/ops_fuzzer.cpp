// fuzz/ops_fuzzer.cpp — random programs of operations over every allocator, with a model.
//
// The input decodes as a program: allocate (element type, count, zeroing; or raw
// bytes at any power-of-two alignment), reset a buffer, release it and free the
// raw pointer (unsized or sized), write/read/fill/copy buffer contents, and
// allocator-specific operations (see targets.hpp). The input's first byte
// configures every allocator (guards, caps, thresholds; the pool's and the
// hybrid's base and TLS slot, see PoolBase in targets.hpp). The model knows what every
// live block must contain and how many bytes each allocator must report, and
// every step is checked: the touched block's contents, no overlap with any other
// live block, alignment, zeroed memory reads zero, exact total_allocated_bytes;
// every 16 steps and at the end, all contents. At the end everything is freed,
// each allocator is destroyed, and its checked backing allocator must hold no
// block (the debug allocator must report no leak).
//
// The interpreter is ops_engine.hpp; the model of live blocks ops_model.hpp,
// what a program does to a block entry_ops.hpp, one allocator under test and
// its accounting target.hpp (built lazily: an input pays only for the
// allocators it uses), the element types element_types.hpp, DeferScopes
// defer_model.hpp; the allocators themselves targets.hpp.
//
// Arguments are read in the order they are listed (never two reads in one
// argument list, whose order is unspecified), so fuzz/make_corpus.py can
// spell programs byte by byte.
#include "ops_engine.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    static const ziggy_fuzz::Profile profile;
    ziggy_fuzz::run_ops(data, size, profile);
    return 0;
}
