// ziggy/detail/sanitizer.hpp — the one place that talks to AddressSanitizer and Valgrind.
//
// Pools and arenas hide bugs from ASan unless they say which of their bytes are
// live. Every allocator marks its slack, red zones, guard bytes and pooled blocks
// through these functions. In a build without ASan (and without ZIGGY_VALGRIND)
// each of them is an empty inline function, so the release variant pays nothing.
//
// ASan tracks memory in 8-byte granules: a granule is addressable from its start
// up to some byte, never a hole in the middle. `poison` therefore only marks
// whole granules inside the range, and `unpoison` of a range that does not end on
// a granule boundary leaves the tail of the last granule poisoned, exactly what
// ASan needs to report a 1-byte overrun. Callers that want a red zone to be
// reported keep it granule-aligned (see `asan_granularity`).
#pragma once

#include <cstddef>
#include <cstdint>

#if defined(__SANITIZE_ADDRESS__)
#define ZIGGY_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ZIGGY_ASAN 1
#endif
#endif
#ifndef ZIGGY_ASAN
#define ZIGGY_ASAN 0
#endif

#if defined(__SANITIZE_THREAD__)
#define ZIGGY_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define ZIGGY_TSAN 1
#endif
#endif
#ifndef ZIGGY_TSAN
#define ZIGGY_TSAN 0
#endif

#if ZIGGY_ASAN
#include <sanitizer/asan_interface.h>
#endif

// Users need no Valgrind header: the library makes the requests (and its
// -Dvalgrind=true build needs the header, src/valgrind_requests.cpp).
#if defined(ZIGGY_VALGRIND) && ZIGGY_VALGRIND
#define ZIGGY_HAS_VALGRIND 1
#else
#define ZIGGY_HAS_VALGRIND 0
#endif

namespace ziggy::detail {

#if ZIGGY_HAS_VALGRIND
/// Valgrind's client requests, made out of line by the library
/// (src/valgrind_requests.cpp, built with -Dvalgrind=true): their macros are
/// inline asm in AT&T syntax, which a caller compiled with -masm=intel could
/// not assemble.
namespace valgrind {
void make_noaccess(const void* p, std::size_t n) noexcept;
void make_undefined(const void* p, std::size_t n) noexcept;
void make_defined(const void* p, std::size_t n) noexcept;
/// Under memcheck: whether byte `p` is unaddressable. False when not under Valgrind.
[[nodiscard]] bool unaddressable(const void* p) noexcept;
[[nodiscard]] bool running() noexcept;
void create_mempool(const void* pool) noexcept;
void destroy_mempool(const void* pool) noexcept;
void mempool_alloc(const void* pool, const void* p, std::size_t n) noexcept;
void mempool_free(const void* pool, const void* p) noexcept;
} // namespace valgrind
#endif

/// True when this translation unit is built with AddressSanitizer.
inline constexpr bool asan_enabled = ZIGGY_ASAN != 0;

/// ASan's shadow granularity: red zones that must be reported start and end on it.
inline constexpr std::size_t asan_granularity = 8;

/// Marks [p, p+n) unaddressable: ASan reports any access to it.
inline void poison(const void* p, std::size_t n) noexcept {
#if ZIGGY_ASAN
    ASAN_POISON_MEMORY_REGION(p, n);
#endif
#if ZIGGY_HAS_VALGRIND
    valgrind::make_noaccess(p, n);
#endif
    (void)p;
    (void)n;
}

/// Marks [p, p+n) addressable again (contents undefined to Valgrind).
inline void unpoison(const void* p, std::size_t n) noexcept {
#if ZIGGY_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#if ZIGGY_HAS_VALGRIND
    valgrind::make_undefined(p, n);
#endif
    (void)p;
    (void)n;
}

/// Marks [p, p+n) addressable and initialised (e.g. after a fill the allocator
/// itself wrote, or memory it reads back to verify a pattern).
inline void unpoison_defined(const void* p, std::size_t n) noexcept {
#if ZIGGY_ASAN
    ASAN_UNPOISON_MEMORY_REGION(p, n);
#endif
#if ZIGGY_HAS_VALGRIND
    valgrind::make_defined(p, n);
#endif
    (void)p;
    (void)n;
}

/// True if ASan would report an access to byte `p` (always false without ASan).
[[nodiscard]] inline bool is_poisoned(const void* p) noexcept {
#if ZIGGY_ASAN
    return __asan_address_is_poisoned(p) != 0;
#else
    (void)p;
    return false;
#endif
}

#if ZIGGY_ASAN
/// ASan's shadow value for memory poisoned through
/// `ASAN_POISON_MEMORY_REGION` (`kAsanUserPoisonedMemoryMagic`): every
/// allocator here poisons its headers so. malloc's red zones (0xfa), freed
/// memory (0xfd) and the stack's red zones (0xf1-0xf5) have other values.
inline constexpr unsigned char asan_user_poisoned_magic = 0xf7;
/// Whether the granule of byte `p` is poisoned by a user of ASan's
/// interface (not a red zone of malloc, the stack or a global, nor freed
/// memory). Reads the shadow byte, which instrumented code may not load.
[[nodiscard, gnu::no_sanitize_address]] inline bool user_poisoned(std::uintptr_t p) noexcept {
    std::size_t scale = 0;
    std::size_t offset = 0;
    __asan_get_shadow_mapping(&scale, &offset);
    // NOLINTNEXTLINE(performance-no-int-to-ptr): ASan's shadow byte of `p`
    return *reinterpret_cast<const volatile unsigned char*>((p >> scale) + offset) ==
           asan_user_poisoned_magic;
}
#endif

/// Sanitized builds, and Valgrind builds running under memcheck: whether the
/// `header_size` bytes in front of `p` are poisoned (unaddressable; under
/// ASan, through its interface, `user_poisoned`), as the
/// header of every block an allocator that checks it hands out stays while
/// the block is live or freed. A sized free, which cannot throw, checks it
/// before it unpoisons a header, so that a pointer into the caller's own
/// memory (interior, on the stack) is ignored without its shadow changed.
/// Always true otherwise.
[[nodiscard]] inline bool header_looks_poisoned(const void* p, std::size_t header_size) noexcept {
    // Integer arithmetic: `p` may be any object's address (a local freed by
    // mistake), whose bytes in front are no part of it.
    [[maybe_unused]] const auto at = [p](std::size_t back) {
        // Only asked about, never dereferenced:
        // NOLINTNEXTLINE(performance-no-int-to-ptr)
        return reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(p) - back);
    };
#if ZIGGY_ASAN
    // Poisoned by an allocator (ASan's user-poisoned value), not a red zone
    // or freed memory of malloc: `free` of a pointer from malloc is refused
    // without rewriting its red zone's shadow (a later underrun there is
    // still a heap-buffer-overflow).
    // A pointer off the granules is no block (every header is 8-aligned);
    // checking its neighbours' granules would pass for one inside a freed
    // block, whose header range the caller would then unpoison and poison
    // again rounded to granules, unpoisoning the block's first bytes.
    const auto q = reinterpret_cast<std::uintptr_t>(p);
    return q % asan_granularity == 0 && q > header_size && user_poisoned(q - header_size) &&
           user_poisoned(q - 1);
#elif ZIGGY_HAS_VALGRIND
    if (!valgrind::running()) return true;
    return reinterpret_cast<std::uintptr_t>(p) % alignof(std::uint64_t) == 0 &&
           valgrind::unaddressable(at(header_size)) && valgrind::unaddressable(at(1));
#else
    (void)at;
    (void)header_size;
    return true;
#endif
}

