// ziggy/allocator.hpp — the interface every ziggyalloc allocator implements.
//
// `Allocator` is C#'s IUnmanagedMemoryAllocator: a typed front end that hands
// out bounds-checked `Buffer<T>`s, over a raw byte layer that adapters and
// composing allocators (arena over system, pool over debug, ...) talk to.
//
//     ziggy::SystemAllocator sys;
//     ziggy::Buffer<float> xs = sys.allocate<float>(1024, /*zero_memory=*/true);
//     xs[3] = 1.0f;                        // bounds-checked
//     for (float& x : xs) x += 1.0f;       // raw-pointer speed
//     // xs frees itself through `sys` when it goes out of scope
//
// The byte layer:
//     void* p = sys.allocate_bytes(256, 64);     // throws std::bad_alloc
//     sys.deallocate_bytes(p, 256, 64);          // sized: no lookup needed
//     void* q = sys.try_allocate_bytes(256);     // nullptr instead of throwing
//     sys.free(q);                               // unsized (where supported)
//
// Concrete allocators are `final`, so calls through a concrete type devirtualize.
// Pool-backed allocators (UnmanagedMemoryPool, HybridAllocator) go further:
// through an `Allocator&` too, a sized free (every Buffer's) runs the pool's
// fast path inline with no virtual call, and so does a hit of
// `allocate_bytes`, `allocate<T>` or an adapter's allocation (not of
// `try_allocate_bytes`, the composing allocators' call; for the hybrid,
// with `untyped_bytes` at least 32 KiB, the default; see enable_inline_pool and
// inline_pool_allocation).
#pragma once

#include <algorithm>
#include <concepts>
#include <cstddef>
#include <cstring>
#include <new>
#include <span>
#include <type_traits>

#include <ziggy/detail/alignment.hpp>
#include <ziggy/detail/pool_cache.hpp>
#include <ziggy/unmanaged.hpp>

namespace ziggy {

template <Unmanaged T>
class Buffer;

/// Where an allocation was requested. Captured by default arguments at the
/// caller (`__builtin_FILE()` and friends work on every supported compiler,
/// unlike std::source_location on clang 14 with libstdc++).
struct CallSite {
    const char* file = "";
    int line = 0;
    const char* function = "";

    [[nodiscard]] static constexpr CallSite here(
        const char* file = __builtin_FILE(), int line = __builtin_LINE(),
        const char* function = __builtin_FUNCTION()) noexcept {
        return CallSite{file, line, function};
    }
};

namespace detail {
[[noreturn]] void throw_bad_alloc();
[[noreturn]] void throw_bad_array_new_length();
[[noreturn]] void throw_bad_alignment(std::size_t alignment);

/// The largest element count of an array of T (its bytes within PTRDIFF_MAX):
/// the one limit every typed allocation path (allocate<T>, adapters, defer)
/// checks, through array_bytes or zero_or_too_many.
template <class T>
inline constexpr std::size_t max_array_count = max_object_size / sizeof(T);

/// `count * sizeof(T)`, the byte size of an array of T; throws
/// std::bad_array_new_length when it overflows or exceeds PTRDIFF_MAX.
template <class T>
[[nodiscard]] inline std::size_t array_bytes(std::size_t count) {
    if (count > max_array_count<T>) [[unlikely]]
        throw_bad_array_new_length();
    return count * sizeof(T); // cannot overflow: count <= max_object_size / sizeof(T)
}

/// `std::memset(p, 0, n)` for the inline allocation paths. g++ 12 without
/// optimisation (`-O0`, Meson's default buildtype) inlines them with a
/// caller's constant count and warns (`-Wstringop-overflow`) at the memset
/// of a count too large for any object, on the branch that count never
/// reaches (it throws first); the warning is silenced here, at its one place.
[[gnu::always_inline]] inline void zero_fill(void* p, std::size_t n) noexcept {
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstringop-overflow"
#endif
    std::memset(p, 0, n);
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
}

/// Whether a typed allocation of `count` elements is the empty buffer or too
/// large, in one compare: the fast paths branch once, and the rare path
/// tells which (`count == 0`, or throw_bad_array_new_length). Otherwise
/// `count * sizeof(T)` cannot overflow.
template <class T>
[[nodiscard, gnu::always_inline]] constexpr bool zero_or_too_many(std::size_t count) noexcept {
    return count - 1 >= max_array_count<T>;
}
} // namespace detail

class Allocator {
public:
    Allocator() = default;
    Allocator(const Allocator&) = delete;
    Allocator& operator=(const Allocator&) = delete;
    // Buffers point at their allocator: it must stay where it is.
    Allocator(Allocator&&) = delete;
    Allocator& operator=(Allocator&&) = delete;
    virtual ~Allocator() = default;

