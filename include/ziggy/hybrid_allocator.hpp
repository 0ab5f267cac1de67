// ziggy/hybrid_allocator.hpp — HybridAllocator: small requests pooled, large ones direct.
//
// C#'s HybridAllocator chose between a managed array and native memory by
// element type and count; here the two routes are an internal
// UnmanagedMemoryPool (fast reuse of small blocks) and the backing allocator
// (large blocks, which a pool would only hoard). Thread-safe.
//
//     ziggy::HybridAllocator hybrid;                     // over default_allocator()
//     auto small = hybrid.allocate<std::uint8_t>(512);   // pooled
//     auto large = hybrid.allocate<double>(8192);        // direct (64 KiB)
//     assert(hybrid.route_for<double>(8192) == ziggy::Route::direct);
//
// Default thresholds: everything the pool's classes can hold (32 KiB), for
// every element type: 1-byte types <= 32768 elements, 4-byte <= 8192, 8-byte
// <= 4096, types larger than 8 bytes <= 3640 = 32 KiB / 9 and never more
// than 32 KiB (a 12-byte struct <= 2730, a 16-byte one <= 2048; until stop
// 29 the default was 2048 for all of them, which sent 12-byte structs of
// 24-32 KiB direct at 12-27x the pooled route's time), other sizes <=
// `byte_budget / sizeof(T)`; the byte layer up to
// `untyped_bytes`. Why not the seed's 1024 / 512 / 128 / 64 elements: C#
// chose those as where a managed (garbage-collected) array stops being
// cheaper than native memory, a trade-off that does not exist here.
// bench/pool_bench.cpp measures the hybrid against each route at and past
// each threshold: the pooled route is faster than the direct one at every
// size up to 32 KiB with every malloc tried (the README's hybrid section
// gives the factors by machine and malloc), so the seed's limits made the
// hybrid several times slower than the better route just past them.
// Retention stays bounded by PoolOptions; set smaller thresholds to keep
// mid-sized blocks out of the pool. Requests the pool cannot serve (above its
// largest class or aligned beyond 64) always go direct.
//
// Both routes leave a 16-byte header in front of the block, so `free(void*)`
// knows the route: the pool's for pooled blocks; for direct ones, over a
// SystemAllocator (the default backing) the system's own header, marked as
// the pool's (so a direct block costs the backing no extra bytes and the
// route makes no virtual call), and over any other backing the pool's header
// in front of the backing's block. Measured in turn against the backing
// alone (bench/pool_bench.cpp), the direct route over glibc, mimalloc,
// jemalloc and tcmalloc reads 0.85-1.10 in most processes on Zen 4; over
// tcmalloc, in some, the rows of one size class read 1.19-1.32 (the block's
// place in memory; with a header of its own in front of the system's, the
// route read 1.12-1.23 in every process). On Zen 5 every direct row read
// 0.96-1.01x in stop 21 and 0.97-1.02x in stop 22, and every pooled row
// 0.84-1.03x the pool alone in stop 21 but for two jemalloc rows in one run
// of two, 0.82-1.02x in both runs of stop 22 (with the pool lists' hot
// slot and the allocator's slot place). In stop 23's four runs direct rows
// read 0.96-1.03x and pooled ones 0.86-1.05x but for the 16-byte struct's,
// 1.09-1.13x in six of 192 cells (the pool alone now makes its size lookup
// once per loop for every type). Since stop 24 a 16-byte element's limit is
// one load and its list comes first: in three runs every direct row read
// 0.97-1.02x, and every pooled one 0.95-1.04x but in one run's jemalloc
// process (1.29-3.32x on all its pooled rows; its reruns 0.84-1.03x): a
// stack placement, which slows either the hybrid or the pool alone (their
// objects' fields are reloaded after heap stores) at about 3% of stack
// shifts each (docs/performance-history.md). Since stop 25 the in-turn benchmark
// keeps both sides' objects off the stack and takes the median over twenty
// placements of their objects and code: in two runs direct rows read
// 0.97-1.01x, pooled ones 0.93-1.09x but for 4-byte elements at 2048 and
// 8192 (1.11-1.13x over glibc in both runs, 1.10x over tcmalloc in one);
// the same paths read either way by up to 1.2x from one copy of their code
// to another. Until stop 28 bytes over jemalloc read 1.12-1.21x in
// many processes (a stack reload 4K-aliased with heap stores;
// see allocate<T>), and types whose limit is computed 1.16-1.22x (not
// measured before stop 28). Then, in two report runs, every pooled
// cell of six element types over four mallocs read 0.91-1.06x, every
// direct one 0.96-1.02x (stop 29, with the 12-byte struct at its new edge,
// two runs: 0.91-1.08x and 0.96-1.06x); and at every pooled count measured
// the pooled route (1.4-2.4 ns a pair) beats the direct one (18-310 ns);
// past 32 KiB both are the backing's. Stop 32 made the pool's pair faster
// and left pooled cells at 1.06-1.10x or 1.3-1.43x by type and binary;
// since stop 33 (see
// allocate<T>) two report runs read every pooled cell 0.92-1.09x and
// every direct one 1.00-1.10x; in other builds of the same code three
// 1-byte cells over jemalloc read 1.35-1.41x (the loop's code placement).
// Stop 34's three report runs: the 1-byte cells 1.35-1.39x over jemalloc
// (1.14 once) and up to 1.15x over glibc in two runs, every other pooled
// cell 0.89-1.10x, direct cells 0.98-1.06x (six of one run's mimalloc
// binary 1.10-1.12x). Since stop 35 a `Buffer`'s free reuses the
// allocation's size class and header word (see allocate<T>): every pooled
// cell 1.00-1.09x, every direct one 0.99-1.10x in its two report runs.
#pragma once

