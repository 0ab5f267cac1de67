// DeferScope and allocate_deferred. This executable replaces the global
// operator new with a counting one (that can also be told to fail), to prove
// that small actions are stored without a heap allocation.
#include <ziggy/defer_scope.hpp>
#include <ziggy/failing_allocator.hpp>
#include <ziggy/scoped_allocator.hpp>
#include <ziggy/system_allocator.hpp>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "site_recorder.hpp"
#include "tracking_allocator.hpp"

namespace {
std::atomic<std::size_t> g_new_calls{0};
std::atomic<bool> g_fail_next_new{false};
} // namespace

void* operator new(std::size_t n) {
    g_new_calls.fetch_add(1, std::memory_order_relaxed);
    if (g_fail_next_new.exchange(false)) throw std::bad_alloc();
    if (void* p = std::malloc(n == 0 ? 1 : n)) return p;
    throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
// Out of line so that g++ does not see free() paired with a new-expression.
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { ::operator delete(p); }
void operator delete(void* p, std::size_t) noexcept { ::operator delete(p); }
void operator delete[](void* p, std::size_t) noexcept { ::operator delete(p); }

namespace {

using ziggy::DeferScope;

// Heap allocations made while `f` runs.
template <class F>
std::size_t news_during(F&& f) {
    const auto before = g_new_calls.load();
    f();
    return g_new_calls.load() - before;
}

// Whether the replacement above is the operator new in use (Valgrind, for
// one, substitutes its own, and then nothing can be counted).
bool counting_new_active() {
    // A direct call, not a new-expression: the compiler may not elide it.
    return news_during([] { ::operator delete(::operator new(8)); }) == 1;
}

#define SKIP_UNLESS_COUNTING_NEW()                                                 \
    if (!counting_new_active()) {                                                  \
        GTEST_SKIP() << "operator new is replaced by the environment (Valgrind?)"; \
    }

// Callables must return void; anything else does not satisfy DeferAction.
static_assert(ziggy::DeferAction<void (*)()>);
static_assert(ziggy::DeferAction<decltype([] {})>);
static_assert(!ziggy::DeferAction<int (*)()>);
static_assert(!ziggy::DeferAction<decltype([] { return 1; })>);
static_assert(!ziggy::DeferAction<decltype([](int) {})>);
static_assert(!std::is_copy_constructible_v<DeferScope>);
static_assert(std::is_nothrow_move_constructible_v<DeferScope>);
static_assert(std::is_nothrow_destructible_v<DeferScope>);

// Actions run last-registered first when the scope ends.
TEST(DeferScopeTest, RunsInReverseOrderAtScopeEnd) {
    std::vector<int> order;
    {
        DeferScope defer;
        for (int i = 0; i < 5; ++i) defer.defer([&order, i] { order.push_back(i); });
        EXPECT_EQ(defer.count(), 5u);
        EXPECT_TRUE(order.empty());
    }
    EXPECT_EQ(order, (std::vector<int>{4, 3, 2, 1, 0}));
}

// run() runs everything now, empties the scope, and the scope is reusable.
TEST(DeferScopeTest, ExplicitRunEmptiesAndScopeIsReusable) {
    std::vector<int> order;
    DeferScope defer;
    defer.defer([&] { order.push_back(1); });
    defer.defer([&] { order.push_back(2); });
    defer.run();
    EXPECT_EQ(order, (std::vector<int>{2, 1}));
    EXPECT_TRUE(defer.empty());
    defer.run(); // nothing pending: no-op
    defer.defer([&] { order.push_back(3); });
    defer.run();
    EXPECT_EQ(order, (std::vector<int>{2, 1, 3}));
}

// Every action runs even if some throw; run() rethrows the first one thrown.
TEST(DeferScopeTest, RunRunsAllAndRethrowsFirstException) {
    std::vector<int> ran;
    DeferScope defer;
    defer.defer([&] { ran.push_back(0); });
    defer.defer([&] {
        ran.push_back(1);
        throw std::runtime_error("second");
    });
    defer.defer([&] { ran.push_back(2); });
    defer.defer([&] {
        ran.push_back(3);
        throw std::logic_error("first");
    });
    try {
        defer.run();
        FAIL() << "run() did not throw";
    } catch (const std::logic_error& e) {
        EXPECT_STREQ(e.what(), "first");
    }
    EXPECT_EQ(ran, (std::vector<int>{3, 2, 1, 0}));
    EXPECT_TRUE(defer.empty());
}

// The destructor never throws: it runs every action and swallows exceptions.
TEST(DeferScopeTest, DestructorSwallowsExceptions) {
    int ran = 0;
    EXPECT_NO_THROW({
        DeferScope defer;
        defer.defer([&] { ++ran; });
        defer.defer([&] {
            ++ran;
            throw std::runtime_error("cleanup failed");
        });
    });
    EXPECT_EQ(ran, 2);
}

// While an exception unwinds the stack, the actions run and the original
// exception is the one that arrives.
TEST(DeferScopeTest, RunsDuringUnwinding) {
    int ran = 0;
    try {
        DeferScope defer;
        defer.defer([&] { ++ran; });
        defer.defer([&] { throw std::logic_error("from action"); });
        throw std::runtime_error("original");
    } catch (const std::runtime_error& e) {
        EXPECT_STREQ(e.what(), "original");
    }
    EXPECT_EQ(ran, 1);
}

// Up to inline_actions callables of up to four pointers need no heap allocation.
TEST(DeferScopeTest, SmallCallablesDoNotAllocate) {
    SKIP_UNLESS_COUNTING_NEW();
    int a = 0, b = 0, c = 0, d = 0;
    const auto news = news_during([&] {
        DeferScope defer;
        for (std::size_t i = 0; i < DeferScope::inline_actions; ++i)
            defer.defer([pa = &a, pb = &b, pc = &c, pd = &d] { ++*pa, ++*pb, ++*pc, ++*pd; });
        defer.defer(+[] {}); // the 9th action grows the slot array
    });
    EXPECT_EQ(a, static_cast<int>(DeferScope::inline_actions));
    EXPECT_EQ(news, 1u); // exactly the growth of the slot array
    const auto inline_only = news_during([&] {
        DeferScope defer;
        for (std::size_t i = 0; i < DeferScope::inline_actions; ++i)
            defer.defer([pa = &a, pb = &b, pc = &c, pd = &d] { ++*pa, ++*pb, ++*pc, ++*pd; });
    });
    EXPECT_EQ(inline_only, 0u);
}

// A callable larger than the inline capture goes to the heap, and still runs.
TEST(DeferScopeTest, LargeCallableIsStoredOnHeap) {
    SKIP_UNLESS_COUNTING_NEW();
    std::array<char, 64> big{};
    big[63] = 'x';
    char seen = 0;
    const auto news = news_during([&] {
        DeferScope defer;
        defer.defer([big, &seen] { seen = big[63]; });
    });
    EXPECT_EQ(news, 1u);
    EXPECT_EQ(seen, 'x');
}

// Many actions (beyond the inline slots) keep their order.
TEST(DeferScopeTest, ManyActionsKeepOrder) {
    std::vector<int> order;
    {
        DeferScope defer;
        for (int i = 0; i < 1000; ++i) defer.defer([&order, i] { order.push_back(i); });
        EXPECT_EQ(defer.count(), 1000u);
    }
    ASSERT_EQ(order.size(), 1000u);
    for (int i = 0; i < 1000; ++i) ASSERT_EQ(order[i], 999 - i);
}

// Each callable is destroyed exactly once: after it ran, or when cancelled,
// inline or on the heap.
TEST(DeferScopeTest, CallablesDestroyedExactlyOnce) {
    auto token = std::make_shared<int>(0);
    std::array<char, 64> big{};
    {
        DeferScope defer;
        defer.defer([token] { ++*token; });
        defer.defer([token, big] { *token += big[0] + 1; });
        EXPECT_EQ(token.use_count(), 3);
        defer.run();
        EXPECT_EQ(token.use_count(), 1);
        EXPECT_EQ(*token, 2);
        defer.defer([token] { ++*token; });
        defer.defer([token, big] { *token += big[0] + 1; });
        defer.cancel();
        EXPECT_EQ(token.use_count(), 1);
        EXPECT_TRUE(defer.empty());
    }
    EXPECT_EQ(*token, 2); // cancelled actions never ran
}

// Moving a scope moves its pending actions (inline and heap); the source is empty.
TEST(DeferScopeTest, MoveTransfersActions) {
    for (int n : {3, 20}) {
        std::vector<int> order;
        DeferScope outer;
        {
            DeferScope inner;
            for (int i = 0; i < n; ++i) inner.defer([&order, i] { order.push_back(i); });
            outer = std::move(inner);
            EXPECT_TRUE(inner.empty()); // NOLINT(bugprone-use-after-move)
        }
        EXPECT_TRUE(order.empty());
        DeferScope moved(std::move(outer));
        EXPECT_EQ(moved.count(), static_cast<std::size_t>(n));
        moved.run();
        ASSERT_EQ(order.size(), static_cast<std::size_t>(n));
        EXPECT_EQ(order.front(), n - 1);
    }
}

// Move assignment first runs the target's own pending actions.
TEST(DeferScopeTest, MoveAssignRunsOwnActionsFirst) {
    std::vector<int> order;
    DeferScope a;
    DeferScope b;
    a.defer([&] { order.push_back(1); });
    b.defer([&] { order.push_back(2); });
    a = std::move(b);
    EXPECT_EQ(order, (std::vector<int>{1}));
    a.run();
    EXPECT_EQ(order, (std::vector<int>{1, 2}));
}

// An action may register more actions on its own scope; they run in the same run().
TEST(DeferScopeTest, ActionsMayRegisterActions) {
    std::vector<int> order;
    DeferScope defer;
    for (int i = 0; i < 7; ++i) defer.defer([&order, i] { order.push_back(i); });
    defer.defer([&] {
        order.push_back(100);
        for (int i = 0; i < 10; ++i) defer.defer([&order, i] { order.push_back(200 + i); });
    });
    defer.run();
    ASSERT_EQ(order.size(), 18u);
    EXPECT_EQ(order[0], 100);
    EXPECT_EQ(order[1], 209);
    EXPECT_EQ(order.back(), 0);
    EXPECT_TRUE(defer.empty());
}

// If registering fails (no memory to grow), the action runs at once and
// bad_alloc propagates: nothing is leaked.
TEST(DeferScopeTest, RegistrationFailureRunsActionImmediately) {
    SKIP_UNLESS_COUNTING_NEW();
    int ran = 0;
    DeferScope defer;
    for (std::size_t i = 0; i < DeferScope::inline_actions; ++i) defer.defer([] {});
    g_fail_next_new = true;
    EXPECT_THROW(defer.defer([&] { ++ran; }), std::bad_alloc);
    EXPECT_EQ(ran, 1);
    EXPECT_EQ(defer.count(), DeferScope::inline_actions);
}

// ---- allocate_deferred

// The memory stays live until the scope ends, is freed through the allocator
// with the right size and alignment, and the buffer does not own it.
TEST(AllocateDeferredTest, SystemAllocatorMemoryFreedAtScopeEnd) {
    ziggy_test::TrackingAllocator tracking;
    {
        DeferScope defer;
        auto xs = ziggy::allocate_deferred<double>(tracking, defer, 10, true);
        auto one = ziggy::allocate_single_deferred<std::uint16_t>(tracking, defer);
        EXPECT_FALSE(xs.owns_memory());
        EXPECT_EQ(xs.size(), 10u);
        EXPECT_EQ(one.size(), 1u);
        for (double x : xs) EXPECT_EQ(x, 0.0);
        xs.fill(1.5);
        EXPECT_EQ(tracking.total_allocated_bytes(), 82u);
        EXPECT_EQ(defer.count(), 2u);
    }
    EXPECT_EQ(tracking.total_allocated_bytes(), 0u);
    EXPECT_EQ(tracking.live_blocks(), 0u);
    EXPECT_EQ(tracking.mismatches(), 0u);
}

// With an arena the deferred frees run in LIFO order and reclaim everything.
TEST(AllocateDeferredTest, ArenaMemoryIsReclaimed) {
    ziggy::ScopedAllocator arena;
    {
        DeferScope defer;
        auto a = ziggy::allocate_deferred<std::uint64_t>(arena, defer, 8);
        auto b = ziggy::allocate_single_deferred<std::uint64_t>(arena, defer, true);
        EXPECT_EQ(b[0], 0u);
        EXPECT_EQ(arena.total_allocated_bytes(), 72u);
    }
    EXPECT_EQ(arena.total_allocated_bytes(), 0u);
}

// count == 0 allocates nothing and registers nothing.
TEST(AllocateDeferredTest, ZeroCountIsEmpty) {
    ziggy::SystemAllocator sys;
    DeferScope defer;
    auto b = ziggy::allocate_deferred<int>(sys, defer, 0);
    EXPECT_TRUE(b.empty());
    EXPECT_EQ(defer.count(), 0u);
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// Overflow and exhaustion throw before anything is registered.
TEST(AllocateDeferredTest, BadSizesThrowAndRegisterNothing) {
    ziggy::SystemAllocator sys;
    DeferScope defer;
    EXPECT_THROW((void)ziggy::allocate_deferred<std::uint64_t>(
                     sys, defer, std::numeric_limits<std::size_t>::max() / 2),
                 std::bad_array_new_length);
    EXPECT_THROW((void)ziggy::allocate_deferred<char>(sys, defer, std::size_t(1) << 60),
                 std::bad_alloc);
    EXPECT_EQ(defer.count(), 0u);
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
}

// If the scope cannot register the free, the memory is freed before bad_alloc propagates.
TEST(AllocateDeferredTest, RegistrationFailureFreesMemory) {
    SKIP_UNLESS_COUNTING_NEW();
    ziggy::SystemAllocator sys;
    DeferScope defer;
    for (std::size_t i = 0; i < DeferScope::inline_actions; ++i) defer.defer([] {});
    g_fail_next_new = true;
    EXPECT_THROW((void)ziggy::allocate_deferred<int>(sys, defer, 100), std::bad_alloc);
    EXPECT_EQ(sys.total_allocated_bytes(), 0u);
    EXPECT_EQ(defer.count(), DeferScope::inline_actions);
}

// Every allocation failure in a session of deferred allocations (direct and
// through an arena) reaches the caller as bad_alloc, and the scope frees what
// was already allocated: nothing leaks.
TEST(AllocateDeferredTest, EveryAllocationFailureIsBadAllocWithoutLeak) {
    auto report = ziggy::check_all_allocation_failures([](ziggy::Allocator& a) {
        ziggy::ScopedAllocator arena(a, {.initial_block_size = 256});
        DeferScope defer;
        for (std::size_t i = 0; i < 12; ++i) {
            auto x = ziggy::allocate_deferred<double>(a, defer, 1 + i);
            auto y = ziggy::allocate_deferred<char>(arena, defer, 100 * i + 1);
            x.fill(1.0);
        }
    });
    EXPECT_GT(report.allocations, 12u);
    EXPECT_TRUE(report.ok()) << report.problems.front();
}

using ziggy_test::SiteRecorder;

// The caller's file, line and function reach the allocator.
TEST(AllocateDeferredTest, CapturesCallSite) {
    SiteRecorder rec;
    DeferScope defer;
    const int line = __LINE__ + 1;
    auto b = ziggy::allocate_deferred<int>(rec, defer, 4);
    EXPECT_EQ(rec.last_site.line, line);
    EXPECT_NE(std::string(rec.last_site.file).find("defer_scope_test.cpp"), std::string::npos);
    EXPECT_NE(std::string(rec.last_site.function).find("TestBody"), std::string::npos);
    const int line2 = __LINE__ + 1;
    auto c = ziggy::allocate_single_deferred<int>(rec, defer);
    EXPECT_EQ(rec.last_site.line, line2);
}

} // namespace