    /// Allocates `count` elements of `T`, aligned to `alignof(T)` (over-aligned
    /// types included), zeroed when `zero_memory` is true and uninitialised
    /// otherwise. `count == 0` returns an empty buffer and allocates nothing.
    /// Throws std::bad_array_new_length if `count * sizeof(T)` overflows (nothing
    /// is allocated) and std::bad_alloc when memory is exhausted (accounting is
    /// unchanged). The caller's file, line and function are recorded by
    /// allocators that track sites (DebugAllocator).
    template <Unmanaged T>
    [[nodiscard, gnu::always_inline]] Buffer<T> allocate(
        std::size_t count, bool zero_memory = false, const char* file = __builtin_FILE(),
        int line = __builtin_LINE(), const char* function = __builtin_FUNCTION());

    /// Allocates `size` bytes aligned to `alignment` (a power of two). Returns
    /// nullptr for `size == 0`. Throws std::invalid_argument for an alignment that
    /// is not a power of two, std::bad_alloc when memory is exhausted or the
    /// request is impossible (`size > PTRDIFF_MAX`, `alignment > 1 GiB`).
    [[nodiscard]] void* allocate_bytes(std::size_t size,
                                       std::size_t alignment = detail::malloc_alignment,
                                       bool zero_memory = false, CallSite site = CallSite::here()) {
        if (!detail::is_power_of_two(alignment)) [[unlikely]]
            detail::throw_bad_alignment(alignment);
        if (size == 0) return nullptr;
        const std::size_t list = detail::pool_list_index(size, alignment);
        if (void* p = pop_inline(list, size, zero_memory)) return p;
        void* p = nullptr;
        if (detail::is_possible_request(size, alignment)) {
            // A copy made here, so that a caller's loop writes the site to
            // memory only on this path (g++ 12 wrote the parameter at the
            // top of every pair of BM_PoolBytesPair's loop).
            const CallSite here = site;
            p = do_allocate(size, alignment, zero_memory, here);
        }
        if (p == nullptr) [[unlikely]]
            detail::throw_bad_alloc();
        return p;
    }

    /// `allocate_bytes(64, true)` would ask for alignment 1, not zeroed memory
    /// (the typed calls take `zero_memory` second): a compile error. So for
    /// `try_allocate_bytes` and the pool's and hybrid's `allocate_bulk`.
    template <std::same_as<bool> B, class... Rest>
    void* allocate_bytes(std::size_t, B, Rest&&...) = delete;
    template <std::same_as<bool> B, class... Rest>
    void* try_allocate_bytes(std::size_t, B, Rest&&...) = delete;

    /// As `allocate_bytes`, but returns nullptr instead of throwing (also for a
    /// bad alignment and for `size == 0`). The call composing allocators make
    /// to their backing: it keeps no inline pool pop (with one in it,
    /// DebugAllocator's 64 B pair over a SystemAllocator ran 61-66 ns against
    /// 55-57), so on a pool it is one virtual call.
    [[nodiscard]] void* try_allocate_bytes(std::size_t size,
                                           std::size_t alignment = detail::malloc_alignment,
                                           bool zero_memory = false,
                                           CallSite site = CallSite::here()) noexcept {
        if (size == 0 || !detail::is_power_of_two(alignment) ||
            !detail::is_possible_request(size, alignment)) [[unlikely]]
            return nullptr;
        return do_allocate(size, alignment, zero_memory, site);
    }

