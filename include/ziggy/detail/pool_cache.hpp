// ziggy/detail/pool_cache.hpp — the blocks, free lists and per-thread caches of
// UnmanagedMemoryPool (and so of HybridAllocator), shared by their inline fast
// paths and the slow paths in src/unmanaged_memory_pool.cpp.
//
// Glossary:
//   block   one allocation from the base allocator: [gap][user bytes]. The gap
//           is 16 bytes (64 for 64-byte-aligned lists) and ends with a Header.
//   list    a (size class, alignment set) pair; index < pool_list_count.
//           In a cache, a list holds its newest block in a hot slot and
//           the others on a stack of slots, both named by the list's entry
//           (PoolFrontList) in the cache's front (PoolFront, in the
//           thread's TLS slot for the pool).
//   cache   one thread's free lists for one pool (PoolThreadCache); only that
//           thread touches its lists, so pops and pushes take no lock.
//   depot   the pool's shared, mutex-guarded free lists; caches refill from it
//           and spill into it in batches.
//   direct  a block above the largest class (or over-aligned beyond 64): it
//           goes straight to the base allocator, still with a Header; over
//           a SystemAllocator, with the system's header alone, marked as
//           the pool's (detail::SystemHeader, system_pool_cookie).
//   mark    who a live block belongs to (pool_owner_mark): its header's
//           `next` holds the mark and its info word in one (pool_live_word),
//           and every free compares it, so a block freed through another
//           pool is refused.
//
// The fast paths (pool_pop, pool_push_cached) are here rather than in the
// pool's header because `Allocator`'s byte layer runs them inline for every
// pool-backed allocator (see PoolFreeTag and Allocator::enable_inline_pool),
// so a Buffer of a pool frees, and `allocate_bytes` and `allocate<T>`
// through `Allocator&` allocate, without a virtual call.
//
// Counters another thread may read (statistics, total_allocated_bytes) are
// relaxed atomics written only by the owning thread (`bump`, `bump_one`), so
// the fast path pays no locked instruction and ThreadSanitizer sees no race.
//
// What the fast paths are shaped by (measured on the pool benchmarks, Zen 4):
// the core executes at most two branches a cycle, so a pair with seventeen
// branches could not run in fewer than nine cycles whatever else it did.
// Each fast path therefore makes one test of a list that sends every
// unusual case to
// the slow path: a request beyond the classes indexes the declining list,
// and a thread without a cache for the pool finds the declining cache in
// the pool's TLS slot, both always empty and full (their hot slots closed),
// so the pop's "no block" or the push's "no room" covers them. Each live pool has a slot of its
// own (PoolTlsSlot), read %fs-relative (the pool's key is the slot's offset
// in the array; the array's offset from the thread pointer is added): no
// compare finds the cache (before the slots were per pool, a
// slot compare cost each side of a pair a branch: pairs ran 2.46 ns against
// 2.22-2.29), and since stop 32 the slot holds the cache's front, the hot
// slots and counters a pair writes, so that their addresses wait on one
// load, the pool's place (see PoolFront). An Allocator keeps its pool's
// slot by place, and place 0 for no pool, which its free tests before
// anything else (see Allocator::deallocate_bytes); pools without a slot of
// their own name one that always holds the declining cache. And a free must
// not compute its list from a load it just made, or the push's stores wait on
// that load and the next pop waits on them (the sized free takes the list
// from the size and only compares the header). On Zen 5 (the CI machine
// since stop 21) the pair was bound by what travels through memory from one
// operation to the next, which the hot slot cuts to the block's pointer
// (see PoolFront).
#pragma once

#include <algorithm>
#include <atomic>
#include <bit>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <type_traits>

#include <ziggy/detail/front_header.hpp>
#include <ziggy/detail/sanitizer.hpp>
#include <ziggy/detail/size_classes.hpp>

/// 1 (the default): each pool's per-thread front (PoolFront) is in the
/// thread's static TLS, 86 KiB a thread, and the library cannot be loaded
/// with dlopen() after the program has started. 0 (Meson option
/// `-Dpool_tls_front=false`, which passes it to every user of the library):
/// the front is in the heap cache, 329 bytes of TLS in all, a library dlopen() can
/// load, and pool pairs about 20% slower. Library and users must agree: the
/// check below turns a mismatch into a link error.
#ifndef ZIGGY_POOL_TLS_FRONT
#define ZIGGY_POOL_TLS_FRONT 1
#endif

/// What this header's inline paths and the library's slow paths must agree
/// on, in the name of one symbol that the library defines and every user of
/// this header references: the version of the formats both read and write
/// (the block header's words, the TLS slots and fronts), where the fronts
/// are (ZIGGY_POOL_TLS_FRONT), whether pools describe their memory to
/// Valgrind's memcheck (ZIGGY_VALGRIND: the inline paths mark the blocks
/// they pop and push, or memcheck misjudges them), whether the code is
/// built with AddressSanitizer or ThreadSanitizer, and whether with
/// libstdc++'s debug mode (`_GLIBCXX_DEBUG`, below). An ASan-built program's
/// inline frees poison the blocks they push, and a library built without
/// ASan hands them out again still poisoned (a false `use-after-poison`);
/// a ThreadSanitizer build sees none of the uninstrumented side's
/// synchronisation. Code compiled for another library fails to link (with
/// --gc-sections too), `pool_abi_3_tls_front_asan` (say) undefined, instead
/// of misreading blocks: an ASan-built program links
/// `ziggyalloc-sanitized`. The version must go up with any change to what
/// the inline code and the library share; nothing checks that it did.
#if ZIGGY_POOL_TLS_FRONT
#define ZIGGY_POOL_ABI_FRONT _tls_front
#else
#define ZIGGY_POOL_ABI_FRONT _heap_front
#endif
#if ZIGGY_HAS_VALGRIND
#define ZIGGY_POOL_ABI_MEMCHECK _memcheck
#else
#define ZIGGY_POOL_ABI_MEMCHECK
#endif
#if ZIGGY_ASAN
#define ZIGGY_POOL_ABI_SANITIZER _asan
#elif ZIGGY_TSAN
#define ZIGGY_POOL_ABI_SANITIZER _tsan
#else
#define ZIGGY_POOL_ABI_SANITIZER
#endif
// libstdc++'s debug mode changes the layout of std::vector, which crosses the
// library's boundary in PoolStatistics (and DebugAllocator's reports): a
// program built with _GLIBCXX_DEBUG against a library built without it
// crashed destroying `statistics()`'s result.
#if defined(_GLIBCXX_DEBUG)
#define ZIGGY_POOL_ABI_STDLIB _glibcxx_debug
#else
#define ZIGGY_POOL_ABI_STDLIB
#endif
#define ZIGGY_POOL_ABI_PASTE(a, b, c, d, e) a##b##c##d##e
#define ZIGGY_POOL_ABI_NAME(a, b, c, d, e) ZIGGY_POOL_ABI_PASTE(a, b, c, d, e)
#define ZIGGY_POOL_ABI_SYMBOL                                                      \
    ZIGGY_POOL_ABI_NAME(pool_abi_3, ZIGGY_POOL_ABI_FRONT, ZIGGY_POOL_ABI_MEMCHECK, \
                        ZIGGY_POOL_ABI_SANITIZER, ZIGGY_POOL_ABI_STDLIB)

