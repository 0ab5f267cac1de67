// fuzz/targets.hpp — the allocators ops_fuzzer (and its profiles) drive, one `Target` each.
//
// To fuzz a new allocator: derive from `TargetOf<YourAllocator>` (own the
// allocator and, for a composing allocator, a CheckedBacking declared first so
// it outlives the allocator), say how `total_allocated_bytes()` follows the
// model if it is not simply the live bytes, add its own operations to
// `special` and its final checks to `finish`, and add it in `make_targets`
// (`targets.add<YourTarget>(config)`: built the first time a program picks
// it). Each target is compiled only when its header exists, so the
// harnesses build at every stage of the library.
#pragma once

#include "ops_model.hpp"

#include <ziggy/detail/sanitizer.hpp>
#include <ziggy/errors.hpp>
#include <ziggy/system_allocator.hpp>

#if __has_include(<ziggy/scoped_allocator.hpp>)
#include <ziggy/scoped_allocator.hpp>
#define ZIGGY_FUZZ_HAS_SCOPED 1
#endif
#if __has_include(<ziggy/debug_allocator.hpp>)
#include <ziggy/debug_allocator.hpp>
#define ZIGGY_FUZZ_HAS_DEBUG 1
#endif
#if __has_include(<ziggy/unmanaged_memory_pool.hpp>)
#include <ziggy/unmanaged_memory_pool.hpp>
#define ZIGGY_FUZZ_HAS_POOL 1
#endif
#if __has_include(<ziggy/hybrid_allocator.hpp>)
#include <ziggy/hybrid_allocator.hpp>
#define ZIGGY_FUZZ_HAS_HYBRID 1
#endif

#include <algorithm>
#include <array>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#include <optional>
#include <span>
#include <thread>
#include <vector>

namespace ziggy_fuzz {

/// A target whose allocator has the concrete type `A`: typed allocations may
/// also take `A::allocate<T>`, the inline path a user calling through the
/// concrete type gets.
template <class A>
class TargetOf : public Target {
public:
    using Target::Target;
    [[nodiscard]] virtual A& concrete() noexcept = 0;
    ziggy::Allocator& allocator() noexcept final { return concrete(); }
    AnyBuffer allocate_concrete(ElementType type, std::size_t count, bool zero) final {
        return with_type(type, [&](auto v) -> AnyBuffer {
            return concrete().template allocate<typename decltype(v)::type>(count, zero);
        });
    }
};

/// SystemAllocator: exact live bytes, sized and unsized frees.
class SystemTarget final : public TargetOf<ziggy::SystemAllocator> {
public:
    SystemTarget() noexcept : TargetOf("system") {}
    ziggy::SystemAllocator& concrete() noexcept override { return system_; }

private:
    ziggy::SystemAllocator system_;
};

#ifdef ZIGGY_FUZZ_HAS_DEBUG
/// DebugAllocator over a checked backing, with the abort reaction: any
/// corruption or invalid free it reports is a finding. Its guards and
/// quarantine must never complain about a correct program, and it must report
/// no leak once everything is freed.
class DebugTarget final : public TargetOf<ziggy::DebugAllocator> {
public:
    explicit DebugTarget(std::uint8_t config)
        : TargetOf("debug"),
          debug_("fuzz", backing_, ziggy::LeakReportingMode::abort, options(config)) {}
    ziggy::DebugAllocator& concrete() noexcept override { return debug_; }
    CheckedBacking* backing() noexcept override { return &backing_; }

    void special(std::uint8_t what, Reader&, Model& model) override {
        switch (what % 3) {
            case 0:
                ZIGGY_FUZZ_CHECK(debug_.check_guards() == 0, "debug: check_guards() found damage");
                break;
            case 1:
                ZIGGY_FUZZ_CHECK(debug_.check_quarantine() == 0,
                                 "debug: check_quarantine() found a write after free");
                break;
            default:
                ZIGGY_FUZZ_CHECK(debug_.tracked_allocation_count() == model.entry_count_of(*this),
                                 "debug: tracks %zu blocks, the model has %zu",
                                 debug_.tracked_allocation_count(), model.entry_count_of(*this));
                break;
        }
    }
    void finish(Model&) override {
        ZIGGY_FUZZ_CHECK(debug_.tracked_allocation_count() == 0 && debug_.leaks().empty() &&
                             debug_.report_memory_leaks() == 0,
                         "debug: %zu blocks still tracked after everything was freed",
                         debug_.tracked_allocation_count());
        ZIGGY_FUZZ_CHECK(debug_.check_quarantine() == 0, "debug: quarantine damaged");
    }

private:
    static ziggy::DebugOptions options(std::uint8_t config) {
        ziggy::DebugOptions o;
        static constexpr std::array<std::size_t, 4> guards{16, 0, 8, 40};
        static constexpr std::array<std::size_t, 4> quarantine{64, 0, 1, 5};
        o.guard_width = guards[config % 4];
        o.quarantine_count = quarantine[(config >> 2) % 4];
        o.quarantine_bytes = (config & 16) != 0 ? 512 : o.quarantine_bytes;
        return o;
    }

    CheckedBacking backing_{"debug backing"};
    ziggy::DebugAllocator debug_;
};
#endif

#ifdef ZIGGY_FUZZ_HAS_POOL
inline ziggy::PoolOptions pool_options(std::uint8_t config) {
    ziggy::PoolOptions o;
    switch (config % 4) {
        case 1:
            o = {0, 0, 0};
            break; // no retention: every free goes to the base
        case 2:
            o = {4096, 1024, 512};
            break;
        case 3:
            o = {1 << 16, 1 << 16, 0};
            break; // no thread cache: the depot only
        default:
            break;
    }
    return o;
}

/// Bits 0x40 and 0x10 of a pool or hybrid target's configuration pick its
/// base:
/// - neither: a checked backing;
/// - 0x10: a DebugAllocator (guards, no quarantine, the abort reaction)
///   over the checked backing: a byte the pool writes outside a block it
///   got, a block it gives back twice or never, stops the harness; the
///   backing still counts exactly the pool's blocks;
/// - 0x40: a SystemAllocator of its own, whose blocks the pool takes as its
///   direct blocks with no header of its own (no failure injection there);
/// - both: another UnmanagedMemoryPool (retention caps by bits 2-3) over the
///   checked backing, so the pool's blocks, pooled and direct, are blocks of
///   that pool. The backing then holds exactly the blocks both pools retain
///   and one per live buffer (PoolBase::check), and each of the pool's
///   misses and direct blocks is one allocation of the inner pool; the
///   rounds see no checked backing there (no failure injection, no second
///   frees, whose header reads would land in the inner pool's poisoned free
///   blocks).
inline constexpr std::uint8_t debug_base_bit = 0x10;
inline constexpr std::uint8_t over_system_bit = 0x40;
/// Bit 0x20: the pool is made while other pools hold every TLS slot, so it
/// has none of its own: its inline paths decline and every operation finds
/// the thread's cache by pool id (the slow paths a program with more than
/// 32 live pools runs).
inline constexpr std::uint8_t slotless_bit = 0x20;

/// The base of a pool or hybrid target (see the bits above), and the checks
/// of the pool's statistics against it. Built before the pool, so that the
/// pools that hold every slot exist before it (and stay after it), and an
/// inner pool outlives it.
class PoolBase {
public:
    enum class Kind { checked, debug, system, pool };