    /// Sized deallocation: returns memory from `allocate_bytes(size, alignment)`
    /// (or a Buffer's memory after `release()`, with `size_bytes()` and
    /// `alignof(T)`). `size` and `alignment` must be those of the allocation.
    /// nullptr is a no-op. Never throws; allocators that cannot free one block
    /// (arenas) accept it and reclaim what they can.
    [[gnu::always_inline]] void deallocate_bytes(
        void* pointer, std::size_t size,
        std::size_t alignment = detail::malloc_alignment) noexcept {
        // Before the null test, so that it runs on every call: in a loop of
        // frees of one size, the compiler can then take the class lookup out
        // of the loop (g++ does not hoist it from behind a branch; that it
        // can move at all is detail::size_class_index's asm). A batch of
        // 1000 sized frees ran 6-8% faster.
        const std::size_t list = detail::pool_list_index(size, alignment);
        if (pointer == nullptr) return;
        // Pool-backed allocators: the common free is a push onto this
        // thread's cache, done here without a virtual call. Other
        // allocators (place 0) decline before anything is read: the bytes
        // in front of their blocks may be a guard zone or unmapped.
        if (inline_pool_place_.at != 0 &&
            detail::pool_push_cached(inline_pool_place_, pointer, size, list))
            return;
        do_deallocate(pointer, size, alignment);
    }

    /// Releases memory this allocator handed out, without its size (e.g. the
    /// pointer from `Buffer::release()`). nullptr is a no-op. Allocators without
    /// individual deallocation throw ziggy::NotSupportedError.
    void free(void* pointer) {
        if (pointer != nullptr) do_free(pointer);
    }

    /// Whether `allocate_bytes` and `allocate<T>` first pop a pool's thread
    /// cache inline, without a virtual call: true for an
    /// UnmanagedMemoryPool, and for a HybridAllocator whose `untyped_bytes`
    /// covers every size class (the default); false for every other
    /// allocator. The results are the same either way. (A pool made while
    /// all 32 TLS slots are held has no slot of its own: its inline pop
    /// always misses, and its hits go through `do_allocate`.)
    [[nodiscard]] bool inline_pool_allocation() const noexcept {
        return inline_allocation_place_.at != 0;
    }

    /// False for allocators that only free everything at once (arenas).
    [[nodiscard]] virtual bool supports_individual_deallocation() const noexcept = 0;

    /// Bytes currently handed out to users by live allocations: the sum of the
    /// requested sizes. Exact when no allocation or free is in flight; each
    /// allocator documents what a call made while other threads allocate and
    /// free returns (SystemAllocator: exact at every instant; the pool and the
    /// hybrid: within bounds their headers state).
    [[nodiscard]] virtual std::size_t total_allocated_bytes() const noexcept = 0;

protected:
    /// Wraps `count` elements at `pointer` (memory this allocator handed out) in
    /// a Buffer owned by this allocator. For derived allocators that give
    /// themselves a non-virtual typed fast path (ScopedAllocator::allocate<T>).
    /// Precondition: `pointer` is non-null (Buffer::reset relies on it).
    template <Unmanaged T>
    [[nodiscard, gnu::always_inline]] Buffer<T> adopt_buffer(T* pointer,
                                                             std::size_t count) noexcept {
        return Buffer<T>(pointer, count, *this);
    }
    /// The Buffer the typed fast paths return: owned by `owner` (the
    /// allocator whose memory `pointer` is), or, for a count of zero, the
    /// empty Buffer. Precondition: either `owner` and `pointer` are both
    /// non-null, or both are nullptr and `count` is 0. One return for both,
    /// so that the Buffer's size is `count` on every path: a loop over one
    /// count then frees with the size it allocated, and g++ merges the
    /// free's size class lookup and info word with the allocation's
    /// (detail::size_class_lookup). Returning `Buffer<T>()` for zero made
    /// the size a choice between 0 and `count`, which it did not merge.
    template <Unmanaged T>
    [[nodiscard, gnu::always_inline]] static Buffer<T> make_buffer(T* pointer, std::size_t count,
                                                                   Allocator* owner) noexcept {
        return Buffer<T>(pointer, count, owner);
    }
    /// `into = adopt_buffer(pointer, count)` without the temporary Buffer
    /// (which g++ 12 keeps on the stack, writing it and reading it back): for
    /// bulk calls that fill many buffers. Precondition: `into` is empty, and
    /// `pointer` as for adopt_buffer.
    template <Unmanaged T>
    void adopt_into(Buffer<T>& into, T* pointer, std::size_t count) noexcept {
        into.data_ = pointer;
        into.size_ = count;
        into.owner_ = this;
    }