namespace ziggy::detail {

extern const int ZIGGY_POOL_ABI_SYMBOL; // defined by the library (src/unmanaged_memory_pool.cpp)
// One reference in every translation unit that includes this header (every
// user of ziggyalloc: allocator.hpp includes it, and the arena's inline
// paths depend on ASan as the pool's do). Internal linkage, not `inline`:
// the linker keeps one copy of an inline variable, the first object's, so a
// program whose first object was compiled for the library would get the
// others' references past the check. `retain`: kept by --gc-sections too.
// NOLINTNEXTLINE(cppcoreguidelines-interfaces-global-init): an address, constant-initialised
[[gnu::used, gnu::retain]] static const int* const pool_abi_check = &ZIGGY_POOL_ABI_SYMBOL;

/// In front of every block's user pointer. `next` links blocks in the
/// depot; while the block is live it holds `pool_live_word` of the owning
/// pool's mark (`pool_owner_mark`) and the block's info word, which says
/// how it was allocated (so `free(void*)` needs no size): one compare of
/// it tests both the size and the pool, a free through another pool is
/// refused, and the pool reads the info word back from it
/// (`pool_live_info`). A freed block's is null or a link, never a live
/// word. `info` holds the info word where the pool reads it from there
/// (direct blocks, the blocks of a pool without a TLS slot, and every
/// block allocated on a slow path); a pooled block popped by a fast path
/// or by the bulk allocation (of a pool with a TLS slot, the only kind
/// those pops serve) leaves it as it was, so that a pop and a free each
/// store one word.
struct PoolHeader {
    PoolHeader* next;
    std::uint64_t info; // pool_magic << 56 | route << 48 | requested size, or stale (above)
};
inline constexpr std::size_t pool_header_size = front_header_size;
static_assert(sizeof(PoolHeader) == pool_header_size);

/// What a live block's `next` holds: its pool's `mark` shifted left 16
/// bits, xor the block's info word. The marks of pools with a TLS slot
/// differ from one another only in bits 3-31 (on x86-64 Linux they are
/// negative TLS offsets, whose shifted top bits, 1s, are the same for all),
/// which the shift moves to bits 19-47, clear of a pooled info word's
/// varying bits (the size in 0-15, the list in 48-55): for a pooled info
/// word, two such words are equal only for the same mark and the same info,
/// so the sized free's one load and compare tests both. (Direct blocks'
/// sizes reach those bits; their frees also compare the info word.) Until
/// stop 38 `next` held the mark alone and the sized free loaded both words:
/// on an Intel Xeon that second load made the 64 B `Buffer` pair 5.3-6.5 ns
/// against 2.3-2.5 (docs/performance-history.md). A live word's top byte
/// (0x5A or 0xA5) is that of neither a user-space pointer (a link) nor 0.
[[nodiscard, gnu::always_inline]] constexpr std::uintptr_t pool_live_word(
    std::uintptr_t mark, std::uint64_t info) noexcept {
    return mark << 16 ^ static_cast<std::uintptr_t>(info);
}

inline constexpr std::uint64_t pool_magic = 0xA5;
/// Route byte of a direct block: this bit | log2(alignment).
inline constexpr std::uint64_t pool_direct_route = 0x80;
/// Larger requests cannot be described by a header (and no machine maps them).
inline constexpr std::size_t pool_max_request = std::size_t{1} << 47;

/// Pooled blocks come in two alignment sets: 16 bytes, and 64 (cache lines,
/// also used for 32). Larger alignments go direct.
inline constexpr std::size_t max_pooled_alignment = 64;
inline constexpr std::size_t pool_list_count = 2 * size_class_count;
static_assert(pool_list_count < pool_direct_route);

/// A list no block is ever on: always empty, with its `top` at its `end`.
/// The fast paths index it for requests outside the classes (size or
/// alignment), and `allocate<T>` for a count of zero or too many, so that
/// the one test they make of a list (a pop finds no block, a push finds no
/// room) also sends those to the slow path.
inline constexpr std::size_t pool_declining_list = pool_list_count;

/// The list of `size` bytes at `alignment`: `pool_declining_list` when the
/// size or the alignment is beyond the classes, and for size 0 (a sized free
/// given the wrong size). No branch: a load from the table of size classes,
/// and for 32- and 64-byte alignment an add and a clamp (no_size_class is
/// the declining list).
[[nodiscard, gnu::always_inline]] constexpr std::size_t pool_list_index(
    std::size_t size, std::size_t alignment) noexcept {
    static_assert(pool_declining_list == no_size_class);
    const std::size_t size_class = size_class_index(size);
    const std::size_t list =
        alignment <= 16 ? size_class : std::min(size_class + size_class_count, pool_declining_list);
    return alignment <= max_pooled_alignment ? list : pool_declining_list;
}
[[nodiscard]] constexpr std::size_t pool_list_block_size(std::size_t list) noexcept {
    return class_size(list % size_class_count);
}
[[nodiscard]] constexpr std::size_t pool_list_alignment(std::size_t list) noexcept {
    return list < size_class_count ? 16 : max_pooled_alignment;
}
/// The info word's layout: the request's size in its low 48 bits (a size is
/// below `pool_max_request`, 2^47), the route (the list, or a direct
/// block's route) in the next byte, the magic in the top byte. The size is
/// the low bits so that the byte counters can add the word itself: every
/// value a counter adds, a word or (on the slow paths) a byte count, is
/// its block's size modulo 2^48, so the counters' difference modulo 2^48
/// is the live bytes (`pool_counted_bytes`), and neither side shifts. The
/// magic is above the route so that the word's top 16 bits less
/// `pool_magic << 8` is the list of a pooled block and a number past the
/// lists for anything else (`pool_info_list`), and so that a word can be
/// made with 32-bit constants (`pool_info_made`).
inline constexpr unsigned pool_info_size_bits = 48;
inline constexpr std::uint64_t pool_info_size_mask = (std::uint64_t{1} << pool_info_size_bits) - 1;
static_assert(pool_max_request <= pool_info_size_mask);
[[nodiscard]] constexpr std::uint64_t pool_info(std::size_t size, std::uint64_t route) noexcept {
    return (pool_magic << 8 | route) << pool_info_size_bits | static_cast<std::uint64_t>(size);
}
static_assert(pool_info(3, 5) == ((pool_magic << 8 | 5) << pool_info_size_bits | 3));
/// The parts of an info word.
[[nodiscard]] constexpr std::size_t pool_info_bytes(std::uint64_t info) noexcept {
    return static_cast<std::size_t>(info & pool_info_size_mask);
}
[[nodiscard]] constexpr std::uint64_t pool_info_route(std::uint64_t info) noexcept {
    return (info >> pool_info_size_bits) & 0xFF;
}
[[nodiscard]] constexpr std::uint64_t pool_info_magic(std::uint64_t info) noexcept {
    return info >> 56;
}
/// `pool_info(size, route)` for the pop whose loops make it on every call
/// (the byte layer's, whose callers look the list up again each time;
/// `Allocator::allocate<T>`'s too until stop 35, when its free began to
/// reuse its list and word): magic and route are or'ed with a 32-bit
/// constant and hidden from the optimiser before the shift. Left to
/// itself, g++ folds magic and shift into a 10-byte move of a 64-bit
/// constant; on Zen 5 the 64 B pair of `allocate_bytes` and
/// `deallocate_bytes` then ran 1.41-1.46 ns and the `Buffer` pair through
/// an `Allocator&` 1.32-1.36, against 1.33-1.36 and 1.23-1.28 with stop
/// 33's header in the same rounds; with this, 1.30-1.39 and 1.15-1.21
/// (docs/performance-history.md, stop 34).
/// The typed paths (`allocate<T>` of the pool, the hybrid and `Allocator`)
/// keep `pool_info`, which g++ computes once before a loop over one count.
[[nodiscard, gnu::always_inline]] inline std::uint64_t pool_info_made(
    std::size_t size, std::uint64_t route) noexcept {
    std::uint64_t key = pool_magic << 8 | route;
#if defined(__x86_64__) && defined(__GNUC__)
    asm("" : "+r"(key));
#endif
    return key << pool_info_size_bits | static_cast<std::uint64_t>(size);
}
/// The list of a pooled block's word; for any other word (a direct
/// block's, a freed one's, one without the magic) a number of at least
/// `pool_list_count`. One subtraction, no test of the magic of its own.
[[nodiscard]] constexpr std::uint64_t pool_info_list(std::uint64_t info) noexcept {
    return (info >> pool_info_size_bits) - (pool_magic << 8);
}
/// Live bytes from sums of counted info words and byte counts allocated and
/// freed (each added value is its block's size modulo 2^48): exact while
/// fewer than 2^48 bytes (256 TiB) are live, which no machine maps.
[[nodiscard]] constexpr std::uint64_t pool_counted_bytes(std::uint64_t allocated,
                                                         std::uint64_t freed) noexcept {
    return (allocated - freed) & pool_info_size_mask;
}
/// The route byte of a direct block whose base allocation is aligned to
/// `base_alignment` (a power of two, at least 16), and back.
[[nodiscard]] constexpr std::uint64_t pool_direct_route_of(std::size_t base_alignment) noexcept {
    return pool_direct_route | static_cast<std::uint64_t>(std::countr_zero(base_alignment));
}
[[nodiscard]] constexpr std::size_t pool_direct_alignment(std::uint64_t route) noexcept {
    return std::size_t{1} << (route & 0x3F);
}
/// The info word a direct block's release stores (with a null `next`): no
/// magic, so that nothing reads a live block there. (A pooled block's free
/// stores its `next` alone: see `pool_mark_freed`.)
inline constexpr std::uint64_t pool_freed_info = 0x5A5A5A5A;
static_assert(pool_info_magic(pool_freed_info) != pool_magic);
[[nodiscard]] inline PoolHeader* pool_header_of(void* user) noexcept {
    return front_header_of<PoolHeader>(user);
}
/// Writes both words of header `h` (unpoisoned): `next` (a live word, or
/// null) and `info`.
[[gnu::always_inline]] inline void pool_store_header(PoolHeader* h, std::uintptr_t next,
                                                     std::uint64_t info) noexcept {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): a live word or null, never followed
    h->next = reinterpret_cast<PoolHeader*>(next);
    h->info = info;
}
/// Marks pooled block `user` of the pool of mark `mark` allocated, its
/// header poisoned again afterwards (ASan builds): its `next` becomes the
/// live word of `mark` and `info` (`pool_info` of the request's size and
/// the block's list), and with `BothWords` its info word becomes `info`.
/// The fast paths' pops and the bulk allocation's (which serve only pools
/// with a TLS slot) store `next` alone; the slow paths' store both words.
/// Why one word: a pair's header stores, a pop's and a free's, are each
/// loaded by the next step (the free compares `next`, the pop after it
/// reads the hot slot the free wrote), and on Zen 5 (family 26 model 2),
/// the byte counters in their `add` form, the 64 B `Buffer` pair ran
/// 1.12-1.14 ns with one 8-byte store a side, against 1.30-1.35 with two
/// a side and 1.38 with a 16-byte store on the pop's side (and 1.35 with
/// stop 39's 16-byte store a side), in interleaved rounds of the
/// benchmark binaries (docs/performance-history.md, stop 46). An Intel core
/// (family 6, model 167) ran stop 39's model pair in 1.40 ns with one
/// 8-byte store a side and 1.43 with one 16-byte store, 2.20 with two
/// 8-byte stores a side.
template <bool BothWords>
[[gnu::always_inline]] inline void pool_mark_allocated(void* user, std::uint64_t info,
                                                       std::uintptr_t mark) noexcept {
    PoolHeader* h = pool_header_of(user);
    unpoison_defined(h, pool_header_size);
    if constexpr (BothWords)
        pool_store_header(h, pool_live_word(mark, info), info);
    else
        // NOLINTNEXTLINE(performance-no-int-to-ptr): a live word, never followed
        h->next = reinterpret_cast<PoolHeader*>(pool_live_word(mark, info));
    poison(h, pool_header_size);
}
/// Marks the block of header `h` (unpoisoned), of `list`, freed: its `next`
/// becomes null, no live word, so that a second free of it fails the
/// header test (the sized free's compare of `next`, the others'
/// `pool_live_info`). Poisons the header and the block (ASan builds).
[[gnu::always_inline]] inline void pool_mark_freed(PoolHeader* h, std::size_t list) noexcept {
    h->next = nullptr;
    poison(h, pool_header_size + pool_list_block_size(list));
}

