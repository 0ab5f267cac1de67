// DebugAllocator: double, foreign, interior and mis-sized frees, the
// quarantine and writes after free, the three reactions and the callback, and
// (sanitized variant) ASan stopping raw accesses to guards and freed blocks.
#include <ziggy/debug_allocator.hpp>
#include <ziggy/detail/sanitizer.hpp>

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "debug_test_support.hpp"
#include "tracking_allocator.hpp"

namespace {

using ziggy::DebugAllocator;
using ziggy::DebugErrorKind;
using ziggy::DebugOptions;
using ziggy::DebugReport;
using ziggy::ErrorReaction;
using ziggy::GuardSide;
using ziggy::LeakReportingMode;
using ziggy_test::Capture;
using ziggy_test::poke;

std::string here(int line) { return ziggy_test::site_text(__FILE__, line); }

// ---------------------------------------------------------------- invalid frees

// A double free is reported with the allocation site and never reaches the backing.
TEST(DebugAllocatorTest, DoubleFreeIsReportedWithSite) {
    Capture cap;
    ziggy_test::TrackingAllocator backing;
    DebugAllocator d("t", backing, LeakReportingMode::log, cap.options());
    void* p = d.allocate_bytes(32);
    const int line = __LINE__ - 1; // the line above
    d.free(p);
    d.free(p);
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::double_free);
    EXPECT_EQ(cap.reports->front().allocation.site.line, line);
    EXPECT_TRUE(cap.logged("double free"));
    EXPECT_TRUE(cap.logged(here(line)));
    EXPECT_EQ(backing.mismatches(), 0u);
}

// Once the block left the quarantine, the freed history still names the site.
TEST(DebugAllocatorTest, DoubleFreeAfterQuarantineIsNamed) {
    Capture cap;
    DebugOptions o = cap.options();
    o.quarantine_count = 1;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, o);
    void* p = d.allocate_bytes(32);
    const int line = __LINE__ - 1; // the line above
    d.free(p);
    for (int i = 0; i < 3; ++i) d.free(d.allocate_bytes(16));
    d.free(p);
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::double_free);
    EXPECT_EQ(cap.reports->front().allocation.site.line, line);
}

// A pointer this allocator never returned is reported and not passed on.
TEST(DebugAllocatorTest, ForeignPointerIsRejected) {
    Capture cap;
    ziggy_test::TrackingAllocator backing;
    DebugAllocator d("t", backing, LeakReportingMode::log, cap.options());
    int local = 0;
    d.free(&local);
    d.deallocate_bytes(&local, sizeof local, alignof(int));
    ASSERT_EQ(cap.reports->size(), 2u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::foreign_pointer);
    EXPECT_FALSE(cap.reports->front().site_known);
    EXPECT_TRUE(cap.logged("foreign pointer"));
    EXPECT_EQ(backing.mismatches(), 0u);
}

// A pointer into a live block is reported with its offset; the block stays live.
TEST(DebugAllocatorTest, InteriorPointerIsRejected) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    auto b = d.allocate<int>(8);
    const int line = __LINE__ - 1; // the line above
    d.free(b.data() + 2);
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::interior_pointer);
    EXPECT_EQ(cap.reports->front().offset, 8);
    EXPECT_EQ(cap.reports->front().allocation.site.line, line);
    EXPECT_EQ(d.tracked_allocation_count(), 1u);
}

// A sized deallocation with the wrong size is reported; the block is still freed right.
TEST(DebugAllocatorTest, SizeMismatchIsReported) {
    Capture cap;
    ziggy_test::TrackingAllocator backing;
    DebugAllocator d("t", backing, LeakReportingMode::log, cap.options());
    void* p = d.allocate_bytes(40, 8);
    d.deallocate_bytes(p, 32, 8);
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::size_mismatch);
    EXPECT_EQ(cap.reports->front().claimed_size, 32u);
    EXPECT_EQ(d.tracked_allocation_count(), 0u);
    EXPECT_EQ(backing.mismatches(), 0u);
}

// ---------------------------------------------------------------- quarantine

// Freed blocks wait in a bounded FIFO quarantine before going back.
TEST(DebugAllocatorTest, QuarantineIsBoundedFifo) {
    ziggy_test::TrackingAllocator backing;
    DebugOptions o;
    o.quarantine_count = 3;
    DebugAllocator d("t", backing, LeakReportingMode::log, o);
    for (int i = 0; i < 5; ++i) d.free(d.allocate_bytes(8));
    EXPECT_EQ(d.quarantined_count(), 3u);
    EXPECT_EQ(backing.live_blocks(), 3u);
}

