// Proves that the sanitized variant carries its flags to the program that
// links it: a heap overflow in this test's own code is reported by ASan.
#include <ziggy/detail/sanitizer.hpp>
#include <ziggy/system_allocator.hpp>

#include <gtest/gtest.h>

namespace {

// The sanitized suite is compiled with ASan through the dependency's flags.
TEST(SanitizerTest, VariantMatchesInstrumentation) {
    EXPECT_EQ(ziggy::detail::asan_enabled, ZIGGY_TEST_SANITIZED == 1);
}

[[gnu::noinline]] void write_past_end(int* p, std::size_t n) {
    p[n] = 42; // one element past the end
}

// A one-element overrun of a SystemAllocator buffer is an ASan report.
TEST(SanitizerTest, HeapOverflowIsReportedByAsan) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    EXPECT_DEATH(
        {
            auto b = ziggy::default_allocator().allocate<int>(8);
            write_past_end(b.data(), b.size());
        },
        "heap-buffer-overflow");
}

// The allocator's header in front of the block is poisoned: an underrun is
// reported, not silently absorbed by the header.
TEST(SanitizerTest, HeapUnderrunIsReportedByAsan) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no ASan";
    auto b = ziggy::default_allocator().allocate<char>(8);
    EXPECT_TRUE(ziggy::detail::is_poisoned(b.data() - 1));
    EXPECT_FALSE(ziggy::detail::is_poisoned(b.data()));
    EXPECT_DEATH({ b.data()[-1] = 1; }, "AddressSanitizer");
}

// UBSan is on too: a signed overflow aborts.
TEST(SanitizerTest, UndefinedBehaviourIsReportedByUbsan) {
    if (!ziggy::detail::asan_enabled) GTEST_SKIP() << "release variant: no UBSan";
    EXPECT_DEATH(
        {
            volatile int big = 0x7fffffff;
            volatile int r = big + 1;
            (void)r;
        },
        "runtime error");
}

} // namespace