/// Adds `delta` to a counter only the calling thread writes (see file comment).
/// On x86-64 this is one memory-destination `add`: not a locked instruction,
/// and, like the load and release store it replaces, the aligned 8-byte store
/// it ends with is seen whole by other threads. total_allocated_bytes()
/// relies on an allocation's count being seen before its block's free is
/// counted on another thread: the user's hand-over of the block between the
/// threads (a release and an acquire, or a lock, which are also compiler
/// barriers) orders them, and x86 keeps each thread's stores in order.
/// Why this shape: the machines this was measured on disagree. On Zen 4
/// (the CI machine until stop 20) the `add` into memory, addressed off the cache pointer,
/// is the faster form: against a load, an `lea` and a store through a base
/// register (which costs an extra address add, as the asm needs the address
/// in a register), minima of 10 interleaved runs of each, the 64 B Buffer
/// pair ran 2.72 against 2.88 ns, the raw sized batch 2.93 against 3.13 us,
/// Buffers 5.12 against 5.42 us. An Intel core with memory renaming (family
/// 6, model 167) forwards the `lea` form's stored value to the next load of
/// the counter without waiting, and there that form made the sized batch
/// 27% faster (3.71-3.84 -> 2.70-2.80 us; pairs unchanged). On Zen 5
/// (family 26 model 2) the fast paths' `lea` form (stops 39 to 45) cost
/// more than it gained there: PoolFrontAt::add_at, which since stop 46 is
/// this form again.
/// ThreadSanitizer builds and other targets keep the atomic operations.
template <class T>
[[gnu::always_inline]] inline void bump(std::atomic<T>& counter, T delta) noexcept {
#if defined(__x86_64__) && !ZIGGY_TSAN
    static_assert(sizeof(std::atomic<T>) == sizeof(T) && sizeof(T) == 8);
    // Both asm dialects (AT&T, and Intel for -masm=intel: g++ prints the
    // memory operand with its size, clang without, so clang's names it).
#if defined(__clang__)
    asm volatile("{addq %1, %0|add qword ptr %0, %1}"
                 : "+m"(*reinterpret_cast<T*>(&counter))
                 : "er"(delta));
#else
    asm volatile("{addq %1, %0|add %0, %1}" : "+m"(*reinterpret_cast<T*>(&counter)) : "er"(delta));
#endif
#else
    counter.store(counter.load(std::memory_order_relaxed) + delta, std::memory_order_release);
#endif
}
/// `bump(counter, 1)`, as one `add` of an immediate through a register
/// holding the counter's address (the `+m` form lets the compiler index the
/// address, and the raw sized batch then ran 3.1-4.4 against 4.2-4.9 us on
/// Zen 4, minima 3.12 against 4.18, interleaved runs on a loaded host).
template <class T>
[[gnu::always_inline]] inline void bump_one(std::atomic<T>& counter) noexcept {
#if defined(__x86_64__) && !ZIGGY_TSAN
    static_assert(sizeof(std::atomic<T>) == sizeof(T) && sizeof(T) == 8);
    T* const c = reinterpret_cast<T*>(&counter);
    asm volatile("{addq $1, (%1)|add qword ptr [%1], 1}" : "+m"(*c) : "r"(c));
#else
    counter.store(counter.load(std::memory_order_relaxed) + 1, std::memory_order_release);
#endif
}

/// Live bytes from pairs of counters (bytes allocated, bytes freed: sums
/// that only grow, modulo 2^64) that other threads keep adding to, such as
/// the pool's per-thread caches: `for_each_pair(visit)` calls
/// `visit(allocated, freed)` once per pair, in the same order each time.
/// Every `freed` is read before any `allocated`. A free happens after its
/// block's allocation, and the writers' stores are release and these loads
/// acquire, so every free counted here has its allocation counted too: the
/// result is never below the bytes live when the call starts less the
/// bytes freed during it, and never above them plus the bytes allocated
/// during it. (A difference per pair, or the allocations read first, can
/// count a block's free without its allocation and come out below that.)
/// The counters may hold info words (`pool_counted_bytes`): the result is
/// their difference modulo 2^48.
template <class ForEachPair>
[[nodiscard]] std::uint64_t live_bytes_of(ForEachPair for_each_pair) {
    std::uint64_t freed = 0;
    for_each_pair([&](const std::atomic<std::uint64_t>&, const std::atomic<std::uint64_t>& f) {
        freed += f.load(std::memory_order_acquire);
    });
    std::uint64_t allocated = 0;
    for_each_pair([&](const std::atomic<std::uint64_t>& a, const std::atomic<std::uint64_t>&) {
        allocated += a.load(std::memory_order_acquire);
    });
    return pool_counted_bytes(allocated, freed);
}

