// ziggy/detail/size_classes.hpp — the one table of size classes (pool and hybrid).
//
// A request of `n` bytes is served from the smallest class whose block size is
// at least `n`. Classes are 16 bytes apart up to 128 bytes, then four per
// doubling (160, 192, 224, 256, 320, ...) up to `max_class_size`, so a block
// wastes at most 25% (12.5% on average). The class of a size is defined by
// arithmetic (size_class_index_computed) and looked up in one table of its
// 16-byte granules (size_class_index):
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
#include <type_traits>

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

/// The class of a size by arithmetic (the definition; the table below is
/// built from it). Preconditions: `1 <= size <= max_class_size`.
[[nodiscard]] constexpr std::size_t size_class_index_computed(std::size_t size) noexcept {
    if (size <= 128) return (size + 15) / 16 - 1;
    const std::size_t s = size - 1;
    const auto msb = static_cast<std::size_t>(std::bit_width(s)) - 1; // >= 7
    const std::size_t step = (s >> (msb - 2)) & (classes_per_doubling - 1);
    return linear_class_count + (msb - 7) * classes_per_doubling + step;
}

/// What `size_class_index` gives for a size no class serves (0, or above
/// `max_class_size`): twice the class count, which is also the index past
/// the pool's lists (the classes at two alignments): pool_cache.hpp relies
/// on that, and checks it.
inline constexpr std::size_t no_size_class = 2 * size_class_count;

/// The 16-byte granule of a size, `(size + 15) / 16`, clamped to the last
/// entry of size_class_table (and 0 for a size so large that `size + 15`
/// wraps).
/// (Not `std::min`, which returns a reference: in g++'s early passes the
/// allocation's and the free's granules of one size are then two loads
/// through pointers to temporaries, not one value, and their lookups are
/// not merged; see size_class_lookup.)
[[nodiscard, gnu::always_inline]] constexpr std::size_t size_granule(std::size_t size) noexcept {
    const std::size_t granule = (size + 15) / 16;
    return granule < max_class_size / 16 + 1 ? granule : max_class_size / 16 + 1;
}

/// The table of size classes. Every class size is a multiple of 16, so the
/// class of a size is that of its granule: entry `g` holds the class of
/// granule `g`, and `no_size_class` for granule 0 and for the last entry.
/// One load and no branch: the fast paths (each allocation and each sized
/// free) take the same time for every size. The arithmetic above is about
/// ten instructions; branching on size ranges (arithmetic to 128 bytes, a
/// table beyond) made a pool pair of 256 B or 1 KiB 12-17% slower than one
/// of 64 B, where the table makes them equal and 64 B 3% faster too. (A
/// batch of 1000 Buffers freed 4-7% slower than with arithmetic, when the
/// load was on each free's way to its list; a loop over one size now makes
/// it once, see size_class_index.)
inline constexpr auto size_class_table = [] {
    std::array<std::uint8_t, max_class_size / 16 + 2> t{};
    for (std::size_t g = 0; g < t.size(); ++g)
        t[g] = static_cast<std::uint8_t>(
            g == 0 || g + 1 == t.size() ? no_size_class : size_class_index_computed(g * 16));
    return t;
}();

