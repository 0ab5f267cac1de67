#include <gtest/gtest.h>

int main(int argc, char** argv) {
    // Death tests re-execute the binary: safe with threads and with ASan.
    GTEST_FLAG_SET(death_test_style, "threadsafe");
    ::testing::InitGoogleTest(&argc, argv);
    return RUN_ALL_TESTS();
}
