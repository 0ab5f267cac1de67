// ziggy/unmanaged_memory_pool.hpp — UnmanagedMemoryPool: reuse freed blocks by size class.
//
// A thread-safe pool over a base allocator (C#'s UnmanagedMemoryPool). Freed
// blocks are kept in free lists by size class (ziggy/detail/size_classes.hpp)
// and handed out again, so steady-state allocate/free cycles never reach the
// base. Each thread has its own cache per pool: the common allocate and free
// are a few instructions without a lock or an atomic read-modify-write. Caches
// spill into and refill from a shared depot in batches; a buffer may be freed
// on any thread. Retention is bounded (PoolOptions) and `clear()` gives pooled
// blocks back to the base.
//
//     ziggy::UnmanagedMemoryPool pool;                 // over default_allocator()
//     {
//         auto a = pool.allocate<float>(16);           // miss: from the base
//     }                                                // a's block is pooled
//     auto b = pool.allocate<float>(16);               // hit: the same block
//     assert(pool.statistics().hits == 1);
//     pool.clear();                                    // pooled blocks -> base
//
// Requests above `detail::max_class_size` (32 KiB) or aligned beyond 64 bytes
// go straight to the base. Every block carries a 16-byte header in front
// (size, class and the pool's mark; a direct block over a SystemAllocator,
// that allocator's own header, marked as the pool's), so `free(void*)` works
// on a pointer from `Buffer::release()`. In ASan
// builds pooled blocks are poisoned: touching a buffer after it went back to
// the pool is reported as use-after-poison.
//
// Threads: a thread's cache for a pool is created on its first use of that
// pool. When the thread exits, its cached blocks go to the pool's depot (or to
// the base, beyond the caps) and its counters are folded into the pool's. When
// the pool is destroyed first, it returns every thread's cached blocks to the
// base; the thread later deletes its empty cache. Any number of pools work:
// each of the first 32 live pools holds a TLS slot of its own (given back
// when it is destroyed), where every thread finds its cache with one load;
// pools made while all 32 are held find their caches through a short
// per-thread list on the slow path, for their whole life.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <type_traits>
#include <vector>

#include <ziggy/allocator.hpp>
#include <ziggy/detail/front_header.hpp>
#include <ziggy/detail/pool_cache.hpp>
#include <ziggy/detail/sanitizer.hpp>
#include <ziggy/detail/size_classes.hpp>
#include <ziggy/system_allocator.hpp>