#if defined(__x86_64__)
/// The table's entry for `granule` (below its size), read by an asm
/// statement that is not volatile and names no memory, in a function
/// declared `const`: the compilers treat the read as a pure function of
/// the granule. A plain load is reloaded after every call the compiler
/// cannot see into and every `asm("" ::: "memory")` barrier in a loop (such
/// as the benchmarks' `escape`): g++ 12 does not use the table's being
/// constant to keep it across a call. Sound because the table never
/// changes and `size_granule` keeps the index inside it.
///
/// Why a function of its own, and why its asm template ends in twelve
/// empty lines: a loop over one count (an allocation and a `Buffer`'s free
/// of one size) looks the class up twice, once in `allocate<T>` and once in
/// `deallocate_bytes`. g++ merges two identical calls of a const function
/// in its early passes, but not two identical asm statements, and merges
/// those only after register allocation has given the allocation's and the
/// free's list a register each, or the stack. So the call must reach those
/// passes as a call: g++ counts an asm statement as one instruction per
/// line of its template, and twelve lines keep its early inliner, which
/// inlines only the smallest functions, from inlining it there (ten is the
/// least that did with g++ 12 -O2); its later inliner inlines it. The
/// empty lines cost nothing in the object code. (g++ 12 at -O2 and -O3;
/// see below for -Os.) Measured (Zen 5, stop 35,
/// docs/performance-history.md): with the free's own list and info word
/// merged into the allocation's, the hybrid's loop over one count keeps
/// everything in registers, and its pooled in-turn cells read 1.00-1.09x
/// the pool alone in two report runs (1-byte elements over jemalloc had
/// read 1.35-1.39x).
/// (Until stop 23 the load was plain and made on every call: the 64 B
/// `Buffer` pair 1.55-1.58 ns against 1.43-1.45 hoisted.)
#if defined(__OPTIMIZE_SIZE__)
// -Os: g++ would call the lookup (it counts the empty lines below, and
// inlines only what does not grow the code), so the lookup is made in
// place, as before stop 35. (At -O0 and -Og it is a call.)
#define ZIGGY_SIZE_CLASS_LOOKUP [[nodiscard, gnu::const, gnu::always_inline]]
#define ZIGGY_SIZE_CLASS_LOOKUP_LINES ""
#else
#define ZIGGY_SIZE_CLASS_LOOKUP [[nodiscard, gnu::const]]
#define ZIGGY_SIZE_CLASS_LOOKUP_LINES "\n\n\n\n\n\n\n\n\n\n\n\n"
#endif
ZIGGY_SIZE_CLASS_LOOKUP inline std::size_t size_class_lookup(std::size_t granule) noexcept {
    std::size_t index = 0; // written by the asm below (zero-extended)
    // Both asm dialects (AT&T, and Intel for -masm=intel).
    asm("{movzbl (%1,%2), %k0|movzx %k0, byte ptr [%1+%2]}" ZIGGY_SIZE_CLASS_LOOKUP_LINES
        : "=r"(index)
        : "r"(size_class_table.data()), "r"(granule));
    return index;
}
#undef ZIGGY_SIZE_CLASS_LOOKUP
#undef ZIGGY_SIZE_CLASS_LOOKUP_LINES
#endif

/// Class serving `size` bytes; `no_size_class` for 0 and for sizes above
/// `max_class_size`. A size known at compile time does not fold to its
/// class on x86-64 (`size_class_lookup` is opaque to the optimiser; in a
/// loop, made once). Testing __builtin_constant_p here kept the lookup in
/// the loops over a size known only at run time (g++ 12: the 64 B Buffer
/// pair 1.52 against 1.42-1.46 ns, stop 23).
[[nodiscard, gnu::always_inline]] constexpr std::size_t size_class_index(
    std::size_t size) noexcept {
    const std::size_t granule = size_granule(size);
#if defined(__x86_64__)
    if (!std::is_constant_evaluated()) return size_class_lookup(granule);
#endif
    return size_class_table[granule];
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
static_assert(no_size_class < 256); // the table holds bytes
static_assert(size_class_index(0) == no_size_class);
static_assert(size_class_index(~std::size_t{0}) == no_size_class);
static_assert(size_class_index(max_class_size + 1) == no_size_class);
static_assert([] {
    // Each class's first and last size map to it (the unit test checks every size).
    for (std::size_t i = 0; i < size_class_count; ++i) {
        const std::size_t first = i == 0 ? 1 : class_size(i - 1) + 1;
        if (size_class_index(first) != i || size_class_index(class_size(i)) != i) return false;
    }
    return true;
}());

} // namespace ziggy::detail