    explicit PoolBase(const char* name, std::uint8_t config)
        : backing_(name), kind_(kind_of(config)) {
        // A pool that takes a slot is made with no slot held by the holders,
        // so that it gets the slot it would get in a process of its own.
        if ((config & slotless_bit) != 0)
            hold_every_slot();
        else
            release_every_slot();
        if (kind_ == Kind::debug) {
            ziggy::DebugOptions o;
            o.quarantine_count = 0; // each free reaches the backing at once
            debug_.emplace(name, backing_, ziggy::LeakReportingMode::abort, std::move(o));
        } else if (kind_ == Kind::pool) {
            inner_.emplace(backing_, pool_options(config >> 2));
        }
    }
    ziggy::Allocator& base() noexcept {
        switch (kind_) {
            case Kind::system:
                return system_;
            case Kind::debug:
                return *debug_;
            case Kind::pool:
                return *inner_;
            default:
                return backing_;
        }
    }
    /// The checked backing when it counts the pool's blocks alone (for the
    /// rounds' failure injection and second frees), else nullptr.
    CheckedBacking* checked() noexcept {
        return kind_ == Kind::checked || kind_ == Kind::debug ? &backing_ : nullptr;
    }

    /// Checks what `pool`'s statistics (one snapshot) promise against what
    /// the base saw: it holds exactly the pool's retained blocks and one
    /// block per live buffer (a block lost, or counted retained while handed
    /// out, shows; over an inner pool, the backing holds those and the inner
    /// pool's retained blocks; over a system allocator nothing is counted);
    /// retention stays within the caps (the depot's, plus each list's thread
    /// cache); counters never go back; after `clear()` (`cleared`) nothing
    /// is retained. `live_entries`: the model's live buffers of the pool (or
    /// of the hybrid around it).
    void check(const char* name, const ziggy::UnmanagedMemoryPool& pool, std::size_t live_entries,
               bool cleared = false) {
        const ziggy::PoolStatistics s = pool.statistics();
        std::uint64_t events = s.direct_allocations;
        for (const auto& c : s.classes) events += c.hits + c.misses;
        if (kind_ == Kind::pool) {
            const std::size_t inner = inner_->statistics().retained_blocks;
            ZIGGY_FUZZ_CHECK(backing_.live_blocks() == inner + s.retained_blocks + live_entries,
                             "%s: the backing holds %zu blocks, the inner pool retains %zu, the "
                             "pool %zu, and %zu buffers are live",
                             name, backing_.live_blocks(), inner, s.retained_blocks, live_entries);
        } else if (kind_ != Kind::system) {
            ZIGGY_FUZZ_CHECK(backing_.live_blocks() == s.retained_blocks + live_entries,
                             "%s: the base holds %zu blocks, the pool retains %zu and %zu buffers "
                             "are live",
                             name, backing_.live_blocks(), s.retained_blocks, live_entries);
        }
        const ziggy::PoolOptions& o = pool.options();
        const std::size_t cap =
            o.max_retained_bytes + ziggy::detail::pool_list_count * o.thread_cache_bytes_per_class;
        ZIGGY_FUZZ_CHECK(s.retained_bytes <= cap, "%s: retains %zu bytes, above the caps' %zu",
                         name, s.retained_bytes, cap);
        ZIGGY_FUZZ_CHECK(events >= events_, "%s: hit/miss/direct counters went back", name);
        ZIGGY_FUZZ_CHECK(!cleared || s.retained_blocks == 0, "%s: clear() left %zu blocks retained",
                         name, s.retained_blocks);
        events_ = events;
    }

    /// Whether `requests()` counts: not over a system allocator.
    bool counts_requests() const noexcept { return kind_ != Kind::system; }
    /// The requests the pool made of its base so far: blocks the checked
    /// backing handed out (through the debug allocator, one each), or the
    /// inner pool's allocations (its hits, misses and direct blocks).
    std::size_t requests() const {
        if (kind_ != Kind::pool) return backing_.allocations();
        const ziggy::PoolStatistics s = inner_->statistics();
        return s.hits + s.misses + s.direct_allocations;
    }

    /// `pool.clear()`, then: nothing retained, and the base holds exactly
    /// the blocks of live buffers (the inner pool cleared too; the debug
    /// base's guards whole); a system allocator with no live buffer holds
    /// no byte.
    void clear(const char* name, ziggy::UnmanagedMemoryPool& pool, std::size_t live_entries) {
        pool.clear();
        check(name, pool, live_entries, /*cleared=*/true);
        check_cleared(name, live_entries);
    }

private:
    void check_cleared(const char* name, std::size_t live_entries) {
        if (kind_ == Kind::system) {
            ZIGGY_FUZZ_CHECK(live_entries != 0 || system_.total_allocated_bytes() == 0,
                             "%s: after clear() with no live buffer the system base holds %zu "
                             "bytes",
                             name, system_.total_allocated_bytes());
            return;
        }
        if (kind_ == Kind::pool) {
            inner_->clear();
            ZIGGY_FUZZ_CHECK(inner_->statistics().retained_blocks == 0,
                             "%s: the inner pool's clear() left blocks retained", name);
        }
        ZIGGY_FUZZ_CHECK(backing_.live_blocks() == live_entries,
                         "%s: after clear() the base holds %zu blocks for %zu live buffers", name,
                         backing_.live_blocks(), live_entries);
        if (kind_ == Kind::debug) {
            ZIGGY_FUZZ_CHECK(debug_->tracked_allocation_count() == live_entries,
                             "%s: after clear() the debug base tracks %zu blocks for %zu live "
                             "buffers",
                             name, debug_->tracked_allocation_count(), live_entries);
            ZIGGY_FUZZ_CHECK(debug_->check_guards() == 0,
                             "%s: the debug base found a guard damaged", name);
        }
    }

    static Kind kind_of(std::uint8_t config) noexcept {
        const bool system = (config & over_system_bit) != 0;
        const bool debug = (config & debug_base_bit) != 0;
        return system && debug ? Kind::pool
               : system        ? Kind::system
               : debug         ? Kind::debug
                               : Kind::checked;
    }
    // The pools that hold every slot no other pool holds, while an input's
    // pools must have none. Kept from one input to the next (making and
    // destroying them for each such input cost the harness a fifth of its
    // rate) and never destroyed: a leaked static, not torn down while the
    // process exits.
    static std::vector<std::unique_ptr<ziggy::UnmanagedMemoryPool>>& slot_holders() {
        static auto* const holders = new std::vector<std::unique_ptr<ziggy::UnmanagedMemoryPool>>;
        return *holders;
    }
    static void hold_every_slot() {
        while (ziggy::detail::pool_free_slot_count() != 0)
            slot_holders().push_back(std::make_unique<ziggy::UnmanagedMemoryPool>());
    }
    // Newest first: free slots are a stack, so this leaves it as it was
    // before the holders took them (vector::clear() destroys oldest first,
    // and the next pool would then take slot 31 instead of slot 0).
    static void release_every_slot() {
        auto& holders = slot_holders();
        while (!holders.empty()) holders.pop_back();
    }