namespace ziggy {

/// Retention bounds. Byte figures count block sizes (class sizes). A cap of 0
/// disables that level of retention (0 everywhere: every free goes to the base).
struct PoolOptions {
    /// Bytes the shared depot keeps in total; excess frees go to the base.
    std::size_t max_retained_bytes = std::size_t(32) << 20;
    /// Bytes the shared depot keeps per size class (its 16- and 64-byte-aligned
    /// blocks together).
    std::size_t max_retained_bytes_per_class = std::size_t(4) << 20;
    /// Bytes each thread's cache keeps per free list, a size class in one
    /// alignment set (at most 2048 blocks, and no more than either cap above
    /// for one list: a thread may cache a class's 16- and 64-byte-aligned
    /// blocks up to the per-class cap each); a full cache spills half of it
    /// to the depot. Total
    /// retention is therefore at most `max_retained_bytes` + (threads using
    /// the pool) x (this x lists used).
    /// The default holds a burst of 1000 64-byte buffers without a lock.
    std::size_t thread_cache_bytes_per_class = std::size_t(64) << 10;
};

/// Counters of one free list (a size class in one alignment set).
struct PoolClassStatistics {
    std::size_t block_size = 0;
    std::size_t alignment = 0;
    std::uint64_t hits = 0;   ///< allocations served by a pooled block
    std::uint64_t misses = 0; ///< allocations that needed a new block from the base
    std::size_t retained_blocks = 0;
    std::size_t retained_bytes = 0;
};

/// A snapshot from `statistics()`. Exact when no operation is in flight.
struct PoolStatistics {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t direct_allocations = 0; ///< requests that bypassed the classes
    std::size_t retained_blocks = 0;      ///< pooled blocks, depot and all caches
    std::size_t retained_bytes = 0;
    /// One entry per free list: the `detail::size_class_count` classes at
    /// 16-byte alignment, then the same classes at 64-byte alignment.
    std::vector<PoolClassStatistics> classes;
};

// UnmanagedMemoryPool::allocate<T> is inline, forced. clang 14 called it
// and returned the `Buffer` through memory (the 64 B `Buffer` pair 3.2-3.4
// ns against 1.40-1.44 forced inline, Zen 5). Under g++ it was forced only from stop 35: until
// then forcing it made g++ build a slower loop (the 64 B pair 1.57-1.69 ns
// against 1.38-1.50, stop 30), and since stop 35 it must be inlined in
// g++'s early passes for the free's size class lookup to be merged with
// the allocation's (detail::size_class_lookup; without it, a loop over
// 4-byte elements kept the list on the stack).

class HybridAllocator;

class UnmanagedMemoryPool final : public Allocator {
public:
    /// A pool over `base`, which must outlive it. Thread-safe.
    explicit UnmanagedMemoryPool(Allocator& base = default_allocator(), PoolOptions options = {});
    /// The same over any allocator type, a pool too (`BackingAllocator`).
    template <BackingAllocator A>
    explicit UnmanagedMemoryPool(A& base, PoolOptions options = {})
        : UnmanagedMemoryPool(static_cast<Allocator&>(base), options) {}
    /// Returns every pooled block (depot and all threads' caches) to the base.
    /// Precondition: no buffer from this pool is live and no other thread is
    /// using the pool; blocks of live buffers are lost to the base.
    ~UnmanagedMemoryPool() override;
    UnmanagedMemoryPool(const UnmanagedMemoryPool&) = delete;
    UnmanagedMemoryPool& operator=(const UnmanagedMemoryPool&) = delete;
    UnmanagedMemoryPool(UnmanagedMemoryPool&&) = delete;
    UnmanagedMemoryPool& operator=(UnmanagedMemoryPool&&) = delete;

    /// As `Allocator::allocate<T>`, with the pool's fast path inlined: a hit is
    /// a pop from the calling thread's cache.
    template <Unmanaged T>
    [[nodiscard, gnu::always_inline]] Buffer<T> allocate(
        std::size_t count, bool zero_memory = false, const char* file = __builtin_FILE(),
        int line = __builtin_LINE(), const char* function = __builtin_FUNCTION()) {
        // One branch on the fast path: the pop's. A count of zero or too many
        // takes the declining list, which never holds a block, so its test
        // is the pop's "no block" (before stop 25 it had a branch of its own,
        // and g++, which does not unswitch loops at -O2, kept it in a loop
        // over one count). The list comes before any branch, so that a loop
        // over one count computes it once (see detail::size_class_index).
        // For 1-byte elements the list is already the declining one for
        // zero and for any count above the classes; for larger ones the
        // product may wrap to a pooled size, hence the select of a count of
        // 0 (a `cmov`), whose size's class is the declining list. It
        // selects the count, not the list (until stop 35) nor the size
        // looked up (stop 35): the Buffer's size is then `taken`, so its
        // free looks up `taken * sizeof(T)`, the very size looked up here,
        // and g++ merges the two lookups and info words
        // (detail::size_class_lookup). A loop over one count then holds
        // one list and one word, as for 1-byte elements. Selecting the
        // size, the free had a list of its own and rebuilt its word on
        // every pair (five more instructions). Timed, the pair moves with
        // the loop's placement more than with those (stop 36: 129 and 1024
        // doubles 1.39-1.72 ns before, 1.06-1.19 after; 65 3-byte structs
        // 1.09-1.11 and 1.11-1.20; averaged over placements the same).
        // (Selecting the list kept a branch and the word in the loop: 4-byte
        // elements 1.67-1.72 ns against 1.08-1.11 as separate benchmarks.)
        // A block is taken only by a pop that found one, which only a count
        // that passed can do, or by the slow path, reached only by such a
        // count: `taken == count` wherever the Buffer owns a block.
        const std::size_t taken = sizeof(T) > 1 && detail::zero_or_too_many<T>(count) ? 0 : count;
        const std::size_t bytes = taken * sizeof(T);
        const std::size_t list = detail::pool_list_index(bytes, alignof(T));
        void* p = detail::pool_pop_typed(tls_place_, list, bytes, detail::pool_info(bytes, list));
        Allocator* owner = this;
        if (p == nullptr) [[unlikely]] {
            if (detail::zero_or_too_many<T>(count)) {
                if (count != 0) detail::throw_bad_array_new_length();
                owner = nullptr;
            } else {
                // The caller's site reaches the base for a direct block.
                p = allocate_slow_at(bytes, alignof(T), zero_memory,
                                     CallSite{file, line, function});
                if (p == nullptr) [[unlikely]]
                    detail::throw_bad_alloc();
            }
        } else if (zero_memory) {
            std::memset(p, 0, bytes);
        }
        return make_buffer(static_cast<T*>(p), taken, owner);
    }