// The byte cap holds: a block larger than it goes straight back.
TEST(DebugAllocatorTest, QuarantineByteCapIsHonoured) {
    ziggy_test::TrackingAllocator backing;
    DebugOptions o;
    o.quarantine_bytes = 100;
    DebugAllocator d("t", backing, LeakReportingMode::log, o);
    d.free(d.allocate_bytes(60));
    d.free(d.allocate_bytes(60)); // evicts the first: 120 > 100
    EXPECT_EQ(d.quarantined_count(), 1u);
    d.free(d.allocate_bytes(101));
    EXPECT_EQ(d.quarantined_count(), 1u);
    EXPECT_EQ(backing.live_blocks(), 1u);
}

// A write after free is reported when the block leaves the quarantine.
TEST(DebugAllocatorTest, WriteAfterFreeIsFoundAtEviction) {
    Capture cap;
    DebugOptions o = cap.options();
    o.quarantine_count = 1;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, o);
    auto* p = static_cast<char*>(d.allocate_bytes(32));
    const int line = __LINE__ - 1; // the line above
    d.free(p);
    poke(p, 5, 0x42);
    EXPECT_TRUE(cap.reports->empty());
    d.free(d.allocate_bytes(8)); // evicts p
    ASSERT_EQ(cap.reports->size(), 1u);
    EXPECT_EQ(cap.reports->front().kind, DebugErrorKind::write_after_free);
    EXPECT_EQ(cap.reports->front().offset, 5);
    EXPECT_EQ(cap.reports->front().allocation.site.line, line);
    EXPECT_TRUE(cap.logged("write after free at +5"));
}

// check_quarantine and the destructor verify quarantined blocks too.
TEST(DebugAllocatorTest, WriteAfterFreeIsFoundOnCheckAndAtDestruction) {
    Capture cap;
    {
        DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
        auto* p = static_cast<char*>(d.allocate_bytes(16));
        d.free(p);
        poke(p, 0, 1);
        EXPECT_EQ(d.check_quarantine(), 1u);
        EXPECT_EQ(d.check_quarantine(), 0u); // repainted
        poke(p, 15, 1);
    }
    ASSERT_EQ(cap.reports->size(), 2u);
    EXPECT_EQ(cap.reports->back().offset, 15);
}

// ---------------------------------------------------------------- reactions

// The callback receives the structured report (kind, name, side, offset, size, site).
TEST(DebugAllocatorTest, CallbackReceivesStructuredReport) {
    Capture cap;
    DebugAllocator d("cb", ziggy::default_allocator(), LeakReportingMode::log, cap.options());
    auto* p = static_cast<char*>(d.allocate_bytes(20));
    const int line = __LINE__ - 1; // the line above
    poke(p, 23);
    d.free(p);
    ASSERT_EQ(cap.reports->size(), 1u);
    const DebugReport& r = cap.reports->front();
    EXPECT_EQ(r.allocator_name, "cb");
    EXPECT_EQ(r.kind, DebugErrorKind::guard_damaged);
    EXPECT_EQ(r.side, GuardSide::overrun);
    EXPECT_EQ(r.offset, 23);
    EXPECT_EQ(r.allocation.size, 20u);
    EXPECT_STREQ(r.allocation.site.file, __FILE__);
    EXPECT_EQ(r.allocation.site.line, line);
    EXPECT_NE(r.message.find("overrun at +23"), std::string::npos);
}

// throw: free() and the checks throw the matching error type.
TEST(DebugAllocatorTest, ThrowReactionThrowsFromThrowingCalls) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log,
                     cap.options(ErrorReaction::throw_exception));
    auto* over = static_cast<char*>(d.allocate_bytes(8));
    poke(over, 8);
    EXPECT_THROW(d.check_guards(), ziggy::MemoryCorruptionError);
    poke(over, -3);
    EXPECT_THROW(d.free(over), ziggy::MemoryCorruptionError);
    EXPECT_EQ(d.tracked_allocation_count(), 0u); // freed all the same
    EXPECT_THROW(d.free(over), ziggy::InvalidFreeError);
    int local = 0;
    EXPECT_THROW(d.free(&local), ziggy::InvalidFreeError);
    auto* live = static_cast<char*>(d.allocate_bytes(8));
    EXPECT_THROW(d.free(live + 1), ziggy::InvalidFreeError);
    d.free(live);
    poke(live, 2, 7);
    EXPECT_THROW(d.check_quarantine(), ziggy::MemoryCorruptionError);
    EXPECT_TRUE(cap.lines->empty());
}

// throw: noexcept paths (deallocate_bytes, Buffer destruction) log instead.
TEST(DebugAllocatorTest, ThrowReactionLogsFromNoexceptPaths) {
    Capture cap;
    DebugAllocator d("t", ziggy::default_allocator(), LeakReportingMode::log,
                     cap.options(ErrorReaction::throw_exception));
    {
        auto b = d.allocate<char>(4);
        poke(b.data(), 4);
    }
    int local = 0;
    d.deallocate_bytes(&local, 4, 4);
    ASSERT_EQ(cap.lines->size(), 2u);
    EXPECT_TRUE(cap.logged("overrun at +4"));
    EXPECT_TRUE(cap.logged("foreign pointer"));
}

