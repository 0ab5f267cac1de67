// ziggy/detail/front_header.hpp — the 16-byte header that SystemAllocator and
// UnmanagedMemoryPool keep directly in front of a user pointer (each with its
// own layout; a pool over a SystemAllocator leaves its direct blocks with the
// system's header alone), so a free needs no size. The bytes from the block's start to
// the user pointer (the gap) are the header itself for alignments up to 16,
// and `alignment` bytes for larger ones (the header fills the gap's end), so
// the user pointer keeps the block's alignment.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ziggy::detail {

inline constexpr std::size_t front_header_size = 16;

/// Bytes in front of the user pointer of a block aligned to `alignment`.
[[nodiscard]] constexpr std::size_t front_gap(std::size_t alignment) noexcept {
    return alignment <= front_header_size ? front_header_size : alignment;
}

/// The header in front of `user`. Integer arithmetic: the pool's inline free
/// is compiled into every Buffer destructor, also where the compiler sees a
/// pointer to a small object that will never reach it (an allocator that is
/// not pool-backed), and pointer arithmetic there draws a false -Warray-bounds.
template <class Header>
[[nodiscard]] inline Header* front_header_of(void* user) noexcept {
    static_assert(sizeof(Header) <= front_header_size);
    // NOLINTNEXTLINE(performance-no-int-to-ptr): deliberate, see above
    return reinterpret_cast<Header*>(reinterpret_cast<std::uintptr_t>(user) - front_header_size);
}

/// SystemAllocator's header. `cookie` says, while the block is live, whose
/// it is: the SystemAllocator's own (`system_cookie`), or a direct block of an
/// UnmanagedMemoryPool (or HybridAllocator) over it (`system_pool_cookie`
/// of the pool's mark), which only that pool frees and which carries no
/// pool header: the pool knows its direct blocks by this cookie. Once
/// freed, the cookie is 0.
/// A pool's header has its magic byte (the info word's top byte) where
/// this has the cookie's top byte (0x5A, or 0 once freed: never the
/// magic), so one look tells the two apart, either way: a pool reading
/// this finds no magic, and this read from a pool's header has no cookie.
struct SystemHeader {
    std::size_t size;        ///< user bytes
    std::uint32_t alignment; ///< as requested
    std::uint32_t cookie;
};
static_assert(sizeof(SystemHeader) == front_header_size);
inline constexpr std::uint32_t system_cookie = 0x5A16A11Cu;
/// The cookie of a pool's direct blocks: 0x5A, then the low 24 bits of the
/// pool's mark (`pool_owner_mark`), so that another pool's free refuses
/// them. Never `system_cookie` (whose low bits are 4 mod 8: a mark is a
/// multiple of 8, 7 mod 8, or at most 33) and never 0. Pools with slots
/// differ in these bits (their places are less than 2^24 apart), as do a
/// pool with a slot and one without (whose low six bits are all set);
/// pools without slots share them when their ids differ by a multiple of
/// 2^18.
[[nodiscard]] constexpr std::uint32_t system_pool_cookie(std::uintptr_t mark) noexcept {
    return 0x5A000000u | static_cast<std::uint32_t>(mark & 0xFFFFFFu);
}
/// Whether `cookie` is some pool's (`system_pool_cookie`).
[[nodiscard]] constexpr bool is_system_pool_cookie(std::uint32_t cookie) noexcept {
    return cookie >> 24 == 0x5A && cookie != system_cookie;
}
static_assert((system_cookie & 7) == 4);

} // namespace ziggy::detail