    /// Bulk allocation: fills `out` with blocks of `size` bytes aligned to
    /// `alignment`, the blocks that as many `allocate_bytes(size, alignment,
    /// zero_memory)` calls would hand out, in the same order (newest pooled
    /// block first). Blocks in the calling thread's cache are taken in one
    /// pass, with the counters bumped once; the rest come from the slow path
    /// one at a time (a refill from the depot is again taken in one pass).
    /// A pool without a TLS slot of its own (made while 32 others live)
    /// takes every block through the slow path, with the same results.
    /// Free the blocks in any way (`deallocate_bulk`, `deallocate_bytes`,
    /// `free`). For `size == 0` every element is nullptr, as `allocate_bytes`
    /// returns. Throws std::invalid_argument for an alignment that is not a
    /// power of two, std::bad_alloc when memory runs out or the request is
    /// impossible; after a throw no block stays allocated and every element
    /// of `out` is nullptr. Thread-safe.
    /// Direct blocks (above the classes or their alignments) are the
    /// base's, which receives `site` (a DebugAllocator records it).
    void allocate_bulk(std::span<void*> out, std::size_t size,
                       std::size_t alignment = detail::malloc_alignment, bool zero_memory = false,
                       CallSite site = CallSite::here());
    /// `allocate_bulk(out, 64, true)` would be alignment 1: a compile error.
    template <std::same_as<bool> B, class... Rest>
    void allocate_bulk(std::span<void*>, std::size_t, B, Rest&&...) = delete;

    /// Bulk free: frees each non-null pointer of `blocks`, in order, as
    /// `deallocate_bytes(p, size, alignment)` would (the same checks of the
    /// header, with the same outcome for a wrong size or a second free), but
    /// pushes the blocks onto the calling thread's cache in one pass, with
    /// the counters bumped once (a pool without a TLS slot: one at a time).
    /// A block the pass cannot take (a mismatched header, a full list) goes
    /// through `deallocate_bytes` alone, and the pass goes on. Precondition:
    /// `size` and `alignment` are those the blocks were allocated with (as
    /// for `deallocate_bytes`). Thread-safe.
    void deallocate_bulk(std::span<void* const> blocks, std::size_t size,
                         std::size_t alignment = detail::malloc_alignment) noexcept;