    /// Pointers the typed bulk calls gather on the stack at a time.
    static constexpr std::size_t bulk_chunk = 128;
    /// The typed bulk allocation of allocators with a raw one
    /// (UnmanagedMemoryPool, HybridAllocator): empties every element of
    /// `out` (owning or a view), then makes each a buffer of `count`
    /// elements owned by this allocator, from `allocate_blocks(blocks)`,
    /// which fills a `std::span<void*>` of at most `bulk_chunk` elements with
    /// blocks of `count * sizeof(T)` bytes or throws having kept none. A
    /// count of 0, or an empty `out`, allocates nothing and throws nothing;
    /// otherwise a count whose bytes overflow throws
    /// std::bad_array_new_length, and one of `pool_max_request` (2^47) bytes
    /// or more, which neither allocator ever grants, std::bad_alloc, both
    /// before anything changes (`out` keeps its buffers). After any other
    /// throw every element is empty: the buffers already made go back
    /// through `free_blocks(blocks, bytes)` (as for
    /// deallocate_buffers_in_bulk).
    template <Unmanaged T, class AllocateBlocks, class FreeBlocks>
    void allocate_buffers_in_bulk(std::span<Buffer<T>> out, std::size_t count,
                                  AllocateBlocks&& allocate_blocks, FreeBlocks&& free_blocks) {
        if (count != 0 && !out.empty()) {
            if (detail::zero_or_too_many<T>(count)) detail::throw_bad_array_new_length();
            if (count * sizeof(T) >= detail::pool_max_request) detail::throw_bad_alloc();
        }
        // Owning or a view; one without memory: no stores. A loop of loads
        // alone (no call in it) finds the first buffer to empty, as most
        // spans come back empty.
        Buffer<T>* const all = out.data();
        const std::size_t n = out.size();
        std::size_t held = 0;
        while (held < n && !all[held].valid()) ++held;
        for (; held < n; ++held)
            if (all[held].valid()) all[held].reset();
        if (count == 0 || n == 0) return;
        void* blocks[bulk_chunk];
        std::size_t done = 0;
        try {
            while (done < n) {
                const std::size_t m = std::min(bulk_chunk, n - done);
                allocate_blocks(std::span<void*>(blocks, m));
                for (std::size_t i = 0; i < m; ++i)
                    adopt_into(all[done + i], static_cast<T*>(blocks[i]), count);
                done += m;
            }
        } catch (...) {
            deallocate_buffers_in_bulk(out.first(done), free_blocks);
            throw;
        }
    }
    /// The typed bulk free of those allocators: empties every buffer of
    /// `buffers`. Runs of this allocator's buffers of one size go to
    /// `free_blocks(std::span<void* const>, bytes)` (at most `bulk_chunk` at
    /// a time, freed as allocated with `alignof(T)`); any other buffer
    /// (another allocator's, or not owning) is reset on its own.
    ///
    /// A run is gathered in a loop of loads alone, then its buffers are
    /// emptied in a loop of stores alone, then its blocks are freed: with
    /// each buffer released as it was gathered, the 64 B typed bulk batch
    /// (allocation included) ran 3.79 us against 3.26 (Zen 5, stop 47). The
    /// loops use the fields, as adopt_into does: through Buffer's accessors
    /// and `release()` the batch read 6-10% slower (3.45-3.59 us against
    /// 3.33-3.39 in two sets of interleaved rounds).
    template <Unmanaged T, class FreeBlocks>
    void deallocate_buffers_in_bulk(std::span<Buffer<T>> buffers,
                                    FreeBlocks&& free_blocks) noexcept {
        void* blocks[bulk_chunk];
        Buffer<T>* const all = buffers.data();
        const std::size_t n = buffers.size();
        std::size_t i = 0;
        while (i < n) {
            // An owning buffer always has memory (see Buffer::reset).
            if (all[i].owner_ != this || all[i].size_ == 0) {
                all[i].reset();
                ++i;
                continue;
            }
            const std::size_t count = all[i].size_;
            const std::size_t end = i + std::min(bulk_chunk, n - i);
            std::size_t j = i;
            do {
                blocks[j - i] = const_cast<std::remove_cv_t<T>*>(all[j].data_);
                ++j;
            } while (j < end && all[j].owner_ == this && all[j].size_ == count);
            for (std::size_t k = i; k < j; ++k) {
                all[k].data_ = nullptr;
                all[k].size_ = 0;
                all[k].owner_ = nullptr;
            }
            free_blocks(std::span<void* const>(blocks, j - i), count * sizeof(T));
            i = j;
        }
    }

