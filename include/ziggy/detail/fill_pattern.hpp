// ziggy/detail/fill_pattern.hpp — named fill bytes and pattern checks for debug allocators.
//
// A debugging allocator paints memory so that a bug shows up as a recognisable
// byte: fresh memory as 0xCD ("clean"), freed memory as 0xDD ("dead"), guard
// zones around a block as 0xFD ("fence"), the values of the MSVC debug heap that
// many developers already know on sight. The checks below find the first (or
// last) byte that no longer holds the pattern, a word at a time.
//
//     detail::fill(guard, 16, detail::fill_byte(detail::FillPattern::guard));
//     std::size_t i = detail::first_mismatch(guard, 16, 0xFD);   // 16: intact
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

namespace ziggy::detail {

/// The default bytes a debugging allocator paints memory with.
enum class FillPattern : unsigned char {
    fresh = 0xCD, ///< newly allocated, not zeroed: reading it is a bug
    freed = 0xDD, ///< freed (quarantined): any change is a write after free
    guard = 0xFD, ///< guard zones before and after a block
};

[[nodiscard]] constexpr unsigned char fill_byte(FillPattern pattern) noexcept {
    return static_cast<unsigned char>(pattern);
}

/// Paints [p, p+n) with `byte`. Guard-sized ranges (up to 32 bytes) are
/// written inline, which beats a call to memset at that size.
inline void fill(void* p, std::size_t n, unsigned char byte) noexcept {
    auto* b = static_cast<unsigned char*>(p);
    if (n <= 32) {
        const std::uint64_t word = 0x0101010101010101ull * byte;
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) std::memcpy(b + i, &word, 8);
        for (; i < n; ++i) b[i] = byte;
        return;
    }
    std::memset(b, byte, n);
}

/// True when every byte of [p, p+n) is `byte`. Guard-sized ranges (up to 32
/// bytes) are compared inline, a word at a time; longer ones compare the first
/// byte, then the range with itself shifted by one (all bytes are equal iff
/// each equals its successor), so the libc's vectorised memcmp does the work.
[[nodiscard]] inline bool all_equal(const void* p, std::size_t n, unsigned char byte) noexcept {
    const auto* b = static_cast<const unsigned char*>(p);
    if (n <= 32) {
        const std::uint64_t word = 0x0101010101010101ull * byte;
        std::uint64_t diff = 0;
        std::size_t i = 0;
        for (; i + 8 <= n; i += 8) {
            std::uint64_t w = 0;
            std::memcpy(&w, b + i, 8); // no alignment or aliasing assumptions
            diff |= w ^ word;
        }
        for (; i < n; ++i) diff |= static_cast<std::uint64_t>(b[i] ^ byte);
        return diff == 0;
    }
    return b[0] == byte && std::memcmp(b, b + 1, n - 1) == 0;
}

/// Index of the first byte in [p, p+n) that is not `byte`, or `n` if all are.
[[nodiscard]] inline std::size_t first_mismatch(const void* p, std::size_t n,
                                                unsigned char byte) noexcept {
    if (all_equal(p, n, byte)) [[likely]]
        return n;
    const auto* b = static_cast<const unsigned char*>(p);
    std::size_t i = 0;
    while (b[i] == byte) ++i;
    return i;
}

/// Index of the last byte in [p, p+n) that is not `byte`, or `n` if all are.
/// Guards in front of a block are scanned this way: an underrun walks down
/// from the block, so the damaged byte nearest to it is the one to report.
[[nodiscard]] inline std::size_t last_mismatch(const void* p, std::size_t n,
                                               unsigned char byte) noexcept {
    if (all_equal(p, n, byte)) [[likely]]
        return n;
    const auto* b = static_cast<const unsigned char*>(p);
    std::size_t i = n - 1;
    while (b[i] == byte) --i;
    return i;
}

} // namespace ziggy::detail