    /// Bulk allocation through the Buffer API (name T: `allocate_bulk<float>(
    /// buffers, 16)`): every element of `out` becomes a buffer of `count`
    /// elements of this pool, the blocks that as many `allocate<T>(count,
    /// zero_memory)` calls would hand out, in the same order, through the
    /// bulk call above. Buffers already in `out` are freed first. A count of
    /// 0 leaves every element empty; an empty `out` allocates nothing
    /// (without checking the count). Otherwise throws as `allocate<T>` does:
    /// std::bad_array_new_length when `count * sizeof(T)` overflows, and
    /// std::bad_alloc for 2^47 bytes or more, before anything changes (`out`
    /// keeps its buffers); std::bad_alloc when the base fails, after which
    /// every element is empty and no block stays allocated.
    template <Unmanaged T>
    void allocate_bulk(std::span<Buffer<T>> out, std::size_t count, bool zero_memory = false) {
        allocate_buffers_in_bulk(
            out, count,
            [&](std::span<void*> blocks) {
                allocate_bulk(blocks, count * sizeof(T), alignof(T), zero_memory);
            },
            [&](std::span<void* const> blocks, std::size_t bytes) {
                deallocate_bulk(blocks, bytes, alignof(T));
            });
    }

    /// Bulk free through the Buffer API (`deallocate_bulk<float>(buffers)`):
    /// empties every buffer of `buffers`. Runs of this pool's buffers of one
    /// size go back through `deallocate_bulk` above, one pass each; any
    /// other buffer (another allocator's, or not owning) is reset on its own.
    template <Unmanaged T>
    void deallocate_bulk(std::span<Buffer<T>> buffers) noexcept {
        deallocate_buffers_in_bulk(buffers, [&](std::span<void* const> blocks, std::size_t bytes) {
            deallocate_bulk(blocks, bytes, alignof(T));
        });
    }

    /// Returns every pooled block of the depot and of the calling thread's cache
    /// to the base. Blocks cached by other live threads stay with them (bounded
    /// by `thread_cache_bytes_per_class`); they reach the depot when those
    /// threads exit, so after they exited (or in single-threaded use) a
    /// counting base shows exactly the bytes of live buffers. Thread-safe.
    void clear() noexcept;

    /// Hit/miss/retention counters, per list and summed. Thread-safe; exact
    /// when no allocation or free is in flight.
    [[nodiscard]] PoolStatistics statistics() const;

    /// Bytes currently retained (depot and all caches): `statistics().retained_bytes`.
    [[nodiscard]] std::size_t retained_bytes() const;

    [[nodiscard]] const PoolOptions& options() const noexcept { return options_; }
    [[nodiscard]] Allocator& base() const noexcept { return base_; }

    /// Always true.
    [[nodiscard]] bool supports_individual_deallocation() const noexcept override { return true; }

    /// User bytes of live buffers, from per-thread counters (no shared atomic
    /// on the fast paths). Exact when no allocation or free is in flight.
    /// While other threads allocate and free, the result is never less than
    /// the bytes live when the call starts less those freed during the call,
    /// nor more than those plus the bytes allocated during it (it reads
    /// every free before every allocation, so a free is never counted
    /// without its allocation).
    [[nodiscard]] std::size_t total_allocated_bytes() const noexcept override;

    /// The pool's allocation, inline: `do_allocate` (the pool's and the
    /// hybrid's pooled route), which `Allocator`'s byte layer reaches when
    /// its own inline pop found no block (or makes none: in
    /// `try_allocate_bytes`, and where Allocator::inline_pool_allocation is
    /// false). Returns
    /// nullptr on failure. Preconditions: `0 < bytes <= max_object_size`,
    /// `alignment` a power of two. `site`, when given, is the caller's, for
    /// a direct block's base.
    [[nodiscard, gnu::always_inline]] void* allocate_inline(
        std::size_t bytes, std::size_t alignment, bool zero,
        const CallSite* site = nullptr) noexcept {
        // One branch: requests beyond the classes index the declining list,
        // and a thread without a cache for this pool finds the declining
        // cache in the pool's slot; both find no block.
        const std::size_t list = detail::pool_list_index(bytes, alignment);
        if (void* p = detail::pool_pop(tls_place_, list, bytes)) [[likely]] {
            if (zero) std::memset(p, 0, bytes);
            return p;
        }
        return site != nullptr ? allocate_slow_at(bytes, alignment, zero, *site)
                               : allocate_slow(bytes, alignment, zero);
    }