    CheckedBacking backing_;
    ziggy::SystemAllocator system_;
    std::optional<ziggy::DebugAllocator> debug_; // (the pool comes after the DebugAllocator)
    std::optional<ziggy::UnmanagedMemoryPool> inner_;
    Kind kind_;
    std::uint64_t events_ = 0; // hits, misses and direct allocations at the last check
};

/// A bulk round on `a` (an UnmanagedMemoryPool or a HybridAllocator over
/// `backing`; null over a base that does not count the pool's blocks alone,
/// see PoolBase::checked): allocate_bulk of up to 79 blocks (a
/// size in or past the classes, an alignment up to 128, with the base failing its next request when
/// the input says so), each block filled with a pattern of its own and read back (blocks that
/// overlap each other, or a live buffer, show), then deallocate_bulk in the input's order with a
/// null pointer among them. A failed bulk must leave only nullptr and the byte count as it was; a
/// bulk free must bring the count back. Over a checked backing, when the input says so, every block
/// is then freed again (deallocate_bulk, and free(void*) of one): each second free must be refused,
/// with the count unchanged and nothing given to the backing twice.
template <class A>
void bulk_round(A& a, const char* name, CheckedBacking* backing, Reader& in) {
    const std::uint8_t how = in.u8();
    const std::size_t size = (how & 1) != 0 ? ziggy::detail::max_class_size + 1 + in.u8()
                                            : 1 + std::size_t{in.u16()} % 4096;
    const std::size_t alignment = std::size_t{1} << ((how >> 1) % 8);
    std::vector<void*> blocks(in.u8() % 80, &a);
    // Every byte the round owns is read before it may return early, so the
    // rest of the input decodes the same whatever this round's outcome.
    const std::size_t null_at = in.pick(blocks.size() + 1);
    const std::size_t before = a.total_allocated_bytes();
    if (backing != nullptr && (how & 0x10) != 0) backing->fail_next(1);
    bool threw = false;
    try {
        a.allocate_bulk(blocks, size, alignment, (how & 0x20) != 0);
    } catch (const std::bad_alloc&) {
        threw = true;
    }
    if (backing != nullptr) backing->fail_next(0);
    if (threw) {
        for (void* p : blocks)
            ZIGGY_FUZZ_CHECK(p == nullptr, "%s: a failed allocate_bulk left a block", name);
        ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == before,
                         "%s: a failed allocate_bulk changed the byte count from %zu to %zu", name,
                         before, a.total_allocated_bytes());
        return;
    }
    ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == before + blocks.size() * size,
                     "%s: allocate_bulk of %zu x %zu bytes counted %zu bytes", name, blocks.size(),
                     size, a.total_allocated_bytes() - before);
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        auto* b = static_cast<std::uint8_t*>(blocks[i]);
        ZIGGY_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(b) % alignment == 0,
                         "%s: allocate_bulk block %zu misaligned for %zu", name, i, alignment);
        if ((how & 0x20) != 0)
            ZIGGY_FUZZ_CHECK(b[0] == 0 && b[size - 1] == 0,
                             "%s: allocate_bulk did not zero block %zu", name, i);
        std::memset(b, static_cast<int>(i + 1), size);
    }
    for (std::size_t i = 0; i < blocks.size(); ++i) {
        const auto* b = static_cast<const std::uint8_t*>(blocks[i]);
        const auto mark = static_cast<std::uint8_t>(i + 1);
        ZIGGY_FUZZ_CHECK(b[0] == mark && b[size / 2] == mark && b[size - 1] == mark,
                         "%s: allocate_bulk block %zu overlaps another", name, i);
    }
    if ((how & 0x40) != 0) std::reverse(blocks.begin(), blocks.end());
    blocks.insert(blocks.begin() + static_cast<std::ptrdiff_t>(null_at), nullptr);
    // With bit 0x80, every block is freed a second time (bad input) over a
    // checked backing that holds what it is given back meanwhile, so the
    // bytes of blocks the first free gave it stay as that free left them.
    const bool twice = backing != nullptr && (how & 0x80) != 0;
    if (twice) backing->hold_frees();
    a.deallocate_bulk(blocks, size, alignment);
    ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == before,
                     "%s: deallocate_bulk left the byte count at %zu, not %zu", name,
                     a.total_allocated_bytes(), before);
    if (!twice) return;
    // Refused: nothing counted, nothing given to the backing again (which
    // stops the harness); free(void*) throws.
    a.deallocate_bulk(blocks, size, alignment);
    ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == before,
                     "%s: a second deallocate_bulk of %zu-byte blocks moved the byte count from "
                     "%zu to %zu",
                     name, size, before, a.total_allocated_bytes());
    for (void* p : blocks) {
        if (p == nullptr) continue;
        bool refused = false;
        try {
            a.free(p);
        } catch (const ziggy::InvalidFreeError&) {
            refused = true;
        }
        ZIGGY_FUZZ_CHECK(
            refused && a.total_allocated_bytes() == before,
            "%s: a second free of a %zu-byte block was %s, the byte count %zu, not %zu", name, size,
            refused ? "refused" : "taken", a.total_allocated_bytes(), before);
        break; // one: each throw costs more than the rest of the round
    }
    backing->release_held();
}

/// The pool behind a pool or hybrid target, and the route its allocations
/// of raw bytes and of `count` elements of a type take: pooled within the
/// classes and their alignments, and for a hybrid where its thresholds say.
inline ziggy::UnmanagedMemoryPool& pool_of(ziggy::UnmanagedMemoryPool& pool) noexcept {
    return pool;
}
inline bool bytes_pooled(const ziggy::UnmanagedMemoryPool&, std::size_t size,
                         std::size_t alignment) noexcept {
    return size <= ziggy::detail::max_class_size &&
           alignment <= ziggy::detail::max_pooled_alignment;
}
template <class T>
bool typed_pooled(const ziggy::UnmanagedMemoryPool&, std::size_t count) noexcept {
    return count <= ziggy::detail::max_class_size / sizeof(T) &&
           alignof(T) <= ziggy::detail::max_pooled_alignment;
}
#ifdef ZIGGY_FUZZ_HAS_HYBRID
inline ziggy::UnmanagedMemoryPool& pool_of(ziggy::HybridAllocator& hybrid) noexcept {
    return hybrid.pool();
}
inline bool bytes_pooled(const ziggy::HybridAllocator& hybrid, std::size_t size,
                         std::size_t alignment) noexcept {
    return hybrid.route_for_bytes(size, alignment) == ziggy::Route::pooled;
}
template <class T>
bool typed_pooled(const ziggy::HybridAllocator& hybrid, std::size_t count) noexcept {
    return hybrid.route_for<T>(count) == ziggy::Route::pooled;
}
#endif

