// tests/allocator_cases.hpp — every allocator, for the suites that run over all of them
// (the contract suite, the std/pmr adapter suites).
//
// To add an allocator: write a Case (how to make one and whether it is
// thread-safe) and add it to `AllAllocatorCases`.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include <ziggy/ziggy.hpp>

#include "debug_over.hpp"

namespace ziggy_test {

struct SystemCase {
    static constexpr bool thread_safe = true;
    static std::unique_ptr<ziggy::Allocator> make() {
        return std::make_unique<ziggy::SystemAllocator>();
    }
};

// An arena with small blocks, so the suites cross block boundaries and take
// dedicated blocks.
struct ScopedCase {
    static constexpr bool thread_safe = false;
    static std::unique_ptr<ziggy::Allocator> make() {
        return std::make_unique<ziggy::ScopedAllocator>(
            ziggy::default_allocator(),
            ziggy::ScopedAllocatorOptions{.initial_block_size = 256, .max_block_size = 4096});
    }
};

struct PoolCase {
    static constexpr bool thread_safe = true;
    static std::unique_ptr<ziggy::Allocator> make() {
        return std::make_unique<ziggy::UnmanagedMemoryPool>();
    }
};

struct HybridCase {
    static constexpr bool thread_safe = true;
    static std::unique_ptr<ziggy::Allocator> make() {
        return std::make_unique<ziggy::HybridAllocator>();
    }
};

// Every suite frees what it allocates, so a leak report here would be a real
// bug; the default abort reaction turns any guard damage into a failure.
struct DebugCase {
    static constexpr bool thread_safe = true;
    static std::unique_ptr<ziggy::Allocator> make() {
        return std::make_unique<ziggy::DebugAllocator>("contract", ziggy::default_allocator(),
                                                       ziggy::LeakReportingMode::log);
    }
};

// A DebugAllocator over an arena: composition, and a debug allocator whose
// backing frees nothing individually (free() says NotSupported, Buffers still
// return their memory through the sized path). Not thread-safe: the arena is not.
// Leaks are ignored: a pointer whose free() was refused stays live until the
// arena goes, which the suites (ReleaseThenFree) do on purpose.
struct DebugOverScopedCase {
    static constexpr bool thread_safe = false;

    static std::unique_ptr<ziggy::Allocator> make() {
        return std::make_unique<DebugOver<ziggy::ScopedAllocator>>();
    }
};

// The failure-injection allocator, failing nothing: it must keep every promise
// of the allocator it forwards to.
struct FailingCase {
    static constexpr bool thread_safe = true;
    static std::unique_ptr<ziggy::Allocator> make() {
        return std::make_unique<ziggy::FailingAllocator>(ziggy::default_allocator());
    }
};

using AllAllocatorCases = ::testing::Types<SystemCase, ScopedCase, DebugCase, DebugOverScopedCase,
                                           PoolCase, HybridCase, FailingCase>;

} // namespace ziggy_test