    /// The inline fast path behind every free: any block of this pool, sized or
    /// not. Precondition: `user` is non-null and live in this pool.
    [[gnu::always_inline]] void deallocate_inline(void* user) noexcept {
        if (!detail::pool_push_cached(tls_place_, user)) [[unlikely]]
            deallocate_slow(user);
    }

protected:
    void* do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                      const CallSite& site) noexcept override;
    /// The block's header is the authority on its size (as in SystemAllocator).
    /// Reached from `deallocate_bytes` once its inline thread-cache push
    /// declined (a direct block, a full list, no cache in the TLS slot, or a
    /// size or alignment other than the allocation's).
    void do_deallocate(void* pointer, std::size_t size, std::size_t alignment) noexcept override {
        deallocate_declined(pointer, size, alignment);
    }
    /// Throws InvalidFreeError for a pointer whose header is not one of this
    /// pool's live blocks (another pool's too: each block carries its pool's
    /// mark), and the block stays whoever's it was.
    void do_free(void* pointer) override;

private:
    friend class HybridAllocator;
    struct Depot;

    /// `do_free`, whose InvalidFreeError names `who` ("UnmanagedMemoryPool"
    /// or "HybridAllocator") and says the pointer was not allocated by
    /// "this `what`" ("pool", or the hybrid's name).
    void free_for(void* pointer, const char* who, const char* what);

    /// A sized free the inline push declined. Above the classes (or their
    /// alignments) the block can only be direct: when its header is what
    /// `allocate_direct` wrote for this size and alignment, the block goes
    /// straight back to the base, with the size and alignment from the header
    /// (a caller's size whose bits past 2^48 are set in the word's magic and
    /// route already, or an alignment that is not a power of two, can still
    /// compare equal). Anything else takes the slow path,
    /// which goes by the header alone.
    [[gnu::always_inline]] void deallocate_declined(void* user, std::size_t size,
                                                    std::size_t alignment) noexcept {
        if (size > detail::max_class_size || alignment > detail::max_pooled_alignment) {
            if (system_base_ != nullptr) [[likely]] {
                if (release_if_system_direct(user)) [[likely]]
                    return;
                deallocate_slow(user);
                return;
            }
            const std::size_t base_alignment = std::max(alignment, detail::pool_header_size);
            detail::PoolHeader* h = detail::pool_header_of(user);
            // Sanitized builds: a pointer that is no live block leaves
            // through deallocate_slow, which declines it, shadow untouched.
            if (detail::header_looks_poisoned(user, detail::pool_header_size)) [[likely]] {
                detail::unpoison_defined(h, detail::pool_header_size);
                const std::uint64_t info = detail::pool_live_info(h, owner_mark_);
                if (info == detail::pool_info(size, detail::pool_direct_route_of(base_alignment)))
                    [[likely]] {
                    release_direct(user, detail::pool_info_bytes(info),
                                   detail::pool_direct_alignment(detail::pool_info_route(info)));
                    return;
                }
                detail::poison(h, detail::pool_header_size);
            }
        }
        deallocate_slow(user);
    }
    /// Over a SystemAllocator: when `user` is a direct block of this pool
    /// (its system header carries the pool's cookie), returns it to the
    /// base, counts its size (the header's) freed and returns true.
    /// Otherwise changes nothing (in sanitized builds, not even the shadow of
    /// a pointer that is no live block).
    [[gnu::always_inline]] bool release_if_system_direct(void* user) noexcept {
        if (!detail::header_looks_poisoned(user, detail::front_header_size)) [[unlikely]]
            return false;
        auto* h = detail::front_header_of<detail::SystemHeader>(user);
        detail::unpoison_defined(h, detail::front_header_size);
        if (h->cookie != detail::system_pool_cookie(owner_mark_)) [[unlikely]] {
            detail::poison(h, detail::front_header_size);
            return false;
        }
        count_freed(h->size);
        system_base_->free_for_pool(user);
        return true;
    }
    /// Counts `size` bytes of a direct block freed.
    [[gnu::always_inline]] void count_freed(std::size_t size) noexcept {
        if (detail::PoolThreadCache* cache = thread_cache()) [[likely]]
            detail::bump(cache->front->freed_bytes, static_cast<std::uint64_t>(size));
        else
            shared_freed_bytes_.fetch_add(size, std::memory_order_release);
    }
    /// Returns direct block `user` (`size` user bytes, allocated with
    /// `base_alignment`) to the base and counts it freed. Its header is
    /// marked freed first, as a pooled block's is: a base that leaves the
    /// bytes in place (an arena, most blocks of a free list) would otherwise
    /// hand a second free a header that still reads live, and the pool would
    /// count the block freed twice and give it to the base twice.
    [[gnu::always_inline]] void release_direct(void* user, std::size_t size,
                                               std::size_t base_alignment) noexcept {
        count_freed(size);
        const std::size_t gap = detail::front_gap(base_alignment);
        char* raw = static_cast<char*>(user) - gap;
        detail::unpoison(raw, gap + size);
        detail::pool_store_header(detail::pool_header_of(user), 0, detail::pool_freed_info);
        deallocate_to(base_, raw, gap + size, base_alignment);
    }