/// The figures of one free list (and of its pool) that a reuse round follows.
struct ListFigures {
    std::uint64_t hits = 0;
    std::uint64_t misses = 0;
    std::uint64_t direct = 0;             // the pool's direct allocations
    std::size_t retained = 0;             // blocks the list retains
    std::size_t block_size = 0;           // the list's class size
    std::size_t class_retained_bytes = 0; // its class's, both alignment sets
    std::size_t retained_bytes = 0;       // the pool's
    std::size_t base_requests = 0;        // PoolBase::requests() (0 where it does not count)

    ListFigures(const ziggy::UnmanagedMemoryPool& pool, std::size_t list, const PoolBase& base) {
        const ziggy::PoolStatistics s = pool.statistics();
        direct = s.direct_allocations;
        retained_bytes = s.retained_bytes;
        if (list < s.classes.size()) { // else the request is direct
            const ziggy::PoolClassStatistics& c = s.classes[list];
            hits = c.hits;
            misses = c.misses;
            retained = c.retained_blocks;
            block_size = c.block_size;
            for (const ziggy::PoolClassStatistics& other : s.classes)
                if (other.block_size == c.block_size) class_retained_bytes += other.retained_bytes;
        }
        base_requests = base.counts_requests() ? base.requests() : 0;
    }
};

/// A reuse round on `a` (a pool, or a hybrid and the pool inside it): one
/// block of a size on a class edge (or just past the classes), as a
/// `Buffer<std::uint8_t>` or as raw bytes at an alignment up to 64, is
/// allocated, written, freed (sized, or raw by `free`) and allocated again.
/// An allocation its route sends to the pool is exactly one hit or one miss
/// of its list: a hit takes one of the blocks the list retained and none from
/// the base, a miss exactly one new request of the base (a block of the checked
/// backing, or an allocation of the inner pool). A direct one is one direct
/// allocation and one request of the base. A free of a pooled
/// block that the caps have room for (its class and the pool retaining less
/// than their caps less the block) must be retained, and then the next
/// allocation of that size must be a hit that hands back the same block.
template <class A>
void reuse_round(A& a, const char* name, const PoolBase& base, Reader& in) {
    ziggy::UnmanagedMemoryPool& pool = pool_of(a);
    const std::uint8_t how = in.u8();
    const std::size_t edge = ziggy::detail::class_size(in.pick(ziggy::detail::size_class_count));
    const std::size_t size = how % 3 == 0 ? edge - 1 : how % 3 == 1 ? edge + 1 : edge;
    const bool typed = (how & 4) != 0;
    const std::size_t alignment = typed ? 1 : std::size_t{1} << ((how >> 3) % 7);
    const bool unsized_free = !typed && (how & 0x40) != 0;
    const bool pooled =
        typed ? typed_pooled<std::uint8_t>(a, size) : bytes_pooled(a, size, alignment);
    const std::size_t list = ziggy::detail::pool_list_index(size, alignment);

    ziggy::Buffer<std::uint8_t> buffer;
    const auto allocate_one = [&]() -> std::uint8_t* {
        if (typed) {
            buffer = a.template allocate<std::uint8_t>(size);
            return buffer.data();
        }
        return static_cast<std::uint8_t*>(a.allocate_bytes(size, alignment));
    };
    const auto free_one = [&](std::uint8_t* p) {
        if (typed)
            buffer.reset();
        else if (unsized_free)
            a.free(p);
        else
            a.deallocate_bytes(p, size, alignment);
    };
    // Checks one allocation's figures; returns whether it was a hit.
    const auto counted = [&](const ListFigures& before, const ListFigures& after) {
        const std::uint64_t hits = after.hits - before.hits;
        const std::uint64_t misses = after.misses - before.misses;
        const std::uint64_t direct = after.direct - before.direct;
        const std::size_t from_base = after.base_requests - before.base_requests;
        ZIGGY_FUZZ_CHECK(
            pooled ? hits + misses == 1 && direct == 0 : hits + misses == 0 && direct == 1,
            "%s: a %zu-byte %s allocation (alignment %zu, %s) counted %llu hits, "
            "%llu misses, %llu direct",
            name, size, typed ? "typed" : "raw", alignment, pooled ? "pooled" : "direct",
            static_cast<unsigned long long>(hits), static_cast<unsigned long long>(misses),
            static_cast<unsigned long long>(direct));
        ZIGGY_FUZZ_CHECK(after.retained + hits == before.retained,
                         "%s: a %zu-byte allocation with %llu hits took the list from %zu to %zu "
                         "retained blocks",
                         name, size, static_cast<unsigned long long>(hits), before.retained,
                         after.retained);
        ZIGGY_FUZZ_CHECK(!base.counts_requests() || from_base == misses + direct,
                         "%s: a %zu-byte allocation (%llu misses, %llu direct) made %zu requests "
                         "of the base",
                         name, size, static_cast<unsigned long long>(misses),
                         static_cast<unsigned long long>(direct), from_base);
        return hits == 1;
    };

    const ListFigures f0(pool, list, base);
    std::uint8_t* p = allocate_one();
    const ListFigures f1(pool, list, base);
    counted(f0, f1);
    ZIGGY_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(p) % alignment == 0,
                     "%s: a %zu-byte block misaligned for %zu", name, size, alignment);
    std::memset(p, 0xA5, size);
    free_one(p);
    if (!pooled) return;
    const ListFigures f2(pool, list, base);
    const ziggy::PoolOptions& o = pool.options();
    const bool room = f1.class_retained_bytes + f1.block_size <= o.max_retained_bytes_per_class &&
                      f1.retained_bytes + f1.block_size <= o.max_retained_bytes;
    ZIGGY_FUZZ_CHECK(!room || f2.retained == f1.retained + 1,
                     "%s: a free of a %zu-byte block with room under the caps left the list at "
                     "%zu retained blocks, from %zu",
                     name, size, f2.retained, f1.retained);
    if (f2.retained != f1.retained + 1) return;
    std::uint8_t* q = allocate_one();
    const ListFigures f3(pool, list, base);
    ZIGGY_FUZZ_CHECK(counted(f2, f3) && q == p,
                     "%s: a %zu-byte allocation after its block was retained was not a hit "
                     "handing it back (%p, then %p)",
                     name, size, static_cast<void*>(p), static_cast<void*>(q));
    free_one(q);
}