#include <algorithm>
#include <array>
#include <bit>
#include <cstddef>
#include <cstring>
#include <span>

#include <ziggy/allocator.hpp>
#include <ziggy/system_allocator.hpp>
#include <ziggy/unmanaged_memory_pool.hpp>

namespace ziggy {

/// Where a request goes.
enum class Route { pooled, direct };

/// Pooling thresholds by element size: a count of `T` is pooled when it is
/// within the threshold of `sizeof(T)` and the classes' 32 KiB (and `T` is
/// aligned within the classes); `HybridAllocator::pooled_count_limit<T>()`
/// is the largest such count.
struct HybridThresholds {
    std::size_t one_byte = detail::max_class_size;       ///< sizeof(T) == 1
    std::size_t four_byte = detail::max_class_size / 4;  ///< sizeof(T) == 4
    std::size_t eight_byte = detail::max_class_size / 8; ///< sizeof(T) == 8
    /// sizeof(T) > 8; within the classes' 32 KiB whatever the size (a
    /// 12-byte struct's limit is 2730, a 16-byte one's 2048).
    std::size_t large_struct = detail::max_class_size / 9;
    std::size_t byte_budget = detail::max_class_size;   ///< other sizes: byte_budget / sizeof(T)
    std::size_t untyped_bytes = detail::max_class_size; ///< byte layer: requests up to this size
};

class HybridAllocator final : public Allocator {
public:
    /// `backing` serves direct requests and the pool's blocks; it must outlive
    /// this allocator.
    explicit HybridAllocator(Allocator& backing = default_allocator(),
                             HybridThresholds thresholds = {}, PoolOptions pool_options = {})
        : thresholds_(thresholds), cached_limits_(computed_limits()), pool_(backing, pool_options) {
        // do_deallocate is the pool's free, and do_allocate the pool's
        // allocation within the classes unless `untyped_bytes` sends some
        // of their sizes direct (then the byte layer has no inline pop).
        enable_inline_pool(pool_.tag_, thresholds_.untyped_bytes >= detail::max_class_size);
    }
    /// The same over any allocator type, this one's too (`BackingAllocator`).
    template <BackingAllocator A>
    explicit HybridAllocator(A& backing, HybridThresholds thresholds = {},
                             PoolOptions pool_options = {})
        : HybridAllocator(static_cast<Allocator&>(backing), thresholds, pool_options) {}

    /// The threshold for elements of `element_size` bytes, before the
    /// classes' 32 KiB: `pooled_count_limit<T>()` is the count `allocate<T>`
    /// pools (for the default `large_struct`, 2730 12-byte elements, where
    /// this says 3640).
    [[nodiscard]] std::size_t max_pooled_count(std::size_t element_size) const noexcept {
        switch (element_size) {
            case 0:
                return 0;
            case 1:
                return thresholds_.one_byte;
            case 4:
                return thresholds_.four_byte;
            case 8:
                return thresholds_.eight_byte;
            default:
                return element_size > 8 ? thresholds_.large_struct
                                        : thresholds_.byte_budget / element_size;
        }
    }

