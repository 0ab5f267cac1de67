// The inline allocation paths compiled without optimisation (`-O0`, Meson's
// default buildtype), as a user's debug build compiles them: a constant
// count too large for any array throws std::bad_array_new_length on every
// allocator, zeroed or not, and the build (warnings are errors in CI) has no
// warning from the headers. g++ 12 at -O0 inlined the constant into the
// zeroing memset of the branch that count never reaches and warned
// (-Wstringop-overflow) inside allocator.hpp and hybrid_allocator.hpp.
#include <ziggy/ziggy.hpp>

#include <gtest/gtest.h>

#include <cstddef>
#include <cstdint>
#include <new>

namespace {

constexpr std::size_t too_many = SIZE_MAX / 4;

TEST(UnoptimizedTest, ConstantImpossibleCountsThrowOnEveryAllocator) {
    ziggy::HybridAllocator hybrid;
    ziggy::UnmanagedMemoryPool pool;
    ziggy::SystemAllocator sys;
    ziggy::Allocator& through_hybrid = hybrid;
    ziggy::Allocator& through_pool = pool;
    EXPECT_THROW((void)pool.allocate<double>(too_many), std::bad_array_new_length);
    EXPECT_THROW((void)pool.allocate<double>(too_many, true), std::bad_array_new_length);
    EXPECT_THROW((void)hybrid.allocate<double>(too_many), std::bad_array_new_length);
    EXPECT_THROW((void)hybrid.allocate<double>(too_many, true), std::bad_array_new_length);
    EXPECT_THROW((void)hybrid.allocate<char>(SIZE_MAX, true), std::bad_array_new_length);
    EXPECT_THROW((void)through_pool.allocate<double>(too_many, true), std::bad_array_new_length);
    EXPECT_THROW((void)through_hybrid.allocate<double>(too_many, true), std::bad_array_new_length);
    EXPECT_THROW((void)sys.allocate<double>(too_many, true), std::bad_array_new_length);
    // And the zeroed paths still zero.
    auto b = hybrid.allocate<std::uint32_t>(16, true);
    for (std::uint32_t v : b) EXPECT_EQ(v, 0u);
    auto c = through_pool.allocate<std::uint32_t>(16, true);
    for (std::uint32_t v : c) EXPECT_EQ(v, 0u);
    EXPECT_EQ(pool.total_allocated_bytes(), 64u);
    EXPECT_EQ(hybrid.total_allocated_bytes(), 64u);
}

} // namespace