/// A bulk round through the Buffer API on `a` (a pool or a hybrid): up to 40
/// buffers, some already holding a buffer of `a` (freed first), filled by
/// `allocate_bulk<T>` with `count` elements each (up to 4 KiB, or past the
/// classes for up to 8 buffers; zeroed when asked), then
/// emptied by `deallocate_bulk<T>` with a SystemAllocator's buffer among them
/// (reset on its own). Each buffer is `a`'s, aligned, apart from the others;
/// the byte count follows exactly; a hybrid's buffers all take the route
/// `route_for<T>(count)` names, a pool's the pooled one within the classes.
/// Bad input: a count whose bytes overflow (std::bad_array_new_length) or
/// reach 2^47 (std::bad_alloc) changes nothing, `out` keeps its buffers. A
/// base that fails its next request (when the bulk needs one) leaves every
/// buffer empty and only the freed buffers' bytes gone from the count.
template <class A>
void buffer_bulk_round(A& a, const char* name, CheckedBacking* backing, Reader& in) {
    const auto type = static_cast<ElementType>(in.u8() % element_type_count);
    const std::uint8_t how = in.u8();
    with_type(type, [&](auto v) {
        using T = typename decltype(v)::type;
        // Counts up to 4 KiB of elements, or (how bit 3) just past the
        // classes for at most 8 buffers: large buffers cost the harness
        // more (ASan poisons and unpoisons every byte) than they find.
        const bool past = (how & 8) != 0;
        std::vector<ziggy::Buffer<T>> out(in.u8() % (past ? 9 : 41));
        const bool bad = (how & 1) != 0 && !out.empty();
        const std::size_t count =
            bad    ? (sizeof(T) > 1 ? static_cast<std::size_t>(-1) / sizeof(T) + 1
                                    : std::size_t{1} << 47)
            : past ? ziggy::detail::max_class_size / sizeof(T) + 1 + in.u8() % 4
                   : in.u16() % (4096 / sizeof(T) + 2);
        std::size_t held = 0; // bytes of the buffers already in `out`
        for (std::size_t i = 0; i < out.size(); ++i) {
            if ((in.u8() & 3) != 0) continue;
            out[i] = a.template allocate<T>(1 + i % 7);
            held += out[i].size_bytes();
        }
        // Read before the round may return early (see bulk_round).
        const std::size_t other_at = in.pick(out.size() + 1);
        const bool zero = (how & 2) != 0;
        const bool fail = backing != nullptr && (how & 4) != 0;
        const std::size_t before = a.total_allocated_bytes();
        const std::uint64_t direct_before = pool_of(a).statistics().direct_allocations;
        if (fail) backing->fail_next(1);
        bool threw = false;
        try {
            a.template allocate_bulk<T>(std::span<ziggy::Buffer<T>>(out), count, zero);
        } catch (const std::bad_array_new_length&) {
            ZIGGY_FUZZ_CHECK(bad && sizeof(T) > 1,
                             "%s: allocate_bulk<%zu-byte T>(%zu) threw "
                             "bad_array_new_length",
                             name, sizeof(T), count);
            threw = true;
        } catch (const std::bad_alloc&) {
            ZIGGY_FUZZ_CHECK((bad && sizeof(T) == 1) || fail,
                             "%s: allocate_bulk<%zu-byte T>(%zu) threw bad_alloc", name, sizeof(T),
                             count);
            threw = true;
        }
        if (fail) backing->fail_next(0);
        ZIGGY_FUZZ_CHECK(!bad || threw, "%s: allocate_bulk<%zu-byte T>(%zu) did not throw", name,
                         sizeof(T), count);
        if (bad) { // nothing changed
            std::size_t kept = 0;
            for (const auto& b : out) kept += b.size_bytes();
            ZIGGY_FUZZ_CHECK(kept == held && a.total_allocated_bytes() == before,
                             "%s: a refused allocate_bulk kept %zu of %zu bytes in `out`, the "
                             "count went from %zu to %zu",
                             name, kept, held, before, a.total_allocated_bytes());
            a.template deallocate_bulk<T>(std::span<ziggy::Buffer<T>>(out));
            return;
        }
        const std::size_t each = count * sizeof(T);
        if (threw) {
            for (const auto& b : out)
                ZIGGY_FUZZ_CHECK(b.empty() && b.data() == nullptr,
                                 "%s: a failed allocate_bulk left a buffer", name);
            ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == before - held,
                             "%s: a failed allocate_bulk left the count at %zu, not %zu", name,
                             a.total_allocated_bytes(), before - held);
            return;
        }
        ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == before - held + out.size() * each,
                         "%s: allocate_bulk of %zu x %zu bytes counted %zu bytes, from %zu", name,
                         out.size(), each, a.total_allocated_bytes(), before - held);
        const std::uint64_t direct = pool_of(a).statistics().direct_allocations - direct_before;
        const bool pooled = typed_pooled<T>(a, count);
        ZIGGY_FUZZ_CHECK(direct == (pooled || count == 0 ? 0 : out.size()),
                         "%s: allocate_bulk of %zu buffers of %zu %zu-byte elements (%s) made %llu "
                         "direct allocations",
                         name, out.size(), count, sizeof(T), pooled ? "pooled" : "direct",
                         static_cast<unsigned long long>(direct));
        for (std::size_t i = 0; i < out.size(); ++i) {
            const ziggy::Buffer<T>& b = out[i];
            ZIGGY_FUZZ_CHECK(b.size() == count && (count == 0) == (b.data() == nullptr) &&
                                 (count == 0 || b.allocator() == &a),
                             "%s: allocate_bulk buffer %zu holds %zu elements, not %zu", name, i,
                             b.size(), count);
            if (count == 0) continue;
            auto* bytes = reinterpret_cast<std::uint8_t*>(b.data());
            ZIGGY_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(bytes) % alignof(T) == 0,
                             "%s: allocate_bulk buffer %zu misaligned", name, i);
            ZIGGY_FUZZ_CHECK(!zero || (bytes[0] == 0 && bytes[each - 1] == 0),
                             "%s: allocate_bulk did not zero buffer %zu", name, i);
            std::memset(bytes, static_cast<int>(i + 1), each);
        }
        for (std::size_t i = 0; i < out.size() && count != 0; ++i) {
            const auto* bytes = reinterpret_cast<const std::uint8_t*>(out[i].data());
            const auto mark = static_cast<std::uint8_t>(i + 1);
            ZIGGY_FUZZ_CHECK(bytes[0] == mark && bytes[each - 1] == mark,
                             "%s: allocate_bulk buffer %zu overlaps another", name, i);
        }
        ziggy::SystemAllocator other;
        out.insert(out.begin() + static_cast<std::ptrdiff_t>(other_at),
                   other.template allocate<T>(3));
        a.template deallocate_bulk<T>(std::span<ziggy::Buffer<T>>(out));
        for (const auto& b : out)
            ZIGGY_FUZZ_CHECK(b.empty() && b.data() == nullptr, "%s: deallocate_bulk left a buffer",
                             name);
        ZIGGY_FUZZ_CHECK(
            a.total_allocated_bytes() == before - held && other.total_allocated_bytes() == 0,
            "%s: deallocate_bulk left the count at %zu, not %zu (the other "
            "allocator's at %zu)",
            name, a.total_allocated_bytes(), before - held, other.total_allocated_bytes());
    });
}