/// The bottom of every list's stack: a null slot that a pop from an empty
/// list reads (so the pop needs no separate emptiness test), and the stack of
/// a list that has no slots yet.
inline constinit void* pool_empty_stack[1] = {nullptr};

/// A list's hot slot (`PoolFront::hot`) holds a block's user pointer, or
/// one of these: empty (a free may fill it) or closed (never holds a block:
/// every list of the declining cache and of a TLS slot no cache of the
/// thread holds, the declining list of every cache, and lists whose caps
/// keep blocks out of the thread caches). Closed is 0, a list entry's
/// default (PoolFrontList).
inline constexpr std::uintptr_t pool_hot_closed = 0;
inline constexpr std::uintptr_t pool_hot_empty = 1;

/// One list's entry in a cache's front, 32 bytes (in one cache line): its
/// hot slot, its stack's `top` and `end`, and its hit count. The stack holds
/// the user pointers of the list's pooled blocks but the hot slot's, over a
/// null slot; its slots' base is in the cache (`PoolThreadCache::bases`).
/// A list of the declining cache, of a TLS slot that no cache holds, and
/// the declining list of every cache: hot slot closed, stack empty (`top`
/// on the null slot of `pool_empty_stack`) and full (`end` there too).
/// These defaults make `pool_tls_slots`' initial image (.tdata, copied into
/// each thread as it starts) rather than zeroes.
///
/// Why the stack is an array and not a chain through the blocks: a pop from
/// a chain must load the next block's header before the following pop can
/// start, so when the blocks are not in L1 (a burst of a thousand buffers
/// spans 80 KiB) every allocation waits a cache miss for the one before it;
/// a pop from the array reads a slot, usually in L1, and touches the block
/// only to write its header. The slots are allocated by the slow paths (a
/// refill from the depot for limits above 2, or the first free that finds
/// the hot slot full), as many as the pool's limit for the list less the
/// hot slot's one (never moved, so a statistics reader can subtract the
/// base from `top`).
///
/// Why the four together: a push onto the stack stores `top` and the hot
/// slot, a pop from it `top` and the hit count, and Zen 5 (family 26 model
/// 2), like Zen 4, commits two stores in a cycle when they are next to each
/// other in program order and in one cache line. With `top` and `end` in
/// the heap cache (until stop 48) and the hot slots and hit counts in two
/// arrays, a model of the 1000-block batch (pops, then sized pushes, header
/// and counters as the pool's) ran 2.28-2.46 us; with `top` in an array of
/// its own in the front no faster; with `top` and the hot slot in a 16-byte
/// entry 2.20-2.32; with this entry 2.01-2.10; the pair, which pushes into
/// the hot slot, 1.00-1.10 ns in every layout. In the pool's benchmarks
/// (best of 15 interleaved rounds) the per-call sized batch then ran 2.21
/// us against 2.57, the batch of `Buffer`s 3.31 against 3.97
/// (docs/performance-history.md, stop 48). The entry also spares the
/// stack's pops and pushes the load of the cache's pointer.
struct alignas(32) PoolFrontList {
    std::atomic<std::uintptr_t> hot{0};            // pool_hot_closed until a cache opens it
    std::atomic<void**> top{pool_empty_stack + 1}; // one past the newest stacked block
    void** end = pool_empty_stack + 1;             // a push at `end` is slow
    std::atomic<std::uint64_t> pops{0};            // allocations served: hits
};
static_assert(sizeof(PoolFrontList) == 32);

/// What an allocate-free pair of one thread reads and writes besides the
/// block's header: each list's entry (hot slot, stack, hit count), and the
/// thread's byte counters for the pool. A cache's front is in the thread's TLS slot
/// for the pool (PoolTlsSlot::front), so that the fast paths reach it
/// %fs-relative, at an address that waits on one load (the pool's place)
/// instead of two (the place, then the cache's pointer in the slot).
///
/// Why: on Zen 5 an allocate-free pair whose hot slot and counters were
/// addressed through the cache's pointer ran 1.45 ns in a model loop of the
/// pair's instructions, and 1.14 ns with them %fs-relative (as here) or
/// with the pointer in a stack variable: what bounds the pair is how late
/// the addresses of its stores are known, not how many stores it makes
/// (without the hot slot's two stores: no change; the array of lists with
/// 8-byte strides: no change). Model loops and figures in
/// docs/performance-history.md (stop 32).
///
/// The hot slot is what a free fills first and an allocation takes first,
/// and is why a pair of them is fast: a free into it writes the slot without
/// reading where to write (a push onto the stack must load `top`, which the
/// allocation before it has just stored), and its one load of the slot
/// only decides a branch. So in an allocate-free-allocate sequence the only
/// value that travels through memory from one operation to the next is the
/// block's pointer, once a pair instead of the stack's `top` twice.
///
/// The counters are the owning thread's alone (see `bump`); other threads
/// read them (statistics, total_allocated_bytes) under the pool's link
/// mutex, which the thread's exit takes before its TLS goes away.
struct alignas(32) PoolFront {
    /// User bytes allocated and freed through this cache, as sums of info
    /// words and byte counts that wrap (each is its block's size modulo
    /// 2^48: `pool_counted_bytes`). Two counters, not one difference:
    /// total_allocated_bytes() reads every free before every allocation
    /// (their difference is negative when the thread frees what others
    /// allocated).
    std::atomic<std::uint64_t> allocated_bytes{0};
    std::atomic<std::uint64_t> freed_bytes{0};
    PoolFrontList lists[pool_list_count + 1]; // and pool_declining_list (whose hit count is unused)
};

/// Closes every hot slot of `front`, empties its stacks (no slots, no room)
/// and zeroes its counters: the state of a TLS slot that no cache holds
/// (PoolTlsSlot).
inline void pool_close_front(PoolFront& front) noexcept {
    for (PoolFrontList& l : front.lists) {
        l.hot.store(pool_hot_closed, std::memory_order_relaxed);
        l.top.store(pool_empty_stack + 1, std::memory_order_relaxed);
        l.end = pool_empty_stack + 1;
        l.pops.store(0, std::memory_order_relaxed);
    }
    front.allocated_bytes.store(0, std::memory_order_relaxed);
    front.freed_bytes.store(0, std::memory_order_relaxed);
}

/// The block a hot slot value holds (a user pointer kept as an integer, so
/// that the slot can also say empty or closed).
[[nodiscard, gnu::always_inline]] inline void* pool_hot_block(std::uintptr_t hot) noexcept {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): the integer is a pointer stored whole
    return reinterpret_cast<void*>(hot);
}

/// Whether hot slot value `hot` holds a block.
[[nodiscard, gnu::always_inline]] constexpr bool pool_hot_holds(std::uintptr_t hot) noexcept {
    static_assert(pool_hot_closed < pool_hot_empty);
    return hot > pool_hot_empty;
}

/// A list's slots take cache lines of their own (64-byte aligned, a whole
/// number of lines): a push writes the top slot, and the malloc under the
/// pool may put another thread's hot data next to an array of 8-byte slots.
inline constexpr std::size_t pool_slots_alignment = 64;
[[nodiscard]] constexpr std::size_t pool_slots_bytes(std::size_t slots) noexcept {
    return (slots * sizeof(void*) + pool_slots_alignment - 1) & ~(pool_slots_alignment - 1);
}

struct PoolLink;