    /// For allocators whose blocks live in an UnmanagedMemoryPool (the pool
    /// itself, HybridAllocator): from now on the byte layer runs that pool's
    /// fast paths inline, without a virtual call.
    /// - `deallocate_bytes`, and so every Buffer destructor, first tries the
    ///   pool's push and calls `do_deallocate` only when it declines.
    ///   `do_deallocate` must then behave exactly as that pool's free.
    /// - With `inline_allocation`, `allocate_bytes` and `allocate<T>` first
    ///   try a pop from the calling thread's cache for a
    ///   request within the pool's classes and their alignments, and call
    ///   `do_allocate` only when that finds no block. For those requests
    ///   `do_allocate` must then be the pool's allocation
    ///   (`UnmanagedMemoryPool::allocate_inline`).
    ///
    /// Only the place of the tag's TLS slot is kept.
    void enable_inline_pool(const detail::PoolFreeTag& tag, bool inline_allocation) noexcept {
        inline_pool_place_ = detail::pool_tls_place(tag.key);
        inline_allocation_place_ = inline_allocation ? inline_pool_place_ : detail::PoolTlsPlace{};
    }

    /// For allocators built over another one (a pool over its base): one
    /// virtual call to `base`'s `do_allocate`, without `try_allocate_bytes`'s
    /// checks: the caller guarantees do_allocate's preconditions (below).
    [[nodiscard, gnu::always_inline]] static void* allocate_from(Allocator& base, std::size_t size,
                                                                 std::size_t alignment,
                                                                 bool zero_memory,
                                                                 const CallSite& site) noexcept {
        return base.do_allocate(size, alignment, zero_memory, site);
    }
    /// The same for `do_deallocate`: `deallocate_bytes` without its null test
    /// and its inline pool push (which a pool-backed `base` makes again in
    /// its `do_deallocate`). Precondition: `pointer` is non-null.
    [[gnu::always_inline]] static void deallocate_to(Allocator& base, void* pointer,
                                                     std::size_t size,
                                                     std::size_t alignment) noexcept {
        base.do_deallocate(pointer, size, alignment);
    }