/// A bad-free round on `a` (a pool or a hybrid): a live block of a class's
/// size (or that plus 32 KiB + 1, past the classes), filled, and a pointer
/// that is no block of `a`: inside the block (a multiple of 16 bytes in, or
/// 1 to 255 bytes in, mostly misaligned), malloc's, or a live block of the
/// same size and alignment from another pool (over the default allocator;
/// made while the round's pool lives, so it has a slot when `a`'s pool has
/// one, and none when `a`'s has none). `free` throws InvalidFreeError and a
/// sized free ignores it; the byte count, the block and its bytes (and the
/// other pool's block and count) stay as they were, and the blocks then free
/// normally.
template <class A>
void bad_free_round(A& a, const char* name, Reader& in) {
    const std::uint8_t how = in.u8();
    const std::size_t edge = ziggy::detail::class_size(in.pick(ziggy::detail::size_class_count));
    const std::size_t size = (how & 1) != 0 ? ziggy::detail::max_class_size + 1 + edge : edge;
    const std::size_t alignment = std::size_t{1} << ((how >> 1) % 8);
    auto* block = static_cast<std::uint8_t*>(a.allocate_bytes(size, alignment));
    std::memset(block, 0x5A, size);
    const std::size_t before = a.total_allocated_bytes();
    void* bad = nullptr;
    void* foreign = nullptr;
    std::optional<ziggy::UnmanagedMemoryPool> other;
    const std::size_t kind = (how >> 4) % 4;
    if (kind == 0 && size >= 32) { // 16-aligned, inside the block
        bad = block + 16 * (1 + in.pick(size / 16 - 1));
    } else if (kind <= 1) { // 1 to 255 bytes in (mostly misaligned)
        bad = block + 1 + in.pick(std::min<std::size_t>(size - 1, 255));
    } else if (kind == 2) {
        const std::size_t bytes = 16 * (1 + in.pick(8));
#if ZIGGY_TSAN
        // `free` reads the 16 bytes in front of any 16-aligned pointer for a
        // header, which in front of malloc's pointer may be the tail of a
        // neighbouring block ThreadSanitizer saw freed (the sanitized
        // variant's ASan build refuses such a pointer before reading it; a
        // TSan build cannot tell): here a pointer 16 bytes into a block
        // malloc handed out.
        foreign = std::malloc(bytes + 16);
        std::memset(foreign, 0, 16); // no header's magic
        bad = static_cast<std::uint8_t*>(foreign) + 16;
#else
        foreign = std::malloc(bytes);
        bad = foreign;
#endif
    } else {
        static_cast<void>(in.u8()); // as the other kinds read one
        other.emplace();
        bad = other->allocate_bytes(size, alignment);
        std::memset(bad, 0xA5, size);
    }
    // -1: malloc's, -2: the other pool's
    const long long offset = foreign != nullptr ? -1
                             : other            ? -2
                                                : static_cast<std::uint8_t*>(bad) - block;
    bool refused = false;
    try {
        a.free(bad);
    } catch (const ziggy::InvalidFreeError&) {
        refused = true;
    }
    a.deallocate_bytes(bad, size, alignment);
    ZIGGY_FUZZ_CHECK(refused && a.total_allocated_bytes() == before,
                     "%s: a free of a pointer %lld bytes into a %zu-byte block (-1: malloc's, "
                     "-2: another pool's) was %s, the count %zu, not %zu",
                     name, offset, size, refused ? "refused" : "taken", a.total_allocated_bytes(),
                     before);
    ZIGGY_FUZZ_CHECK(block[0] == 0x5A && block[size - 1] == 0x5A,
                     "%s: a refused free changed a live %zu-byte block", name, size);
    std::free(foreign);
    if (other) {
        const auto* b = static_cast<const std::uint8_t*>(bad);
        ZIGGY_FUZZ_CHECK(
            other->total_allocated_bytes() == size && b[0] == 0xA5 && b[size - 1] == 0xA5,
            "%s: refusing another pool's %zu-byte block changed it or its pool's "
            "count (%zu)",
            name, size, other->total_allocated_bytes());
        other->free(bad);
        ZIGGY_FUZZ_CHECK(other->total_allocated_bytes() == 0,
                         "%s: the other pool counts %zu bytes after its block's free", name,
                         other->total_allocated_bytes());
    }
    a.free(block);
    ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == before - size,
                     "%s: the block's free after the refusals left the count at %zu, not %zu", name,
                     a.total_allocated_bytes(), before - size);
}

/// A thread round on target `t`, whose allocator is `a` (a pool or a hybrid):
/// a worker thread frees some of the target's live buffers (through the
/// `Buffer`, sized or unsized: blocks another thread allocated), allocates
/// blocks of its own (sizes in and past the classes) and frees half of them,
/// then exits, which hands its cache to the pool's depot (or to the base,
/// past the caps); the main thread joins it and frees the other half. The
/// input is read on the main thread before the worker starts, and the main
/// thread waits while the worker runs, so the model and the checked base
/// are used by one thread at a time. Afterwards the byte count is exact and
/// the base holds exactly the retained blocks and one per live buffer.
template <class A>
void thread_round(A& a, Target& t, Model& model, PoolBase& base, Reader& in) {
    struct Free {
        Entry* entry;
        std::uint8_t how; // bit 0: through the Buffer (or the pmr resource); else bit 1: unsized
    };
    std::vector<Free> frees;
    for (Entry* e : model.entries_at(t, 0)) { // one byte each, whatever the outcome
        const std::uint8_t how = in.u8();
        // A DeferScope frees a deferred one; at most 16 go to the worker.
        if (!e->deferred && (how & 4) != 0 && frees.size() < 16) frees.push_back(Free{e, how});
    }
    std::vector<std::size_t> sizes(in.u8() % 17);
    for (std::size_t& size : sizes) {
        const std::uint16_t v = in.u16();
        size =
            (v & 1) != 0 ? ziggy::detail::max_class_size + 1 + (v >> 1) % 64 : 1 + (v >> 1) % 4096;
    }
    std::vector<void*> own(sizes.size());
    std::thread worker([&] {
        for (const Free& f : frees) {
            if (((f.how & 1) != 0 && f.entry->has_buffer()) || f.entry->from_pmr)
                model.destroy(*f.entry, true);
            else
                model.raw_free(*f.entry, (f.how & 2) != 0);
        }
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            own[i] = a.allocate_bytes(sizes[i]);
            std::memset(own[i], static_cast<int>(i), sizes[i]);
        }
        for (std::size_t i = 0; i < sizes.size(); i += 2) a.deallocate_bytes(own[i], sizes[i]);
    });
    worker.join();
    for (std::size_t i = 1; i < sizes.size(); i += 2) {
        const auto* b = static_cast<const std::uint8_t*>(own[i]);
        ZIGGY_FUZZ_CHECK(
            b[0] == static_cast<std::uint8_t>(i) && b[sizes[i] - 1] == static_cast<std::uint8_t>(i),
            "%s: a block the worker allocated changed after it exited", t.name());
        a.free(own[i]);
    }
    ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == t.live_bytes,
                     "%s: after a thread round total_allocated_bytes() is %zu, the model says %zu",
                     t.name(), a.total_allocated_bytes(), t.live_bytes);
    base.check(t.name(), pool_of(a), model.entry_count_of(t));
}

