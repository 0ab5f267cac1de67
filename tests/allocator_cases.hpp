// tests/allocator_cases.hpp — every allocator, for the suites that run over all of them
// (the contract suite, the std/pmr adapter suites).
//
// To add an allocator: write a Case (how to make one and whether it is
// thread-safe) and add it to `AllAllocatorCases`.
#pragma once

#include <memory>

#include <gtest/gtest.h>

#include <ziggy/ziggy.hpp>

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

using AllAllocatorCases = ::testing::Types<SystemCase, ScopedCase, PoolCase, HybridCase>;

} // namespace ziggy_test
