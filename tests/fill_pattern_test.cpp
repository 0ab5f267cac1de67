// detail/fill_pattern.hpp: the fills and pattern checks of DebugAllocator.
#include <ziggy/detail/fill_pattern.hpp>

#include <gtest/gtest.h>

#include <vector>

namespace {

using namespace ziggy::detail;

// The named patterns are the MSVC debug-heap bytes.
TEST(FillPatternTest, PatternBytes) {
    EXPECT_EQ(fill_byte(FillPattern::fresh), 0xCD);
    EXPECT_EQ(fill_byte(FillPattern::freed), 0xDD);
    EXPECT_EQ(fill_byte(FillPattern::guard), 0xFD);
}

// fill paints exactly [p, p+n), for small (inline) and large (memset) sizes.
TEST(FillPatternTest, FillPaintsExactlyTheRange) {
    for (std::size_t n = 0; n <= 80; ++n) {
        std::vector<unsigned char> v(n + 2, 0);
        fill(v.data() + 1, n, 0xAB);
        EXPECT_EQ(v.front(), 0);
        EXPECT_EQ(v.back(), 0);
        for (std::size_t i = 1; i <= n; ++i) ASSERT_EQ(v[i], 0xAB) << n;
    }
}

// Every single damaged byte is found, from either end, at every size.
TEST(FillPatternTest, EveryDamagedByteIsFound) {
    for (std::size_t n = 1; n <= 80; ++n) {
        std::vector<unsigned char> v(n, 0xFD);
        EXPECT_TRUE(all_equal(v.data(), n, 0xFD));
        EXPECT_EQ(first_mismatch(v.data(), n, 0xFD), n);
        EXPECT_EQ(last_mismatch(v.data(), n, 0xFD), n);
        for (std::size_t i = 0; i < n; ++i) {
            v[i] = 0xFC;
            ASSERT_FALSE(all_equal(v.data(), n, 0xFD)) << n << " " << i;
            ASSERT_EQ(first_mismatch(v.data(), n, 0xFD), i);
            ASSERT_EQ(last_mismatch(v.data(), n, 0xFD), i);
            v[i] = 0xFD;
        }
    }
}

// With two damaged bytes, first_mismatch finds the lower, last_mismatch the higher.
TEST(FillPatternTest, FirstAndLastPickTheRightEnd) {
    std::vector<unsigned char> v(40, 0xDD);
    v[3] = 0;
    v[30] = 0;
    EXPECT_EQ(first_mismatch(v.data(), v.size(), 0xDD), 3u);
    EXPECT_EQ(last_mismatch(v.data(), v.size(), 0xDD), 30u);
    EXPECT_TRUE(all_equal(v.data(), 0, 0xDD));
}

} // namespace