// log: every kind is logged under the allocator's name and execution goes on.
TEST(DebugAllocatorTest, LogReactionLogsEveryKindAndContinues) {
    Capture cap;
    DebugOptions o = cap.options(ErrorReaction::log);
    o.quarantine_count = 1;
    DebugAllocator d("logged", ziggy::default_allocator(), LeakReportingMode::log, o);
    auto* a = static_cast<char*>(d.allocate_bytes(8));
    poke(a, -1);
    d.free(a); // underrun
    d.free(a); // double free
    int local = 0;
    d.free(&local); // foreign
    auto* b = static_cast<char*>(d.allocate_bytes(8));
    d.free(b + 4); // interior
    d.free(b);     // evicts a
    poke(b, 0, 1);
    d.free(d.allocate_bytes(8)); // evicts b: write after free
    EXPECT_EQ(cap.lines->size(), 5u);
    for (const char* needle : {"underrun at -1", "double free", "free of foreign pointer",
                               "free of interior pointer", "write after free at +0"})
        EXPECT_TRUE(cap.logged(std::string("'logged': ") + needle)) << needle;
}

// abort (the default): each kind prints its report on stderr and aborts.
TEST(DebugAllocatorDeathTest, AbortReactionDiesOnEveryKind) {
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            auto* p = static_cast<char*>(d.allocate_bytes(8));
            poke(p, 9);
            d.free(p);
        },
        "'boom': overrun at \\+9 of the 8-byte allocation #1 made at "
        ".*debug_allocator_errors_test.cpp");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            auto* p = static_cast<char*>(d.allocate_bytes(8));
            poke(p, -2);
            d.check_guards();
        },
        "'boom': underrun at -2");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            void* p = d.allocate_bytes(8);
            d.free(p);
            d.free(p);
        },
        "'boom': double free .*debug_allocator_errors_test.cpp");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            int local = 0;
            d.free(&local);
        },
        "'boom': free of foreign pointer");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            auto* p = static_cast<char*>(d.allocate_bytes(8));
            d.free(p + 1);
        },
        "'boom': free of interior pointer .* at \\+1");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            auto* p = static_cast<char*>(d.allocate_bytes(8));
            d.free(p);
            poke(p, 3, 0);
            d.check_quarantine();
        },
        "'boom': write after free at \\+3");
    EXPECT_DEATH(
        {
            DebugAllocator d("boom");
            void* p = d.allocate_bytes(8);
            d.deallocate_bytes(p, 16);
        },
        "'boom': sized deallocation .* with size 16");
}

// ---------------------------------------------------------------- ASan

// Sanitized: guard zones are poisoned, the user bytes (and only they) are not,
// also after a guard check.
TEST(DebugAllocatorSanitizedTest, GuardsArePoisoned) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    DebugAllocator d("t");
    auto* p = static_cast<char*>(d.allocate_bytes(13));
    for (int round = 0; round < 2; ++round) {
        EXPECT_TRUE(ziggy::detail::is_poisoned(p - 1));
        EXPECT_TRUE(ziggy::detail::is_poisoned(p - 16));
        EXPECT_FALSE(ziggy::detail::is_poisoned(p));
        EXPECT_FALSE(ziggy::detail::is_poisoned(p + 12));
        EXPECT_TRUE(ziggy::detail::is_poisoned(p + 13));
        EXPECT_TRUE(ziggy::detail::is_poisoned(p + 13 + 15));
        EXPECT_EQ(d.check_guards(), 0u);
    }
    d.free(p);
    EXPECT_TRUE(ziggy::detail::is_poisoned(p)); // quarantined
}

[[gnu::noinline]] void raw_write(char* p, std::ptrdiff_t offset) { p[offset] = 1; }

// Sanitized: ASan itself stops a raw overrun, underrun or write after free.
TEST(DebugAllocatorSanitizedTest, AsanCatchesRawAccesses) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    EXPECT_DEATH(
        {
            DebugAllocator d("t");
            raw_write(static_cast<char*>(d.allocate_bytes(13)), 13);
        },
        "AddressSanitizer: use-after-poison");
    EXPECT_DEATH(
        {
            DebugAllocator d("t");
            raw_write(static_cast<char*>(d.allocate_bytes(16)), -1);
        },
        "AddressSanitizer: use-after-poison");
    EXPECT_DEATH(
        {
            DebugAllocator d("t");
            auto* p = static_cast<char*>(d.allocate_bytes(16));
            d.free(p);
            raw_write(p, 0);
        },
        "AddressSanitizer: use-after-poison");
}

} // namespace
