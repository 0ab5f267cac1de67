// ziggy/detail/alignment.hpp — alignment and size arithmetic shared by every allocator.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

namespace ziggy::detail {

/// The alignment a plain `malloc` result already has on this platform.
inline constexpr std::size_t malloc_alignment = alignof(std::max_align_t);

[[nodiscard]] constexpr bool is_power_of_two(std::size_t x) noexcept {
    return x != 0 && (x & (x - 1)) == 0;
}

/// Rounds `n` up to a multiple of `alignment` (a power of two). Precondition:
/// the result fits; callers check with `align_up_overflows` first.
[[nodiscard]] constexpr std::size_t align_up(std::size_t n, std::size_t alignment) noexcept {
    return (n + alignment - 1) & ~(alignment - 1);
}

[[nodiscard]] constexpr bool align_up_overflows(std::size_t n, std::size_t alignment) noexcept {
    return n > std::numeric_limits<std::size_t>::max() - (alignment - 1);
}

/// Rounds pointer `p` up to `alignment` (a power of two).
[[nodiscard]] inline char* align_pointer(char* p, std::size_t alignment) noexcept {
    const auto v = reinterpret_cast<std::uintptr_t>(p);
    const auto aligned = (v + alignment - 1) & ~static_cast<std::uintptr_t>(alignment - 1);
    return p + (aligned - v);
}

[[nodiscard]] inline bool is_aligned(const void* p, std::size_t alignment) noexcept {
    return (reinterpret_cast<std::uintptr_t>(p) & (alignment - 1)) == 0;
}

/// `a + b` or false when it overflows.
[[nodiscard]] constexpr bool checked_add(std::size_t a, std::size_t b, std::size_t& out) noexcept {
    return !__builtin_add_overflow(a, b, &out);
}

/// No object may be larger than PTRDIFF_MAX bytes; requests above it fail
/// before they reach any allocator.
inline constexpr std::size_t max_object_size =
    static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());

/// The largest alignment any allocator honours (1 GiB, a huge page); larger
/// power-of-two alignments are requests no allocator can satisfy.
inline constexpr std::size_t max_alignment = std::size_t(1) << 30;

/// Whether `size` bytes at `alignment` can be satisfied at all. Requests
/// outside these bounds fail up front, so no allocator's size arithmetic
/// (size + header + padding + red zone) can overflow.
[[nodiscard]] constexpr bool is_possible_request(std::size_t size, std::size_t alignment) noexcept {
    return size <= max_object_size && alignment <= max_alignment;
}

} // namespace ziggy::detail