    /// Preconditions: `0 < size <= detail::max_object_size`, `alignment` a power
    /// of two no larger than `detail::max_alignment`. Returns nullptr when the
    /// request cannot be satisfied.
    virtual void* do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                              const CallSite& site) noexcept = 0;
    /// Precondition: `pointer` is non-null.
    virtual void do_deallocate(void* pointer, std::size_t size, std::size_t alignment) noexcept = 0;
    /// Precondition: `pointer` is non-null.
    virtual void do_free(void* pointer) = 0;

private:
    // Where the pool's TLS slot is (no pointer to follow on every free, and
    // one load: a key would need the slots' offset added, a second load).
    // 0, which no slot's place is, names no pool: the default, so that
    // every allocator stays constant-initialisable.
    detail::PoolTlsPlace inline_pool_place_{};
    /// The same place where the inline allocation is enabled, else 0
    /// (enable_inline_pool).
    detail::PoolTlsPlace inline_allocation_place_{};

    /// The inline allocation of pool-backed allocators (enable_inline_pool):
    /// a block of `size` bytes from `list` (`detail::pool_list_index` of the
    /// size and alignment) of the calling thread's cache of the pool, zeroed
    /// if asked; nullptr for every other allocator, for requests beyond the
    /// classes or their alignments (the declining list), and when the
    /// thread's cache has no block of the list (or the thread no cache: the
    /// declining cache). Precondition: `size > 0`.
    [[nodiscard, gnu::always_inline]] void* pop_inline(std::size_t list, std::size_t size,
                                                       bool zero_memory) noexcept {
        if (inline_allocation_place_.at == 0) return nullptr;
        void* p = detail::pool_pop(inline_allocation_place_, list, size);
        if (p != nullptr && zero_memory) detail::zero_fill(p, size);
        return p;
    }
    /// The same for `allocate<T>`, given the header's info word
    /// (`detail::pool_info(size, list)`): `detail::pool_pop_typed`.
    [[nodiscard, gnu::always_inline]] void* pop_inline_typed(std::size_t list, std::size_t size,
                                                             std::uint64_t info,
                                                             bool zero_memory) noexcept {
        if (inline_allocation_place_.at == 0) return nullptr;
        void* p = detail::pool_pop_typed(inline_allocation_place_, list, size, info);
        if (p != nullptr && zero_memory) detail::zero_fill(p, size);
        return p;
    }
};

/// A type that can back another allocator: a non-const allocator. The
/// allocators built over a backing (`UnmanagedMemoryPool`, `HybridAllocator`,
/// `ScopedAllocator`, `FailingAllocator`) take one through a constructor
/// template too, so that `HybridAllocator outer(inner)` over another
/// `HybridAllocator` names `inner` as its backing: without it, overload
/// resolution picks the (deleted) copy constructor, an exact match.
template <class A>
concept BackingAllocator = std::derived_from<A, Allocator> && !std::is_const_v<A>;

} // namespace ziggy

#include <ziggy/buffer.hpp>

namespace ziggy {

template <Unmanaged T>
inline Buffer<T> Allocator::allocate(std::size_t count, bool zero_memory, const char* file,
                                     int line, const char* function) {
    // The list and the header's info word before any branch, so that a
    // loop over one count can compute them once, and the free of the
    // Buffer reuses them (make_buffer; allocate_bytes computes the list
    // after its checks: measured faster there, docs/performance-history.md,
    // stop 31; the typed pop counts the bytes from the word, stop 33; the
    // word is `pool_info`, whose constant g++ then moves once, stop 35).
    // `count * sizeof(T)` may wrap for too many; it is then never used.
    const std::size_t bytes = count * sizeof(T);
    const std::size_t list = detail::pool_list_index(bytes, alignof(T));
    const std::uint64_t info = detail::pool_info(bytes, list);
    void* p = nullptr;
    Allocator* owner = this;
    if (detail::zero_or_too_many<T>(count)) [[unlikely]] {
        if (count != 0) detail::throw_bad_array_new_length();
        owner = nullptr;
    } else {
        p = pop_inline_typed(list, bytes, info, zero_memory);
        if (p == nullptr)
            p = do_allocate(bytes, alignof(T), zero_memory, CallSite{file, line, function});
        if (p == nullptr) [[unlikely]]
            detail::throw_bad_alloc();
    }
    return make_buffer(static_cast<T*>(p), count, owner);
}

} // namespace ziggy