/// The rounds a pool and a hybrid target share, by number: 0 a bulk round
/// (raw or, by the next byte, through `Buffer`s), 1 reuse, 2 bad frees, 3 a
/// thread round.
template <class A>
void pool_round(int round, A& a, Target& t, Model& model, PoolBase& base, Reader& in) {
    CheckedBacking* const backing = base.checked();
    switch (round) {
        case 0:
            if (in.flag())
                bulk_round(a, t.name(), backing, in);
            else
                buffer_bulk_round(a, t.name(), backing, in);
            break;
        case 1:
            reuse_round(a, t.name(), base, in);
            break;
        case 2:
            bad_free_round(a, t.name(), in);
            break;
        default:
            thread_round(a, t, model, base, in);
            break;
    }
}

/// UnmanagedMemoryPool over one of PoolBase's bases: exact live bytes;
/// `clear()` gives every pooled block back, so the backing then holds
/// exactly the blocks of live buffers.
class PoolTarget final : public TargetOf<ziggy::UnmanagedMemoryPool> {
public:
    explicit PoolTarget(std::uint8_t config)
        : TargetOf("pool"), base_("pool base", config), pool_(base_.base(), pool_options(config)) {}
    ziggy::UnmanagedMemoryPool& concrete() noexcept override { return pool_; }
    CheckedBacking* backing() noexcept override { return base_.checked(); }

    void special(std::uint8_t what, Reader& in, Model& model) override {
        switch (what % 6) {
            case 0:
                base_.clear(name(), pool_, model.entry_count_of(*this));
                break;
            case 1:
                base_.check(name(), pool_, model.entry_count_of(*this));
                break;
            default: // 2 bulk, 3 reuse, 4 bad frees, 5 thread
                pool_round(what % 6 - 2, pool_, *this, model, base_, in);
                break;
        }
    }
    void finish(Model& model) override { base_.clear(name(), pool_, model.entry_count_of(*this)); }

private:
    PoolBase base_;
    ziggy::UnmanagedMemoryPool pool_;
};
#endif

#ifdef ZIGGY_FUZZ_HAS_HYBRID
/// HybridAllocator over one of PoolBase's bases: exact live bytes, and every
/// typed request takes the route its thresholds promise (checked on the
/// internal pool's direct-allocation counter).
class HybridTarget final : public TargetOf<ziggy::HybridAllocator> {
public:
    explicit HybridTarget(std::uint8_t config)
        : TargetOf("hybrid"),
          base_("hybrid backing", config),
          hybrid_(base_.base(), thresholds(config), pool_options(config >> 2)) {}
    ziggy::HybridAllocator& concrete() noexcept override { return hybrid_; }
    CheckedBacking* backing() noexcept override { return base_.checked(); }

    void special(std::uint8_t what, Reader& in, Model& model) override {
        switch (what % 7) {
            case 0:
                base_.clear(name(), hybrid_.pool(), model.entry_count_of(*this));
                break;
            case 1: {
                const auto type = static_cast<ElementType>(in.u8() % element_type_count);
                const std::uint16_t how = in.u16();
                check_route(type, how, in);
                break;
            }
            case 3: // 3 bulk (either route, by the size and the thresholds),
            case 4: // 4 reuse,
            case 5: // 5 bad frees,
            case 6: // 6 thread
                pool_round(what % 7 - 3, hybrid_, *this, model, base_, in);
                break;
            default:
                base_.check(name(), hybrid_.pool(), model.entry_count_of(*this));
                break;
        }
    }
    void finish(Model& model) override {
        base_.check(name(), hybrid_.pool(), model.entry_count_of(*this));
    }

private:
    // The configuration's low two bits: the default thresholds, small ones,
    // none (every request direct) or unbounded ones (the pool's classes
    // alone decide).
    static ziggy::HybridThresholds thresholds(std::uint8_t config) {
        constexpr std::size_t all = static_cast<std::size_t>(-1);
        switch (config % 4) {
            case 1:
                return {16, 8, 4, 2, 64, 64};
            case 2:
                return {0, 0, 0, 0, 0, 0};
            case 3:
                return {all, all, all, all, all, all};
            default:
                return {};
        }
    }
    // The documented thresholds, restated: pooled up to the per-size count
    // (and within the pool's classes and alignments).
    std::size_t documented_max(std::size_t element_size) const {
        const ziggy::HybridThresholds& t = hybrid_.thresholds();
        switch (element_size) {
            case 1:
                return t.one_byte;
            case 4:
                return t.four_byte;
            case 8:
                return t.eight_byte;
            default:
                return element_size > 8 ? t.large_struct : t.byte_budget / element_size;
        }
    }
    // A typed allocation of `type`, at a count near its pooled limit (one
    // below, at, one above) or anywhere below 4096, goes where
    // `route_for<T>` says and the restated thresholds promise; then a raw
    // allocation of that many bytes at an alignment up to 128 goes where
    // `route_for_bytes` says.
    void check_route(ElementType type, std::uint16_t how, Reader& in) {
        with_type(type, [&](auto v) {
            using T = typename decltype(v)::type;
            const std::size_t limit = hybrid_.template pooled_count_limit<T>();
            const std::size_t count = (how & 3) == 3
                                          ? (how >> 2) % 4096
                                          : limit + (how & 3) - std::min<std::size_t>(limit, 1);
            const std::size_t alignment = std::size_t{1} << in.pick(8); // before any return
            if (count == 0) return;
            const bool pooled = count <= documented_max(sizeof(T)) && alignof(T) <= 64 &&
                                count * sizeof(T) <= ziggy::detail::max_class_size;
            ZIGGY_FUZZ_CHECK(
                (hybrid_.template route_for<T>(count) == ziggy::Route::pooled) == pooled,
                "hybrid: route_for<%zu-byte T>(%zu) disagrees with the thresholds", sizeof(T),
                count);
            const auto before = hybrid_.pool().statistics().direct_allocations;
            { auto b = hybrid_.template allocate<T>(count); }
            const auto after = hybrid_.pool().statistics().direct_allocations;
            ZIGGY_FUZZ_CHECK((after == before) == pooled,
                             "hybrid: allocate<%zu-byte T>(%zu) went %s, route_for says %s",
                             sizeof(T), count, after == before ? "pooled" : "direct",
                             pooled ? "pooled" : "direct");
            const std::size_t bytes = count * sizeof(T);
            const bool bytes_pooled =
                hybrid_.route_for_bytes(bytes, alignment) == ziggy::Route::pooled;
            ZIGGY_FUZZ_CHECK(bytes_pooled == (bytes <= hybrid_.thresholds().untyped_bytes &&
                                              bytes <= ziggy::detail::max_class_size &&
                                              alignment <= ziggy::detail::max_pooled_alignment),
                             "hybrid: route_for_bytes(%zu, %zu) disagrees with the thresholds",
                             bytes, alignment);
            void* p = hybrid_.allocate_bytes(bytes, alignment);
            const auto direct = hybrid_.pool().statistics().direct_allocations;
            hybrid_.deallocate_bytes(p, bytes, alignment);
            ZIGGY_FUZZ_CHECK((direct == after) == bytes_pooled,
                             "hybrid: allocate_bytes(%zu, %zu) went %s, route_for_bytes says %s",
                             bytes, alignment, direct == after ? "pooled" : "direct",
                             bytes_pooled ? "pooled" : "direct");
        });
    }