    /// The route `allocate<T>(count)` called on the hybrid takes (`count == 0`
    /// allocates nothing and reports pooled). Through an `Allocator&`, which
    /// cannot see `T`'s threshold, `allocate<T>` routes by its bytes, as
    /// `route_for_bytes` says.
    template <Unmanaged T>
    [[nodiscard]] Route route_for(std::size_t count) const noexcept {
        return count <= pooled_count_limit<T>() ? Route::pooled : Route::direct;
    }

    /// The largest count of `T` that `allocate<T>` pools: `max_pooled_count`,
    /// within the pool's classes, and 0 for types aligned beyond them.
    template <Unmanaged T>
    [[nodiscard]] std::size_t pooled_count_limit() const noexcept {
        if constexpr (alignof(T) > detail::max_pooled_alignment)
            return 0;
        else if constexpr (limit_cached<T>)
            return cached_limits_[sizeof(T)];
        else
            return computed_limit(sizeof(T));
    }

    /// The route of the byte layer: pooled for `size <= untyped_bytes` (and
    /// within the pool's classes and alignments). `alignment` is a power of
    /// two, as `allocate_bytes` requires: for another it throws
    /// `std::invalid_argument` whatever this says.
    [[nodiscard]] Route route_for_bytes(
        std::size_t size, std::size_t alignment = detail::malloc_alignment) const noexcept {
        return size <= thresholds_.untyped_bytes && size <= detail::max_class_size &&
                       alignment <= detail::max_pooled_alignment
                   ? Route::pooled
                   : Route::direct;
    }

    /// As `Allocator::allocate<T>`, routed by `route_for<T>(count)`, inline
    /// (forced: g++ otherwise stops inlining it, and a pooled pair pays a
    /// call). The direct route passes the caller's site on to the backing
    /// allocator, so a DebugAllocator there names the caller.
    template <Unmanaged T>
    [[nodiscard, gnu::always_inline]] Buffer<T> allocate(
        std::size_t count, bool zero_memory = false, const char* file = __builtin_FILE(),
        int line = __builtin_LINE(), const char* function = __builtin_FUNCTION()) {
        // One compare for the route: a count above the limit (which keeps
        // `count * sizeof(T)` within the classes) goes direct, where too
        // many throws. A count of zero takes the pooled branch: the list of
        // 0 bytes is the declining one, so the pop finds no block, and the
        // miss returns an empty buffer before any slow path.
        // Why this shape (pooled pairs measured in turn against the pool
        // alone, Zen 5):
        // - A route test of its own costs a pooled pair 15-20% unless its
        //   branch is predicted. Stop 25 tried it as a select of the
        //   declining list, as the pool does, and read worse: the list's
        //   address then waits for the limit's load.
        // - Until stop 28 the test was `count - 1 >= limit` (zero joined
        //   the direct branch). In a caller's loop over one count that
        //   kept `count - 1` live: a seventh value for six callee-saved
        //   registers, so g++ kept another on the stack and reloaded it
        //   every pair, and in some processes that load read 4K-aliased
        //   with the pair's heap stores. Bytes read 1.17-1.21x the pool
        //   alone over jemalloc in each of three processes that day, and
        //   1.03-1.09x over glibc; with this test 1.05x over both, and
        //   every pooled cell of four element types over four mallocs
        //   0.92-1.06x in two report runs.
        // - The pool's list is computed before the route's branch, for
        //   every type: the Buffer's free, where the routes meet, needs it
        //   too and reuses it (computed after the branch, it was computed
        //   again for the free: seven instructions more a pooled pair,
        //   1.07-1.14x the pool alone in stop 21). Until stop 28 types
        //   whose limit is computed (a load and a minimum, and for 3, 5, 6
        //   and 7 bytes a division by a constant) computed it after the
        //   branch, and g++ kept three values of the loop on the stack:
        //   a 12-byte struct read 1.16-1.19x the pool alone in turn and a
        //   3-byte one 1.21-1.22x; with the list first, 1.00-1.03x and
        //   1.05x (over jemalloc and glibc). (Stop 24 had read the list
        //   first 1.07-1.08x for a 16-byte struct whose limit was then a
        //   minimum: that was with the old test, whose `count - 1` took
        //   the register the list now has.)
        // - The header's info word is computed with the list, and the pop
        //   stores the live word made from it and counts the bytes from it
        //   (detail::pool_pop_typed): in a loop over one count g++ then keeps the word in a
        //   register instead of building it on every pair, and the hot loop no longer uses the size
        //   (until stop 35, below, it still reloaded the list and part of the word from the stack
        //   for the free). Stop 33: pooled in-turn cells over four mallocs above 1.10x went from
        //   16-17 of 72 to 3 in scratch rounds and the final build's report run (1-byte elements
        //   over jemalloc, by code placement), to 0 in two report runs of another build
        //   (0.92-1.09x).
        // - One return for every path (Allocator::make_buffer), the empty
        //   Buffer of a count of zero included: the Buffer's size is then
        //   `count` on every path, so g++ merges the free's size class
        //   lookup and info word with these (detail::size_class_lookup).
        //   Until stop 35 the free made its own: a second list and word for
        //   the loop, one kept on the stack or rebuilt on every pair, and by
        //   code placement some loops read 1.3-1.4x the pool alone (1-byte
        //   elements over jemalloc, in stop 33's final build and every
        //   build of stop 34).
        //   With one list and one word the loop keeps everything in
        //   registers: every pooled in-turn cell over four mallocs read
        //   1.00-1.09x in two report runs (0.97-1.07x in a scratch round
        //   but for one cell at 1.13).
        // `count * sizeof(T)` may wrap for too many; it is then never used.
        const std::size_t bytes = count * sizeof(T);
        const std::size_t list = detail::pool_list_index(bytes, alignof(T));
        const std::uint64_t info = detail::pool_info(bytes, list);
        void* p = nullptr;
        Allocator* owner = this;
        if (count > pooled_count_limit<T>()) [[unlikely]] {
            if (detail::zero_or_too_many<T>(count)) detail::throw_bad_array_new_length();
            p = pool_.allocate_direct(bytes, alignof(T), zero_memory,
                                      CallSite{file, line, function});
        } else {
            p = detail::pool_pop_typed(pool_.tls_place_, list, bytes, info);
            if (p == nullptr) [[unlikely]] {
                if (count == 0)
                    owner = nullptr;
                else
                    p = pool_.allocate_slow(bytes, alignof(T), zero_memory);
            } else if (zero_memory) {
                detail::zero_fill(p, bytes);
            }
        }
        if (p == nullptr && owner != nullptr) [[unlikely]]
            detail::throw_bad_alloc();
        return make_buffer(static_cast<T*>(p), count, owner);
    }