    /// Moves up to `n` blocks of `list` from `cache` (the calling thread's,
    /// or the declining cache) to `out`, in pop order, as allocations of
    /// `bytes`; returns how many.
    std::size_t take_cached(detail::PoolThreadCache& cache, std::size_t list, std::size_t bytes,
                            bool zero, void** out, std::size_t n) noexcept;
    /// The input checks of a bulk allocation (this pool's and the hybrid's
    /// direct route), as `allocate_bytes` makes them: an alignment that is
    /// not a power of two throws std::invalid_argument, an impossible
    /// request std::bad_alloc, each with every element of `out` nullptr;
    /// size 0 makes every element nullptr and returns false. Otherwise
    /// returns whether `out` has elements to fill.
    static bool admit_bulk_request(std::span<void*> out, std::size_t size, std::size_t alignment);
    /// A miss of the fast paths: a block of `bytes` (at least 1; nullptr for
    /// 0, as for failure) from a refill, a new block or the direct route.
    [[gnu::noinline]] void* allocate_slow(std::size_t bytes, std::size_t alignment,
                                          bool zero) noexcept;
    /// The same with the caller's site, which a direct block's base receives
    /// (allocate_slow passes the pool's own).
    [[gnu::noinline]] void* allocate_slow_at(std::size_t bytes, std::size_t alignment, bool zero,
                                             const CallSite& site) noexcept;
    [[gnu::noinline]] void deallocate_slow(void* user) noexcept;
    /// A block above the classes (or their alignments): the base's memory
    /// with a header in front, or over a SystemAllocator the system's block
    /// marked as this pool's. Inline: the hybrid's direct route is this.
    /// `site` is passed on to the base (a DebugAllocator records it).
    [[gnu::always_inline]] void* allocate_direct(std::size_t bytes, std::size_t alignment,
                                                 bool zero, const CallSite& site) noexcept {
        // Within every bound of do_allocate: gap + bytes <= 2^47 + 1 GiB.
        if (bytes >= detail::pool_max_request) [[unlikely]]
            return nullptr;
        if (system_base_ != nullptr) [[likely]] {
            void* user = system_base_->allocate_for_pool(bytes, alignment, zero,
                                                         detail::system_pool_cookie(owner_mark_));
            if (user == nullptr) [[unlikely]]
                return nullptr;
            count_direct(bytes);
            return user;
        }
        const std::size_t base_alignment = std::max(alignment, detail::pool_header_size);
        const std::size_t gap = detail::front_gap(base_alignment);
        char* raw =
            static_cast<char*>(allocate_from(base_, gap + bytes, base_alignment, zero, site));
        if (raw == nullptr) [[unlikely]]
            return nullptr;
        char* user = raw + gap;
        const auto route = detail::pool_direct_route_of(base_alignment);
        detail::PoolHeader* h = detail::pool_header_of(user);
        *h = detail::PoolHeader{nullptr, detail::pool_info(bytes, route)};
        detail::pool_set_mark(h, owner_mark_);
        detail::poison(raw, gap); // the header and any gap in front (release_direct unpoisons)
        count_direct(bytes);
        return user;
    }
    /// Counts a direct block of `bytes` allocated. Per-thread counters where
    /// the thread has a cache: no contended atomic.
    [[gnu::always_inline]] void count_direct(std::size_t bytes) noexcept {
        if (detail::PoolThreadCache* cache = thread_cache()) [[likely]] {
            detail::bump(cache->front->allocated_bytes, static_cast<std::uint64_t>(bytes));
            detail::bump_one(cache->direct_allocations);
        } else {
            shared_allocated_bytes_.fetch_add(bytes, std::memory_order_release);
            direct_allocations_.fetch_add(1, std::memory_order_relaxed);
        }
    }
    void* allocate_new_block(std::size_t list, std::size_t bytes, bool zero) noexcept;
    void release_block(detail::PoolHeader* h, std::size_t list) noexcept;
    void release_chain(detail::PoolHeader* head, std::size_t list) noexcept;
    /// The calling thread's cache for this pool, created on first use; nullptr
    /// while the thread exits (or without memory for a cache). The pool's
    /// slot names this thread's cache for it, or the declining cache (see
    /// detail::PoolTlsSlot); the registry's retirement at thread exit (a
    /// pthread key's destructor) points every slot at the declining cache
    /// before it retires the caches.
    detail::PoolThreadCache* thread_cache() noexcept {
        if (detail::PoolThreadCache* cache = detail::pool_tls_lookup(tls_place_)) [[likely]]
            return cache;
        return find_thread_cache();
    }
    [[gnu::noinline]] detail::PoolThreadCache* find_thread_cache() noexcept;
    /// Puts `cache` (the calling thread's for this pool) in this pool's slot.
    void take_slot(detail::PoolThreadCache* cache) noexcept;
    /// The bytes the depots of `list`'s size class hold (both alignment sets).
    std::atomic<std::size_t>& class_depot_bytes(std::size_t list) noexcept;
    /// Accounts for k blocks taken off `list`'s depot (its mutex held).
    void taken_from_depot(std::size_t list, std::size_t k) noexcept;
    void spill(detail::PoolHeader* head, detail::PoolHeader* tail, std::size_t n,
               std::size_t list) noexcept;
    std::size_t refill(detail::PoolThreadCache* cache, std::size_t list) noexcept;
    /// Takes every block off `cache`'s lists: each list's as a chain, newest
    /// first, given to `take(list, head, tail, count)`.
    template <class Take>
    void drain_cache(detail::PoolThreadCache& cache, Take&& take) noexcept;
    friend struct detail::PoolLink;