    PoolBase base_;
    ziggy::HybridAllocator hybrid_;
};
#endif

#ifdef ZIGGY_FUZZ_HAS_SCOPED
/// ScopedAllocator: a stack of nested arenas (level 0 over a checked backing,
/// each further level over the one below). Allocations go to the innermost.
/// Its byte count is exact as the arena documents it: +size per allocation,
/// -size per free (reclaimed or not), 0 after reset(). A level with a nested arena above it also
/// counts that arena's blocks, so there only the lower bound (live bytes) is checked.
class ScopedTarget final : public TargetOf<ziggy::ScopedAllocator> {
public:
    static constexpr int max_levels = 4;

    explicit ScopedTarget(std::uint8_t config) : TargetOf("scoped") { push(config); }
    ~ScopedTarget() override {
        while (!levels_.empty()) levels_.pop_back(); // innermost first
    }
    ziggy::ScopedAllocator& concrete() noexcept override { return *levels_.back().arena; }
    CheckedBacking* backing() noexcept override {
        return levels_.size() == 1 ? &backing_ : nullptr;
    }

    void allocated(Entry& e) override {
        Level& l = levels_.back();
        e.level = static_cast<int>(levels_.size()) - 1;
        l.counted += e.size;
        l.last = e.serial;
    }
    void freed(const Entry& e, std::size_t before) override {
        Level& l = levels_[static_cast<std::size_t>(e.level)];
        const std::size_t now = l.arena->total_allocated_bytes();
        if (l.last == e.serial) l.last = 0;
        if (before == unknown) { // freed with others (a DeferScope ran): take the count
            l.counted = now;
            return;
        }
        ZIGGY_FUZZ_CHECK(now + e.size == before,
                         "scoped: freeing %zu bytes changed the count from %zu to %zu", e.size,
                         before, now);
        l.counted -= before - now;
    }
    void check_accounting(const Model& model) override {
        for (std::size_t i = 0; i < levels_.size(); ++i) {
            const Level& l = levels_[i];
            const std::size_t actual = l.arena->total_allocated_bytes();
            const std::size_t live = model.live_bytes_at(*this, static_cast<int>(i));
            if (i + 1 == levels_.size())
                ZIGGY_FUZZ_CHECK(actual == l.counted,
                                 "scoped level %zu: total_allocated_bytes() %zu, model %zu", i,
                                 actual, l.counted);
            ZIGGY_FUZZ_CHECK(actual >= live, "scoped level %zu: counts %zu, below the live %zu", i,
                             actual, live);
        }
        ZIGGY_FUZZ_CHECK(backing_.total_allocated_bytes() == levels_[0].arena->reserved_bytes(),
                         "scoped: the backing holds %zu bytes, reserved_bytes() says %zu",
                         backing_.total_allocated_bytes(), levels_[0].arena->reserved_bytes());
    }

    void special(std::uint8_t what, Reader& in, Model& model) override {
        switch (what % 4) {
            case 0: // open a nested scope
                if (levels_.size() < max_levels) push(in.u8());
                break;
            case 1: // close the innermost scope (destroying its arena)
                if (levels_.size() > 1 && !model.has_deferred_at(*this, top())) {
                    drop_entries(model, in.flag());
                    levels_.pop_back();
                    resync();
                }
                break;
            default: { // reset the innermost scope
                if (model.has_deferred_at(*this, top())) break;
                drop_entries(model, in.flag());
                const bool keep_nothing = what % 4 == 3;
                if (keep_nothing)
                    levels_.back().arena->reset(0);
                else
                    levels_.back().arena->reset();
                Level& l = levels_.back();
                ZIGGY_FUZZ_CHECK(l.arena->total_allocated_bytes() == 0,
                                 "scoped: %zu bytes counted after reset()",
                                 l.arena->total_allocated_bytes());
                ZIGGY_FUZZ_CHECK(!keep_nothing || l.arena->reserved_bytes() == 0,
                                 "scoped: reset(0) kept %zu bytes", l.arena->reserved_bytes());
                l.counted = 0;
                l.last = 0;
                resync();
                break;
            }
        }
    }

private:
    struct Level {
        std::unique_ptr<ziggy::ScopedAllocator> arena;
        std::size_t counted = 0; // the model's byte count (exact on the innermost level)
        std::uint64_t last = 0;  // serial of the most recent allocation still live
    };

    int top() const noexcept { return static_cast<int>(levels_.size()) - 1; }

    void push(std::uint8_t config) {
        ziggy::ScopedAllocator::Options o;
        static constexpr std::array<std::size_t, 4> initial{4096, 64, 256, 1024};
        o.initial_block_size = initial[config % 4];
        o.max_block_size = (config & 4) != 0 ? o.initial_block_size : std::size_t{1} << 16;
        o.max_retained_bytes = (config & 8) != 0 ? 0 : o.max_retained_bytes;
        ziggy::Allocator& below =
            levels_.empty() ? static_cast<ziggy::Allocator&>(backing_) : *levels_.back().arena;
        levels_.push_back(Level{std::make_unique<ziggy::ScopedAllocator>(below, o), 0, 0});
    }
    // Before the innermost arena frees everything: some of its buffers are
    // destroyed first (newest first, as scopes unwind), the rest abandoned.
    void drop_entries(Model& model, bool destroy_first) {
        for (Entry* e : model.entries_at(*this, top())) {
            if (destroy_first)
                model.destroy(*e, true);
            else
                model.abandon(*e);
        }
    }
    // The level below the innermost no longer has an arena above it: its count
    // becomes exact again from here on.
    void resync() {
        Level& l = levels_.back();
        l.counted = l.arena->total_allocated_bytes();
        l.last = 0;
    }

    CheckedBacking backing_{"scoped backing"};
    std::vector<Level> levels_;
};
#endif

/// Every allocator under test, each configured by `config` (guard widths,
/// retention caps, block sizes, thresholds vary with it) and built on first use.
inline Targets make_targets([[maybe_unused]] std::uint8_t config) {
    Targets targets;
    targets.add<SystemTarget>(config);
#ifdef ZIGGY_FUZZ_HAS_SCOPED
    targets.add<ScopedTarget>(config);
#endif
#ifdef ZIGGY_FUZZ_HAS_DEBUG
    targets.add<DebugTarget>(config);
#endif
#ifdef ZIGGY_FUZZ_HAS_POOL
    targets.add<PoolTarget>(config);
#endif
#ifdef ZIGGY_FUZZ_HAS_HYBRID
    targets.add<HybridTarget>(config);
#endif
    return targets;
}

} // namespace ziggy_fuzz