/// One thread's cache for one pool. Created by the pool's slow path, owned by
/// the thread's registry (deleted at thread exit, or once the pool is gone).
/// Its front is its thread's TLS slot's for the pool (set before the cache
/// is published to other threads, and never changed after), or, for a pool
/// without a slot (and the declining cache), its own.
struct alignas(64) PoolThreadCache { // own cache lines: no false sharing between threads
    /// A cache whose every hot slot is empty but the declining list's.
    PoolThreadCache() noexcept {
        for (std::size_t list = 0; list < pool_list_count; ++list)
            own_front.lists[list].hot.store(pool_hot_empty, std::memory_order_relaxed);
    }
    /// The declining cache: every hot slot closed, every stack empty and full.
    struct Declining {};
    constexpr explicit PoolThreadCache(Declining) noexcept {}
    PoolThreadCache(const PoolThreadCache&) = delete;
    PoolThreadCache& operator=(const PoolThreadCache&) = delete;
    PoolThreadCache(PoolThreadCache&&) = delete;
    PoolThreadCache& operator=(PoolThreadCache&&) = delete;
    ~PoolThreadCache() {
        for (std::atomic<void**>& b : bases)
            if (void** base = b.load(std::memory_order_relaxed); base != nullptr)
                ::operator delete[](base - 1, std::align_val_t{pool_slots_alignment});
    }

    /// Blocks held by `list`, its hot slot's and its stack's. Any thread: a
    /// stack's base is set once, before the release store that moves `top`
    /// onto its slots, but the owner's later stores of `top` are relaxed and
    /// do not carry it, so on a weakly ordered CPU another thread may see a
    /// new `top` and no base yet; such a stack counts as empty (never
    /// `top - nullptr`).
    [[nodiscard]] std::size_t count(std::size_t list) const noexcept {
        const std::size_t hot =
            pool_hot_holds(front->lists[list].hot.load(std::memory_order_relaxed)) ? 1 : 0;
        void** t = front->lists[list].top.load(std::memory_order_acquire);
        void** base = bases[list].load(std::memory_order_relaxed);
        if (t == pool_empty_stack + 1 || base == nullptr) return hot;
        return hot + static_cast<std::size_t>(t - base);
    }

    PoolFront* front = &own_front;
    /// Each list's oldest stack slot (nullptr until its slots are allocated). Not in the
    /// front's entry (PoolFrontList): only the slow paths and statistics read it.
    std::atomic<void**> bases[pool_list_count] = {};
    std::atomic<std::uint64_t> misses[pool_list_count] = {}; // per list
    std::atomic<std::uint64_t> direct_allocations{0};

    std::uint64_t pool_id = 0;
    std::shared_ptr<PoolLink> link; // outlives the pool: thread exit may race its destruction
    PoolFront own_front;
};

/// What the fast paths use when the calling thread has no cache for a pool in
/// its slot (or the pool has no slot): every list is closed, empty and
/// without room, so a pop finds no block and a push no room, and both take
/// the slow path on the tests of a list they make anyway. Never
/// written.
inline constinit PoolThreadCache pool_declining_cache{PoolThreadCache::Declining{}};

/// Each live pool holds one of these per-thread slots (its `PoolFreeTag::slot`)
/// until it is destroyed; in each thread the slot names that thread's cache for
/// the pool, or the declining cache, and holds that cache's front (closed
/// for the declining cache). So the fast paths read the hot slots and
/// counters %fs-relative, and the cache (for its stacks) with one load, and
/// compare nothing: what they find is this pool's or what declines. A
/// pool's destructor resets its slot in every thread that ever wrote a slot
/// (see src/unmanaged_memory_pool.cpp) before another pool may take it.
/// Pools made while every slot is taken get `pool_no_slot`, which always
/// names the declining cache: their operations take the slow path, which
/// finds the thread's cache by pool id.
///
/// The price: 33 slots of 2,656 bytes, 86 KiB (87,648 bytes) of static TLS
/// in every thread of a process that links the library, an initial image
/// each thread copies as it starts (it was 264 bytes before stop 32, 42 KiB
/// of zeroes before stop 48 put the stacks' `top` and `end` there), and, as initial-exec TLS of
/// that size, a library that cannot be loaded by `dlopen` after the program has started (glibc
/// keeps a little over 1 KiB of static TLS for such libraries). The library is meant to be linked
/// (as is Debian's jemalloc, whose libjemalloc.so.2 dlopen() refuses in the same way).
struct PoolTlsSlot {
    std::atomic<PoolThreadCache*> cache{&pool_declining_cache};
#if ZIGGY_POOL_TLS_FRONT
    PoolFront front;
#endif
};
inline constexpr std::size_t pool_tls_slot_count = 32;
// A slot's place is then a multiple of 8 on x86-64 (the thread pointer is
// aligned to at least 64): what `pool_owner_mark` and
// `system_pool_cookie` rely on.
static_assert(alignof(PoolTlsSlot) % 8 == 0 && sizeof(PoolTlsSlot) % 8 == 0);
/// The slot of pools without one (and the default PoolFreeTag's).
inline constexpr std::size_t pool_no_slot = pool_tls_slot_count;
// Constant-initialised and trivially destructible: access needs no TLS guard
// (`constinit` on this declaration tells the compiler so). initial-exec: the
// slots sit at a fixed offset from the thread pointer, also inside the shared
// library (which is linked, not dlopen'ed late). Defined once, in the
// library: as an inline variable each program that inlines a pool's code
// carried a copy of its own in its TLS segment too (the symbols resolve to
// one, but both take room in every thread: 86 KiB instead of 42).
[[gnu::tls_model("initial-exec")]] extern constinit thread_local PoolTlsSlot
    pool_tls_slots[pool_tls_slot_count + 1];

/// The key of `slot`: its byte offset in `pool_tls_slots`, a constant (the
/// place, which the fast paths use, depends on where the thread's TLS is).
[[nodiscard]] constexpr std::uint64_t pool_tls_key(std::size_t slot) noexcept {
    return slot * sizeof(PoolTlsSlot);
}

/// Slots no live pool holds (for tests of their reuse).
[[nodiscard]] std::size_t pool_free_slot_count() noexcept;

/// Names a pool's thread caches: all an inline free needs. A pool-backed
/// allocator registers its pool's tag with `Allocator::enable_inline_pool`.
struct PoolFreeTag {
    /// `pool_tls_key(slot)`. The default names `pool_no_slot`, so every free
    /// of a pool without a slot of its own declines on its list's tests.
    std::uint64_t key = pool_tls_key(pool_no_slot);
    std::uint64_t pool_id = 0;       // unique per pool, ids count up from 1
    std::size_t slot = pool_no_slot; // index into pool_tls_slots
};

/// Where a slot sits, for the calling thread's loads: on x86-64 Linux its
/// offset from the thread pointer (the same in every thread for
/// initial-exec variables, and negative: x86-64 puts static TLS below the
/// thread pointer), elsewhere its index plus one. So no slot's place is 0,
/// which `Allocator` keeps for "not a pool". A type of its own, so that a
/// key (`PoolFreeTag::key`) cannot be passed where a place is wanted.
struct PoolTlsPlace {
    std::ptrdiff_t at = 0;
};