    /// Bulk allocation: fills `out` with blocks of `size` bytes aligned to
    /// `alignment`, routed as `allocate_bytes(size, alignment)` is
    /// (`route_for_bytes`). Pooled: the pool's `allocate_bulk`, which takes
    /// the calling thread's cached blocks in one pass. Direct: one block of
    /// the backing allocator each (it receives `site`). Bad input is treated
    /// as `allocate_bytes` treats it: std::invalid_argument for an alignment
    /// that is not a power of two, every element nullptr for `size == 0`,
    /// std::bad_alloc for an impossible request or when memory runs out;
    /// after a throw no block stays allocated and every element of `out` is
    /// nullptr. Free the blocks in any way (`deallocate_bulk`,
    /// `deallocate_bytes`, `free`). Thread-safe.
    void allocate_bulk(std::span<void*> out, std::size_t size,
                       std::size_t alignment = detail::malloc_alignment, bool zero_memory = false,
                       CallSite site = CallSite::here());
    /// `allocate_bulk(out, 64, true)` would be alignment 1: a compile error.
    template <std::same_as<bool> B, class... Rest>
    void allocate_bulk(std::span<void*>, std::size_t, B, Rest&&...) = delete;

    /// Bulk free of blocks of `size` bytes at `alignment` from either route:
    /// as many `deallocate_bytes(p, size, alignment)` calls (nulls skipped),
    /// the pooled blocks pushed onto the thread's cache in one pass (the
    /// pool's `deallocate_bulk`). Thread-safe.
    void deallocate_bulk(std::span<void* const> blocks, std::size_t size,
                         std::size_t alignment = detail::malloc_alignment) noexcept {
        pool_.deallocate_bulk(blocks, size, alignment);
    }