    Allocator& base_;
    /// `&base_` when the base is a SystemAllocator (direct blocks then carry
    /// its header alone, marked as this pool's), else nullptr.
    SystemAllocator* system_base_;
    PoolOptions options_;
    detail::PoolFreeTag tag_; // this pool's id and TLS slot
    /// `detail::pool_tls_place(tag_.key)`, for this pool's own fast paths
    /// (Allocator keeps the same place for the inline free).
    detail::PoolTlsPlace tls_place_{};
    /// What this pool's blocks carry in their headers (`detail::pool_owner_mark`).
    std::uintptr_t owner_mark_ = 0;
    std::uint32_t cache_limits_[detail::pool_list_count] = {};
    std::shared_ptr<detail::PoolLink> link_;
    std::unique_ptr<Depot[]> depots_;
    std::atomic<std::size_t> depot_bytes_{0};
    /// Bytes allocated and freed by operations on threads without a cache,
    /// and those of exited threads: sums that wrap, like the caches'
    /// counters, whose difference modulo 2^48 is exact
    /// (`detail::pool_counted_bytes`).
    std::atomic<std::uint64_t> shared_allocated_bytes_{0};
    std::atomic<std::uint64_t> shared_freed_bytes_{0};
    std::atomic<std::uint64_t> direct_allocations_{0};
};

} // namespace ziggy