/// The mark a pool keeps in its live blocks' headers (`PoolHeader::next`,
/// with the info word: `pool_live_word`), by which its frees refuse another
/// pool's block. A pool with
/// a TLS slot marks them with the slot's place, which its fast paths hold in
/// a register anyway, so that their test of it is one compare; a pool
/// without a slot (whose frees all take the slow path, which has the pool)
/// with a number from its id whose low six bits are all set (7 mod 8, and
/// at least 127), which is never a place (places are multiples of 8 on
/// x86-64 Linux, and 1 to 33 elsewhere). Pools without a slot whose ids
/// differ by a multiple of 2^42 share a live word (`pool_live_word`).
[[nodiscard]] constexpr std::uintptr_t pool_owner_mark(PoolTlsPlace place, std::uint64_t pool_id,
                                                       bool has_slot) noexcept {
    return has_slot ? static_cast<std::uintptr_t>(place.at)
                    : static_cast<std::uintptr_t>(pool_id << 6 | 0x3F);
}
/// Whether `mark` is a pool's without a TLS slot (its low six bits all
/// set; never a place's): the info words of its blocks' headers are always
/// written (`PoolHeader`).
[[nodiscard]] constexpr bool pool_mark_without_slot(std::uintptr_t mark) noexcept {
    return (mark & 0x3F) == 0x3F;
}
/// The info word of the block of header `h` (unpoisoned) when it is a live
/// block of the pool of mark `mark`; else 0 (no info word is 0). Read back
/// from the live word in `next`, and taken when it is one this pool
/// writes: a pooled block's (its list's, and a size within the list's
/// block); a direct block's, whose header's `info` must then hold it too
/// (a direct block's size reaches the bits that tell marks apart); for a
/// pool without a slot, either, its `info` holding it too. The marks of
/// pools with a TLS slot differ only in bits 3-31 on x86-64 Linux
/// (`pool_live_word`), in bits 0-5 elsewhere (places 1 to 33), so another
/// such pool's live word reads back with a size of 2^16 or more (2^19 on
/// x86-64 Linux), past every class (`max_class_size`, asserted below), or
/// as a direct block's that `info` does not hold; a null `next` or a link
/// (a user-space address) reads back without the magic.
static_assert(max_class_size < std::size_t{1} << 16);
[[nodiscard, gnu::always_inline]] inline std::uint64_t pool_live_info(
    const PoolHeader* h, std::uintptr_t mark) noexcept {
    const std::uint64_t info = reinterpret_cast<std::uintptr_t>(h->next) ^ mark << 16;
    const std::uint64_t list = pool_info_list(info);
    if (list < pool_list_count) { // a pooled word (pool_info_list tests the magic)
        if (pool_info_bytes(info) > pool_list_block_size(list)) return 0;
        if (!pool_mark_without_slot(mark)) return info;
    } else if (pool_info_magic(info) != pool_magic ||
               (pool_info_route(info) & pool_direct_route) == 0) {
        return 0;
    }
    return h->info == info ? info : 0;
}
/// Makes the block of header `h` (unpoisoned, its info word written) live
/// in the pool of mark `mark`.
[[gnu::always_inline]] inline void pool_set_mark(PoolHeader* h, std::uintptr_t mark) noexcept {
    // NOLINTNEXTLINE(performance-no-int-to-ptr): a live word, never followed
    h->next = reinterpret_cast<PoolHeader*>(pool_live_word(mark, h->info));
}

#if defined(__x86_64__) && defined(__linux__)
/// The place of the slot named by `key`. g++ and clang fold
/// `&pool_tls_slots - thread pointer` into one load of a constant (from the
/// GOT, or the linker writes it into the instruction; checked in the
/// disassembly of both), which a loop hoists.
[[nodiscard, gnu::always_inline]] inline PoolTlsPlace pool_tls_place(std::uint64_t key) noexcept {
    // A difference of pointers (not of integers, which g++ 12 does not
    // fold: it loads %fs:0 twice).
    return PoolTlsPlace{reinterpret_cast<char*>(pool_tls_slots) -
                        static_cast<char*>(__builtin_thread_pointer()) +
                        static_cast<std::ptrdiff_t>(key)};
}
/// The calling thread's cache in the slot at `place`: never null, the
/// declining cache when the thread has none there. One load relative to %fs
/// (no load of the thread pointer; g++ has no `__seg_fs` in C++, hence the
/// asm). `volatile`: a slot changes in the slow paths (out-of-line calls),
/// so its reads are never merged or hoisted across them. (An aligned 8-byte
/// load: another thread's reset of the slot, which can only happen while
/// this thread does not use the pool, is seen whole.)
[[nodiscard, gnu::always_inline]] inline PoolThreadCache* pool_tls_cache_at(
    PoolTlsPlace place) noexcept {
    PoolThreadCache* cache = nullptr; // written by the asm below
    asm volatile("{movq %%fs:(%1), %0|mov %0, qword ptr fs:[%1]}" : "=r"(cache) : "r"(place.at));
    static_assert(offsetof(PoolTlsSlot, cache) == 0);
    if (cache == nullptr) __builtin_unreachable(); // a slot always names a cache
    return cache;
}
/// The calling thread's slot at `place`, through a pointer (slow paths and
/// sanitized builds).
[[nodiscard, gnu::always_inline]] inline PoolTlsSlot& pool_tls_slot_at(
    PoolTlsPlace place) noexcept {
    return *reinterpret_cast<PoolTlsSlot*>(static_cast<char*>(__builtin_thread_pointer()) +
                                           place.at);
}
#else
// The index plus one: no slot's place is 0 (Allocator's "no pool").
[[nodiscard, gnu::always_inline]] inline PoolTlsPlace pool_tls_place(std::uint64_t key) noexcept {
    return PoolTlsPlace{static_cast<std::ptrdiff_t>(key / sizeof(PoolTlsSlot)) + 1};
}
[[nodiscard, gnu::always_inline]] inline PoolTlsSlot& pool_tls_slot_at(
    PoolTlsPlace place) noexcept {
    return pool_tls_slots[place.at - 1];
}
[[nodiscard, gnu::always_inline]] inline PoolThreadCache* pool_tls_cache_at(
    PoolTlsPlace place) noexcept {
    return pool_tls_slot_at(place).cache.load(std::memory_order_relaxed);
}
#endif
/// The calling thread's cache in the slot named by `key` (as above): the
/// place's add, then its load. The fast paths keep places instead (a pool's
/// `tls_place_`, an allocator's inline-free place).
[[nodiscard, gnu::always_inline]] inline PoolThreadCache* pool_tls_cache(
    std::uint64_t key) noexcept {
    return pool_tls_cache_at(pool_tls_place(key));
}

/// The calling thread's cache in the slot at `place`, or nullptr (slow paths).
[[nodiscard, gnu::always_inline]] inline PoolThreadCache* pool_tls_lookup(
    PoolTlsPlace place) noexcept {
    PoolThreadCache* cache = pool_tls_cache_at(place);
    return cache == &pool_declining_cache ? nullptr : cache;
}

/// A front reached through its pointer: the slow paths' (the thread's TLS
/// slot's front, or the cache's own for a pool without a slot), and the
/// fast paths' in ThreadSanitizer builds and on other targets.
struct PoolFrontRef {
    PoolFront* f;

    [[nodiscard]] PoolFrontList& entry(std::size_t list) const noexcept { return f->lists[list]; }
    [[nodiscard]] std::uintptr_t hot(std::size_t list) const noexcept {
        return entry(list).hot.load(std::memory_order_relaxed);
    }
    void set_hot(std::size_t list, std::uintptr_t v) const noexcept {
        entry(list).hot.store(v, std::memory_order_relaxed);
    }
    [[nodiscard]] void** top(std::size_t list) const noexcept {
        return entry(list).top.load(std::memory_order_relaxed);
    }
    void set_top(std::size_t list, void** v) const noexcept {
        entry(list).top.store(v, std::memory_order_relaxed);
    }
    [[nodiscard]] void** end(std::size_t list) const noexcept { return entry(list).end; }
    void count_hit(std::size_t list) const noexcept { bump_one(entry(list).pops); }
    void count_allocated(std::uint64_t bytes) const noexcept { bump(f->allocated_bytes, bytes); }
    void count_freed(std::uint64_t bytes) const noexcept { bump(f->freed_bytes, bytes); }
};

#if defined(__x86_64__) && defined(__linux__) && !ZIGGY_TSAN && ZIGGY_POOL_TLS_FRONT
#define ZIGGY_POOL_FRONT_ASM 1
#else
#define ZIGGY_POOL_FRONT_ASM 0
#endif