    /// Bulk allocation through the Buffer API (`allocate_bulk<float>(buffers,
    /// 16)`): every element of `out` becomes a buffer of `count` elements
    /// owned by this allocator, on the route `route_for<T>(count)` names
    /// (pooled: through the pool's bulk call; direct: a block of the backing
    /// each). Buffers already in `out` are freed first; a count of 0 leaves
    /// every element empty, and an empty `out` allocates nothing (without
    /// checking the count). Otherwise throws as `allocate<T>` does: a count
    /// whose bytes overflow throws std::bad_array_new_length, and one of 2^47
    /// bytes or more std::bad_alloc, before anything changes (`out` keeps its
    /// buffers); after any other throw (the backing out of memory) every
    /// element is empty and no block stays allocated.
    template <Unmanaged T>
    void allocate_bulk(std::span<Buffer<T>> out, std::size_t count, bool zero_memory = false,
                       CallSite site = CallSite::here()) {
        const std::size_t bytes = count * sizeof(T); // used only once the count passed
        const bool pooled = route_for<T>(count) == Route::pooled;
        allocate_buffers_in_bulk(
            out, count,
            [&](std::span<void*> blocks) {
                if (pooled)
                    pool_.allocate_bulk(blocks, bytes, alignof(T), zero_memory);
                else
                    allocate_direct_bulk(blocks, bytes, alignof(T), zero_memory, site);
            },
            [&](std::span<void* const> blocks, std::size_t size) {
                pool_.deallocate_bulk(blocks, size, alignof(T));
            });
    }

    /// Bulk free through the Buffer API: empties every buffer of `buffers`.
    /// Runs of this allocator's buffers of one size go back through the
    /// pool's `deallocate_bulk`; any other buffer is reset on its own.
    template <Unmanaged T>
    void deallocate_bulk(std::span<Buffer<T>> buffers) noexcept {
        deallocate_buffers_in_bulk(buffers, [&](std::span<void* const> blocks, std::size_t size) {
            pool_.deallocate_bulk(blocks, size, alignof(T));
        });
    }

    [[nodiscard]] const HybridThresholds& thresholds() const noexcept { return thresholds_; }

    /// The internal pool (its statistics, `clear()`). Direct blocks show up in
    /// its `direct_allocations` and `total_allocated_bytes()`.
    [[nodiscard]] UnmanagedMemoryPool& pool() noexcept { return pool_; }
    [[nodiscard]] const UnmanagedMemoryPool& pool() const noexcept { return pool_; }

    /// Always true.
    [[nodiscard]] bool supports_individual_deallocation() const noexcept override { return true; }
    /// User bytes of live allocations on both routes, as the pool's
    /// `total_allocated_bytes()` (exact when no operation is in flight; while
    /// other threads work, never below the bytes live when the call starts
    /// less those freed during it).
    [[nodiscard]] std::size_t total_allocated_bytes() const noexcept override {
        return pool_.total_allocated_bytes();
    }

protected:
    void* do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                      const CallSite& site) noexcept override;
    void do_deallocate(void* pointer, std::size_t size, std::size_t alignment) noexcept override;
    void do_free(void* pointer) override;

private:
    /// Fills `out` with direct blocks of `size` bytes (`site` passed to the
    /// backing); when one fails, frees those taken, sets every element to
    /// nullptr and throws std::bad_alloc. Preconditions: `size > 0`,
    /// `alignment` a power of two, the request possible.
    void allocate_direct_bulk(std::span<void*> out, std::size_t size, std::size_t alignment,
                              bool zero_memory, const CallSite& site);

    /// Element sizes whose pooled count limit is computed once, at
    /// construction: every size up to 32 bytes (one load on the fast path
    /// instead of a load and a minimum, or a division). Until stop 32 only
    /// the powers of two up to 16 were: once the pool's pair ran 1.2 ns, a
    /// 12-byte struct's computed limit made its pooled pairs 1.34-1.37x the
    /// pool alone in turn, a 3-byte one's 1.12-1.15x.
    static constexpr std::size_t cached_limit_count = 33; // by size; [0] unused
    template <class T>
    static constexpr bool limit_cached = sizeof(T) < cached_limit_count;

    /// The pooled count limit of elements of `element_size` bytes (aligned
    /// within the classes): the threshold, within the largest class.
    [[nodiscard]] std::size_t computed_limit(std::size_t element_size) const noexcept {
        return std::min(max_pooled_count(element_size), detail::max_class_size / element_size);
    }
    /// `computed_limit` of 1 to 32 bytes (reads thresholds_ only, which is
    /// initialised first).
    [[nodiscard]] std::array<std::size_t, cached_limit_count> computed_limits() const noexcept {
        std::array<std::size_t, cached_limit_count> limits{};
        for (std::size_t size = 1; size < cached_limit_count; ++size)
            limits[size] = computed_limit(size);
        return limits;
    }

    HybridThresholds thresholds_;
    std::array<std::size_t, cached_limit_count> cached_limits_; // by element size
    UnmanagedMemoryPool pool_;
};

} // namespace ziggy
