// ziggy/detail/size_classes.hpp — the one table of size classes (pool and hybrid).
//
// A request of `n` bytes is served from the smallest class whose block size is
// at least `n`. Classes are 16 bytes apart up to 128 bytes, then four per
// doubling (160, 192, 224, 256, 320, ...) up to `max_class_size`, so a block
// wastes at most 25% (12.5% on average) and the class of a size is computed
// with one count-leading-zeros, no table walk:
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

/// The class of a size by arithmetic (the definition; the tables below are
/// built from it). Preconditions: `1 <= size <= max_class_size`.
[[nodiscard]] constexpr std::size_t size_class_index_computed(std::size_t size) noexcept {
    if (size <= 128) return (size + 15) / 16 - 1;
    const std::size_t s = size - 1;
    const auto msb = static_cast<std::size_t>(std::bit_width(s)) - 1; // >= 7
    const std::size_t step = (s >> (msb - 2)) & (classes_per_doubling - 1);
    return linear_class_count + (msb - 7) * classes_per_doubling + step;
}

/// Every class up to 1 KiB is a multiple of 16 bytes, and every larger one a
/// multiple of 256: above 128 bytes, two small tables give the class with one
/// load, which the fast paths (run for each allocation and each sized free)
/// prefer to the count-leading-zeros arithmetic (about ten instructions).
inline constexpr std::size_t small_table_limit = 1024;
template <std::size_t Granule, std::size_t Limit>
inline constexpr auto size_class_table = [] {
    std::array<std::uint8_t, Limit / Granule + 1> t{};
    for (std::size_t i = 1; i < t.size(); ++i)
        t[i] = static_cast<std::uint8_t>(size_class_index_computed(i * Granule));
    return t;
}();

/// Class serving `size` bytes (`1 <= size`); `size_class_count` for sizes
/// above `max_class_size`.
[[nodiscard]] constexpr std::size_t size_class_index(std::size_t size) noexcept {
    // Arithmetic for the linear classes: no load, so a loop over one size
    // computes it once. (A branch-free form of the arithmetic for every size,
    // a count-leading-zeros and a shift, measured slower in the Buffer pair:
    // g++ recomputes it in the loop, where it hoists these.)
    if (size <= 128) return (size + 15) / 16 - 1;
    if (size <= small_table_limit) return size_class_table<16, small_table_limit>[(size + 15) / 16];
    if (size <= max_class_size) return size_class_table<256, max_class_size>[(size + 255) / 256];
    return size_class_count;
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
static_assert(size_class_count < 256); // the tables hold bytes
static_assert(size_class_index(max_class_size + 1) == size_class_count);
static_assert(class_size(linear_class_count + 3 * classes_per_doubling - 1) == small_table_limit);
static_assert(class_size(linear_class_count + 3 * classes_per_doubling) % 256 == 0);
static_assert([] {
    // Each class's first and last size map to it (the unit test checks every size).
    for (std::size_t i = 0; i < size_class_count; ++i) {
        const std::size_t first = i == 0 ? 1 : class_size(i - 1) + 1;
        if (size_class_index(first) != i || size_class_index(class_size(i)) != i) return false;
    }
    return true;
}());

} // namespace ziggy::detail