/// As header_looks_poisoned, and the first user byte addressable: `p` looks
/// like the start of a live block. An allocator's `free(void*)`, which can
/// refuse, checks it first, so a foreign, interior or freed pointer is
/// refused without touching memory that is not its own. (A block whose
/// first bytes the user poisoned is refused too; its sized free frees it.)
[[nodiscard]] inline bool looks_like_live_block(const void* p, std::size_t header_size) noexcept {
#if ZIGGY_ASAN
    return header_looks_poisoned(p, header_size) && !is_poisoned(p);
#elif ZIGGY_HAS_VALGRIND
    return header_looks_poisoned(p, header_size) &&
           (!valgrind::running() || !valgrind::unaddressable(p));
#else
    (void)p;
    (void)header_size;
    return true;
#endif
}

// Valgrind mempool client requests: an arena or pool describes its chunks so
// memcheck reports use of memory the pool has not handed out.
inline void mempool_create(const void* pool) noexcept {
#if ZIGGY_HAS_VALGRIND
    valgrind::create_mempool(pool);
#endif
    (void)pool;
}
inline void mempool_destroy(const void* pool) noexcept {
#if ZIGGY_HAS_VALGRIND
    valgrind::destroy_mempool(pool);
#endif
    (void)pool;
}
inline void mempool_alloc(const void* pool, const void* p, std::size_t n) noexcept {
#if ZIGGY_HAS_VALGRIND
    valgrind::mempool_alloc(pool, p, n);
#endif
    (void)pool;
    (void)p;
    (void)n;
}
inline void mempool_free(const void* pool, const void* p) noexcept {
#if ZIGGY_HAS_VALGRIND
    valgrind::mempool_free(pool, p);
#endif
    (void)pool;
    (void)p;
}

/// True when a memory checker (ASan, or Valgrind with ZIGGY_VALGRIND) watches
/// poisoned memory, so allocators should leave red zones between blocks.
inline constexpr bool memory_checker_enabled = ZIGGY_ASAN != 0 || ZIGGY_HAS_VALGRIND != 0;

/// Valgrind: forgets every chunk of `pool` at once (an arena's reset) while
/// keeping the pool itself.
inline void mempool_forget_all(const void* pool) noexcept {
#if ZIGGY_HAS_VALGRIND
    valgrind::destroy_mempool(pool);
    valgrind::create_mempool(pool);
#endif
    (void)pool;
}

} // namespace ziggy::detail
