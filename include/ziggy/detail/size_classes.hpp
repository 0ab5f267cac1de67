// ziggy/detail/size_classes.hpp — the one table of size classes (pool and hybrid).
//
// A request of `n` bytes is served from the smallest class whose block size is
// at least `n`. Classes are 16 bytes apart up to 128 bytes, then four per
// doubling (160, 192, 224, 256, 320, ...) up to `max_class_size`, so a block
// wastes at most 25% (12.5% on average) and the class of a size is computed
// with one count-leading-zeros and a shift, no table and no branch:
//
//     size:   1..16  17..32 ... 113..128  129..160  161..192 ... 24577..32768
//     class:    0      1          7          8         9            39
//
// Every class size is a multiple of 16, so blocks carved at 16-byte offsets
// stay 16-byte aligned.
#pragma once

#include <array>
#include <bit>
#include <cstddef>
#include <cstdint>

namespace ziggy::detail {

/// Classes spaced 16 bytes apart, covering 16..128.
inline constexpr std::size_t linear_class_count = 8;
/// Classes per doubling above 128 bytes.
inline constexpr std::size_t classes_per_doubling = 4;
/// The largest pooled size; larger requests go straight to the base allocator.
inline constexpr std::size_t max_class_size = std::size_t(32) * 1024;
/// Number of size classes.
inline constexpr std::size_t size_class_count = linear_class_count + classes_per_doubling * 8;

/// Block size of class `index` (precondition: `index < size_class_count`).
[[nodiscard]] constexpr std::size_t class_size(std::size_t index) noexcept {
    if (index < linear_class_count) return (index + 1) * 16;
    const std::size_t group = (index - linear_class_count) / classes_per_doubling;
    const std::size_t step = (index - linear_class_count) % classes_per_doubling;
    const std::size_t base = std::size_t{128} << group;
    return base + (step + 1) * (base / classes_per_doubling);
}

/// The class of a size by arithmetic: with `s = size - 1` and `m` the index
/// of the highest set bit of `s | 64` (so at least 6), the class is
/// `4m - 24 + (s >> (m - 2))`. Below 128 bytes that is `s / 16`; above, the
/// shift keeps the leading bit and the two below it (4..7, the step within
/// the doubling). No branch and no table: the pool's fast paths run on two
/// branch units, so every branch costs as much as a few instructions.
/// Defined for every size >= 1: sizes above `max_class_size` give indexes
/// of `size_class_count` and up (callers compare before they use it).
[[nodiscard]] constexpr std::size_t size_class_index(std::size_t size) noexcept {
    const std::size_t s = size - 1;
    const auto m = static_cast<std::size_t>(std::bit_width(s | 64)) - 1;
    return 4 * m - 24 + (s >> (m - 2));
}

/// All class sizes, for statistics and tests.
inline constexpr std::array<std::size_t, size_class_count> class_sizes = [] {
    std::array<std::size_t, size_class_count> sizes{};
    for (std::size_t i = 0; i < size_class_count; ++i) sizes[i] = class_size(i);
    return sizes;
}();

static_assert(class_size(size_class_count - 1) == max_class_size);
static_assert(size_class_index(max_class_size) == size_class_count - 1);
static_assert(size_class_index(129) == linear_class_count && class_size(8) == 160);
static_assert(size_class_index(max_class_size + 1) == size_class_count);
// The arithmetic is written for 16-byte steps to 128, then 4 per doubling.
static_assert(linear_class_count == 8 && classes_per_doubling == 4);
static_assert([] {
    // Each class's first and last size map to it (the unit test checks every size).
    for (std::size_t i = 0; i < size_class_count; ++i) {
        const std::size_t first = i == 0 ? 1 : class_size(i - 1) + 1;
        if (size_class_index(first) != i || size_class_index(class_size(i)) != i) return false;
    }
    return true;
}());

} // namespace ziggy::detail
