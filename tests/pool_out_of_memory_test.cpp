// UnmanagedMemoryPool when the C++ heap fails while a thread's cache is being
// made. This executable replaces the global operator new (every form the
// library calls) with one that can be told to fail the n-th call made on the
// calling thread.
#include <ziggy/unmanaged_memory_pool.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdlib>
#include <new>
#include <thread>

#include "tracking_allocator.hpp"

namespace {
// Calls of operator new on this thread until one fails: -1 for none.
thread_local long t_fail_in = -1;
thread_local std::size_t t_news = 0;

bool fail_this_new() noexcept {
    ++t_news;
    if (t_fail_in < 0) return false;
    return t_fail_in-- == 0;
}

// Out of line, so that g++ does not see malloc() paired with a delete.
[[gnu::noinline]] void* allocate_or_throw(std::size_t n, std::size_t alignment) {
    if (fail_this_new()) throw std::bad_alloc();
    n = n == 0 ? 1 : n;
    void* p = alignment <= alignof(std::max_align_t)
                  ? std::malloc(n)
                  : std::aligned_alloc(alignment, (n + alignment - 1) / alignment * alignment);
    if (p == nullptr) throw std::bad_alloc();
    return p;
}
} // namespace

[[gnu::noinline]] void* operator new(std::size_t n) { return allocate_or_throw(n, 0); }
[[gnu::noinline]] void* operator new[](std::size_t n) { return allocate_or_throw(n, 0); }
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a) {
    return allocate_or_throw(n, static_cast<std::size_t>(a));
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a) {
    return allocate_or_throw(n, static_cast<std::size_t>(a));
}
[[gnu::noinline]] void* operator new(std::size_t n, const std::nothrow_t&) noexcept {
    try {
        return allocate_or_throw(n, 0);
    } catch (...) {
        return nullptr;
    }
}
[[gnu::noinline]] void* operator new[](std::size_t n, const std::nothrow_t&) noexcept {
    return ::operator new(n, std::nothrow);
}
[[gnu::noinline]] void* operator new(std::size_t n, std::align_val_t a,
                                     const std::nothrow_t&) noexcept {
    try {
        return allocate_or_throw(n, static_cast<std::size_t>(a));
    } catch (...) {
        return nullptr;
    }
}
[[gnu::noinline]] void* operator new[](std::size_t n, std::align_val_t a,
                                       const std::nothrow_t&) noexcept {
    return ::operator new(n, a, std::nothrow);
}
// Out of line, as are the operators new above, so that g++ does not see
// free() paired with a new-expression, and Valgrind, which substitutes its
// own operators, substitutes every call of them.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { ::operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { ::operator delete(p); }
void operator delete(void* p, std::align_val_t) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::align_val_t) noexcept { ::operator delete(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { ::operator delete(p); }

namespace {

using ziggy::UnmanagedMemoryPool;
using ziggy_test::TrackingAllocator;

// Whether the replacement above is the operator new in use (Valgrind, for
// one, substitutes its own).
bool replacement_active() {
    const std::size_t before = t_news;
    ::operator delete(::operator new(8)); // a direct call: not elided
    return t_news == before + 1;
}

// A thread's first free into a pool makes the thread's cache for it (the
// cache, a place in the thread's list of caches and in the pool's). Whichever
// of those allocations fails, that free goes to the pool's depot and the
// thread is left without a cache, its TLS slot for the pool closed as before:
// the next free on it is counted and kept like the first (it makes the
// cache), and every block goes back to the base with the pool.
TEST(PoolOutOfMemoryTest, AFailedThreadCacheLosesNoBlock) {
    if (!replacement_active()) GTEST_SKIP() << "operator new is not this test's (Valgrind?)";
    bool failed = true;
    long n = 0;
    for (; failed; ++n) {
        ASSERT_LT(n, 100);
        TrackingAllocator base;
        {
            UnmanagedMemoryPool pool(base);
            void* a = pool.allocate_bytes(64);
            void* b = pool.allocate_bytes(64);
            std::thread([&] {
                t_fail_in = n;
                pool.deallocate_bytes(a, 64); // makes this thread's cache: new number n fails
                failed = t_fail_in < 0;
                t_fail_in = -1;
                pool.deallocate_bytes(b, 64);
                EXPECT_EQ(pool.total_allocated_bytes(), 0u) << n;
                EXPECT_EQ(pool.statistics().retained_blocks, 2u) << n;
            }).join();
            EXPECT_EQ(pool.total_allocated_bytes(), 0u) << n;
            EXPECT_EQ(pool.statistics().retained_blocks, 2u) << n;
            EXPECT_EQ(base.live_blocks(), 2u) << n;
            // Both blocks are the pool's to hand out again.
            void* x = pool.allocate_bytes(64);
            void* y = pool.allocate_bytes(64);
            EXPECT_TRUE((x == a && y == b) || (x == b && y == a)) << n;
            pool.free(x);
            pool.free(y);
        }
        EXPECT_EQ(base.live_blocks(), 0u) << n;
        EXPECT_EQ(base.mismatches(), 0u) << n;
    }
    EXPECT_GE(n, 3) << "the cache takes at least three allocations, each failed once";
}

} // namespace