/// The front of the calling thread's cache in the slot at `place`, as the
/// fast paths reach it: on x86-64 Linux (with the front in TLS) each access
/// is one instruction addressed %fs-relative, off the place (the byte
/// counters: see add_at) or off the place plus the list's stride (a
/// list's hot slot and hit count: see list_base). The asm names
/// no memory, so the compiler does not know it touches a front: what else
/// touches one in a function that runs these is an out-of-line call (the
/// slow paths) or `bump` through the cache's pointer (a direct block's
/// count, inlined next to a pop in the hybrid), itself `asm volatile`, and
/// volatile asm stays in order with volatile asm and with calls. (The bulk
/// free, which writes a front through its pointer, calls the one-block
/// slow path, not these.) ThreadSanitizer builds and other targets use the
/// slot's atomics through a pointer.
struct PoolFrontAt {
    PoolTlsPlace place;

#if ZIGGY_POOL_FRONT_ASM
    static constexpr std::size_t lists_at =
        offsetof(PoolTlsSlot, front) + offsetof(PoolFront, lists);
    static constexpr std::size_t hot_at = lists_at + offsetof(PoolFrontList, hot);
    static constexpr std::size_t top_at = lists_at + offsetof(PoolFrontList, top);
    static constexpr std::size_t end_at = lists_at + offsetof(PoolFrontList, end);
    static constexpr std::size_t pops_at = lists_at + offsetof(PoolFrontList, pops);
    static constexpr std::size_t allocated_at =
        offsetof(PoolTlsSlot, front) + offsetof(PoolFront, allocated_bytes);
    static constexpr std::size_t freed_at =
        offsetof(PoolTlsSlot, front) + offsetof(PoolFront, freed_bytes);

    /// The base register of `list`'s entry: the place plus the list's
    /// stride, so that each access is `%fs:disp(base)`, without an index
    /// register. Why: an Intel core with memory renaming (family 6, model
    /// 167) hands a stored value to a later load of the same `disp(base)`
    /// without waiting, but not when the address has an index. The hot
    /// slot, which a free stores and the next pop loads, then carried each
    /// pair through a store-to-load forward (model loop: 1.42 ns a round
    /// trip indexed, 0.28 with a base alone), and the hit count's `add` to
    /// memory, one per pop, through a chain of 2.06 ns an `add` indexed
    /// against 0.28 with a base alone (docs/performance-history.md, stop 39).
    [[nodiscard, gnu::always_inline]] std::ptrdiff_t list_base(std::size_t list) const noexcept {
        return place.at + static_cast<std::ptrdiff_t>(list * sizeof(PoolFrontList));
    }
    template <std::size_t At>
    [[nodiscard, gnu::always_inline]] std::uintptr_t load_at(std::size_t list) const noexcept {
        std::uintptr_t v = 0; // written by the asm below
        asm volatile("{movq %%fs:%c2(%1), %0|mov %0, qword ptr fs:[%1+%c2]}"
                     : "=r"(v)
                     : "r"(list_base(list)), "i"(At));
        return v;
    }
    template <std::size_t At>
    [[gnu::always_inline]] void store_at(std::size_t list, std::uintptr_t v) const noexcept {
        asm volatile("{movq %0, %%fs:%c2(%1)|mov qword ptr fs:[%1+%c2], %0}"
                     :
                     : "er"(v), "r"(list_base(list)), "i"(At));
    }
    [[nodiscard, gnu::always_inline]] std::uintptr_t hot(std::size_t list) const noexcept {
        return load_at<hot_at>(list);
    }
    [[gnu::always_inline]] void set_hot(std::size_t list, std::uintptr_t v) const noexcept {
        store_at<hot_at>(list, v);
    }
    [[nodiscard, gnu::always_inline]] void** top(std::size_t list) const noexcept {
        // NOLINTNEXTLINE(performance-no-int-to-ptr): the slot holds a pointer
        return reinterpret_cast<void**>(load_at<top_at>(list));
    }
    [[gnu::always_inline]] void set_top(std::size_t list, void** v) const noexcept {
        store_at<top_at>(list, reinterpret_cast<std::uintptr_t>(v));
    }
    [[nodiscard, gnu::always_inline]] void** end(std::size_t list) const noexcept {
        // NOLINTNEXTLINE(performance-no-int-to-ptr): the slot holds a pointer
        return reinterpret_cast<void**>(load_at<end_at>(list));
    }
    [[gnu::always_inline]] void count_hit(std::size_t list) const noexcept {
        asm volatile("{addq $1, %%fs:%c1(%0)|add qword ptr fs:[%0+%c1], 1}"
                     :
                     : "r"(list_base(list)), "i"(pops_at));
    }
    // The byte counters: one `add` of a register into memory. Stops 39 to
    // 45 took a load, an `lea` and a store: on an Intel core (family 6,
    // model 167) an `add` of a register into memory waits for the previous
    // store to the counter, 2.02 ns a step in a model loop, where the `lea`
    // form takes 0.28 (the core renames it), and the 64 B `Buffer` pair ran
    // 2.03-2.06 ns with the `lea` form against 2.10 with the `add`. On
    // Zen 5 (family 26 model 2) the `lea` form is the slow one: with
    // stop 46's header, in interleaved rounds of the benchmark binaries
    // (best of 15), the pair 1.17 ns with the `add` against 1.33, the
    // unsized free's pair 1.29 against 1.45, the per-call sized batch of
    // 1000 2.58 us against 3.51 (docs/performance-history.md, stop 46).
    [[gnu::always_inline]] void count_allocated(std::uint64_t bytes) const noexcept {
        add_at<allocated_at>(bytes);
    }
    [[gnu::always_inline]] void count_freed(std::uint64_t bytes) const noexcept {
        add_at<freed_at>(bytes);
    }
    template <std::size_t At>
    [[gnu::always_inline]] void add_at(std::uint64_t bytes) const noexcept {
        asm volatile("{addq %0, %%fs:%c2(%1)|add qword ptr fs:[%1+%c2], %0}"
                     :
                     : "er"(bytes), "r"(place.at), "i"(At));
    }
#else
#if ZIGGY_POOL_TLS_FRONT
    [[nodiscard]] PoolFront& front() const noexcept { return pool_tls_slot_at(place).front; }
#else
    // The cache's own (its `front` points there), found through the slot.
    [[nodiscard]] PoolFront& front() const noexcept { return pool_tls_cache_at(place)->own_front; }
#endif
    [[nodiscard]] std::uintptr_t hot(std::size_t list) const noexcept {
        return PoolFrontRef{&front()}.hot(list);
    }
    void set_hot(std::size_t list, std::uintptr_t v) const noexcept {
        PoolFrontRef{&front()}.set_hot(list, v);
    }
    [[nodiscard]] void** top(std::size_t list) const noexcept {
        return PoolFrontRef{&front()}.top(list);
    }
    void set_top(std::size_t list, void** v) const noexcept {
        PoolFrontRef{&front()}.set_top(list, v);
    }
    [[nodiscard]] void** end(std::size_t list) const noexcept {
        return PoolFrontRef{&front()}.end(list);
    }
    void count_hit(std::size_t list) const noexcept { PoolFrontRef{&front()}.count_hit(list); }
    void count_allocated(std::uint64_t bytes) const noexcept {
        PoolFrontRef{&front()}.count_allocated(bytes);
    }
    void count_freed(std::uint64_t bytes) const noexcept {
        PoolFrontRef{&front()}.count_freed(bytes);
    }
#endif
};

/// The header of block `user`, unpoisoned, when its info word is `info` and
/// its mark `mark` (`pool_owner_mark`); else nullptr, the header left as it
/// was. In sanitized builds a pointer whose 16 bytes in front are not
/// poisoned is no block of any pool (their headers are poisoned): nullptr at
/// once, its shadow untouched, so that a sized free of a foreign pointer does
/// not poison the caller's memory.
[[nodiscard, gnu::always_inline]] inline PoolHeader* pool_header_if(void* user, std::uint64_t info,
                                                                    std::uintptr_t mark) noexcept {
    if (!header_looks_poisoned(user, pool_header_size)) [[unlikely]]
        return nullptr;
    PoolHeader* h = pool_header_of(user);
    unpoison_defined(h, pool_header_size);
    // One word, the live word of the pool's mark and the info word, tests
    // both (`pool_live_word`).
    if (reinterpret_cast<std::uintptr_t>(h->next) != pool_live_word(mark, info)) [[unlikely]] {
        poison(h, pool_header_size);
        return nullptr;
    }
    return h;
}

/// Puts `user` (header `h`, unpoisoned, checked) in the hot slot of `list`
/// of `front`, which the caller found empty, and counts the bytes `info`
/// records (the header's word, as checked) freed.
template <class Front>
[[gnu::always_inline]] inline void pool_fill_hot(Front front, std::size_t list, void* user,
                                                 PoolHeader* h, std::uint64_t info) noexcept {
    front.count_freed(info); // the header's word: see pool_pop
    front.set_hot(list, reinterpret_cast<std::uintptr_t>(user));
    pool_mark_freed(h, list);
}

/// Puts `user` (header `h`, unpoisoned, checked) in the hot slot of `list`
/// of `front`, which held block `hot`, and `hot` on the list's stack, whose
/// top slot was `top` (below its `end`); counts the bytes `info` records
/// freed. So the newest block is always the
/// hot slot's, and blocks are reused newest first.
///
/// The order of the stores: Zen 4 commits two stores in one cycle only when
/// they are next to each other in program order and in the same cache line,
/// so the counters' stores sit next to stores near them (measured before
/// the hot slot, when a pop stored its header first: a loop of a pair's
/// eight stores alone ran in 5.4 cycles in this order against 8.0, and the
/// pair, which branches bound first on Zen 4, within the noise).
template <class Front>
[[gnu::always_inline]] inline void pool_push_checked(Front front, std::size_t list, void* user,
                                                     PoolHeader* h, std::uintptr_t hot, void** top,
                                                     std::uint64_t info) noexcept {
    front.count_freed(info);      // the header's word: see pool_pop
    front.set_top(list, top + 1); // next to the hot slot's store, in its line (PoolFrontList)
    front.set_hot(list, reinterpret_cast<std::uintptr_t>(user));
    *top = pool_hot_block(hot);
    pool_mark_freed(h, list);
}

/// Pops a block of `list` from `front`'s cache (the calling thread's, or the
/// declining cache): the hot slot's, else the stack's newest; nullptr
/// when the list is empty. `info` is `pool_info(bytes, list)`, written into
/// the block's header; the bytes allocated are counted from it
/// (`CountInfo`, the typed paths: see below) or from `bytes` (the byte
/// layer, whose loops keep the size anyway).
template <bool CountInfo, class Front>
[[gnu::always_inline]] inline void* pool_pop(Front front, std::size_t list, std::size_t bytes,
                                             std::uint64_t info, std::uintptr_t mark) noexcept {
    void* user = nullptr;
    // The hot slot's block is the likely case (an allocate-free pair),
    // and g++ lays it out as the fall-through, as it does the free's
    // hot slot: a pair then takes one taken branch besides its loop's,
    // where it took three (stop 25, interleaved runs of this change
    // alone, before and after, on Zen 5: pairs
    // 1.40-1.43 against 1.42-1.49 ns, and a batch of 1000 Buffers
    // 3.67-3.72 against 3.87-4.05 us, where the stack is the path).
    if (const std::uintptr_t hot = front.hot(list); pool_hot_holds(hot)) [[likely]] {
        front.set_hot(list, pool_hot_empty);
        user = pool_hot_block(hot);
    } else {
        void** top = front.top(list);
        user = top[-1];
        if (user == nullptr) [[unlikely]] // the null slot under the stack
            return nullptr;
        front.set_top(list, top - 1);
    }
    // The fast paths' own front stores `next` alone (PoolHeader).
    pool_mark_allocated<!std::is_same_v<Front, PoolFrontAt>>(user, info, mark);
    front.count_hit(list);
    // The typed paths count the info word as the block's bytes: its low 48
    // bits are the request's size, and the counters' difference is taken
    // modulo 2^48 (`pool_counted_bytes`), as every free counts the word
    // too. A caller's loop over one count then keeps the word the pop
    // stores and no longer uses the size (docs/performance-history.md,
    // stops 33 and 34).
    front.count_allocated(CountInfo ? info : static_cast<std::uint64_t>(bytes));
    unpoison(user, bytes);
    return user;
}
/// The fast paths' pop: the calling thread's cache in the slot at `place`.
/// The byte layer's (`allocate_bytes`).
[[gnu::always_inline]] inline void* pool_pop(PoolTlsPlace place, std::size_t list,
                                             std::size_t bytes) noexcept {
    return pool_pop<false>(PoolFrontAt{place}, list, bytes, pool_info_made(bytes, list),
                           static_cast<std::uintptr_t>(place.at));
}
/// The typed paths' (`allocate<T>` of the pool and the hybrid), given the
/// info word (`pool_info(bytes, list)`), computed with the list before the
/// caller's branches so that a loop over one count computes it once.
[[gnu::always_inline]] inline void* pool_pop_typed(PoolTlsPlace place, std::size_t list,
                                                   std::size_t bytes, std::uint64_t info) noexcept {
    return pool_pop<true>(PoolFrontAt{place}, list, bytes, info,
                          static_cast<std::uintptr_t>(place.at));
}

/// Pushes `user`, a block of the pool whose TLS slot is at `place`, onto the
/// calling thread's cache for its list: into the hot slot when it is empty,
/// else onto the stack.
/// Returns false, having changed nothing, when the thread has no cache for
/// the pool in its slot, the block is direct or already freed, or the list
/// is full: the caller then takes the pool's slow path. Precondition: `user`
/// is non-null and a block of that pool.
[[gnu::always_inline]] inline bool pool_push_cached(PoolTlsPlace place, void* user) noexcept {
    // The declining cache (no cache in the slot) has no room on any list.
    const PoolFrontAt front{place};
    PoolHeader* h = pool_header_of(user);
    unpoison_defined(h, pool_header_size);
    // The info word, read back from the live word (`pool_live_info`). Direct
    // blocks (route >= 0x80) and blocks already freed (a null `next` or a
    // link reads back without the magic) are no list (`pool_info_list`):
    // they take the declining list, which is closed and full in every
    // cache. (The mark is not tested here: the caller, `free`, has, and
    // `deallocate_inline`'s precondition is a block of its pool.)
    const std::uint64_t info =
        reinterpret_cast<std::uintptr_t>(h->next) ^ static_cast<std::uintptr_t>(place.at) << 16;
    const std::uint64_t route_list = pool_info_list(info);
    const std::size_t list = route_list < pool_list_count ? route_list : pool_declining_list;
    const std::uintptr_t hot = front.hot(list);
    if (hot == pool_hot_empty) [[likely]] {
        pool_fill_hot(front, list, user, h, info);
        return true;
    }
    void** top = front.top(list);
    if (top == front.end(list)) [[unlikely]] { // also for a closed hot slot
        poison(h, pool_header_size);
        return false;
    }
    pool_push_checked(front, list, user, h, hot, top, info);
    return true;
}

/// As above for a sized free (`size` as allocated, `list` what
/// `pool_list_index` gives for it and the allocation's alignment). The list
/// comes from the size, not from the header: the header is only compared with
/// what the allocation wrote, so the push's addresses do not wait for that
/// load (a pop and a push of one block run about twice as fast). Any mismatch
/// (a wrong size, a direct block, a block already freed, another pool's
/// block) returns false, and the pool's `do_deallocate` decides (by the
/// header).
[[gnu::always_inline]] inline bool pool_push_cached(PoolTlsPlace place, void* user,
                                                    std::size_t size, std::size_t list) noexcept {
    const PoolFrontAt front{place};
    // Every list of the declining cache is closed and full, and a free
    // through a pool that has no cache here (or no slot) finds that cache:
    // these tests come before the header's, which then needs no reading.
    const std::uint64_t info = pool_info(size, list);
    const std::uintptr_t hot = front.hot(list);
    if (hot == pool_hot_empty) [[likely]] {
        PoolHeader* h = pool_header_if(user, info, static_cast<std::uintptr_t>(place.at));
        if (h == nullptr) [[unlikely]]
            return false;
        pool_fill_hot(front, list, user, h, info);
        return true;
    }
    void** top = front.top(list);
    if (top == front.end(list)) [[unlikely]] // also for a closed hot slot
        return false;
    PoolHeader* h = pool_header_if(user, info, static_cast<std::uintptr_t>(place.at));
    if (h == nullptr) [[unlikely]]
        return false;
    pool_push_checked(front, list, user, h, hot, top, info);
    return true;
}

} // namespace ziggy::detail
