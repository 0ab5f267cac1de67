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
#include <cstring>
#include <memory>
#include <new>
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
/// Checks what a pool's statistics promise: the per-class figures add up to
/// the totals, retained bytes are whole blocks within the caps, counters never
/// go back, and after `clear()` nothing is retained.
class PoolChecker {
public:
    /// One statistics snapshot; `cleared`: right after clear(), so nothing
    /// may be retained.
    void check(const char* name, const ziggy::UnmanagedMemoryPool& pool, bool cleared = false) {
        const ziggy::PoolStatistics s = pool.statistics();
        std::size_t blocks = 0, bytes = 0;
        std::uint64_t events = s.direct_allocations;
        for (const auto& c : s.classes) {
            ZIGGY_FUZZ_CHECK(c.retained_bytes == c.retained_blocks * c.block_size,
                             "%s: class %zu retains %zu bytes in %zu blocks", name, c.block_size,
                             c.retained_bytes, c.retained_blocks);
            blocks += c.retained_blocks;
            bytes += c.retained_bytes;
            events += c.hits + c.misses;
        }
        ZIGGY_FUZZ_CHECK(blocks == s.retained_blocks && bytes == s.retained_bytes,
                         "%s: classes retain %zu blocks / %zu bytes, totals say %zu / %zu", name,
                         blocks, bytes, s.retained_blocks, s.retained_bytes);
        // retained_bytes() takes a snapshot of its own, as costly as statistics():
        // right after clear() the snapshot above already shows zero.
        if (!cleared)
            ZIGGY_FUZZ_CHECK(pool.retained_bytes() == bytes,
                             "%s: retained_bytes() is %zu, the classes retain %zu", name,
                             pool.retained_bytes(), bytes);
        const ziggy::PoolOptions& o = pool.options();
        const std::size_t cap =
            o.max_retained_bytes + ziggy::detail::size_class_count * o.thread_cache_bytes_per_class;
        ZIGGY_FUZZ_CHECK(bytes <= cap, "%s: retains %zu bytes, above the caps' %zu", name, bytes,
                         cap);
        ZIGGY_FUZZ_CHECK(events >= events_, "%s: hit/miss/direct counters went back", name);
        ZIGGY_FUZZ_CHECK(!cleared || bytes == 0, "%s: clear() left %zu bytes retained", name,
                         bytes);
        events_ = events;
    }

private:
    std::uint64_t events_ = 0;
};

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

/// Bit 0x40 of a pool or hybrid target's configuration puts it over a
/// SystemAllocator of its own instead of a checked backing: the base whose
/// blocks the pool takes as its direct blocks, with no header of its own
/// (so the backing's failure injection is not available there).
inline constexpr std::uint8_t over_system_bit = 0x40;

/// The base of a pool or hybrid target: a checked backing, or (bit 0x40)
/// a SystemAllocator. After `clear()`, each checks what it can: the checked
/// backing holds exactly the blocks of live buffers; a system allocator with
/// no live buffer holds no byte.
class PoolBase {
public:
    explicit PoolBase(const char* name, std::uint8_t config)
        : backing_(name), over_system_((config & over_system_bit) != 0) {}
    ziggy::Allocator& base() noexcept {
        return over_system_ ? static_cast<ziggy::Allocator&>(system_) : backing_;
    }
    CheckedBacking* checked() noexcept { return over_system_ ? nullptr : &backing_; }
    void check_cleared(const char* name, std::size_t live_entries) const {
        if (over_system_) {
            ZIGGY_FUZZ_CHECK(live_entries != 0 || system_.total_allocated_bytes() == 0,
                             "%s: after clear() with no live buffer the system base holds %zu "
                             "bytes",
                             name, system_.total_allocated_bytes());
        } else {
            ZIGGY_FUZZ_CHECK(backing_.live_blocks() == live_entries,
                             "%s: after clear() the base holds %zu blocks for %zu live buffers",
                             name, backing_.live_blocks(), live_entries);
        }
    }

private:
    CheckedBacking backing_;
    ziggy::SystemAllocator system_;
    bool over_system_;
};

/// A bulk round on `a` (an UnmanagedMemoryPool or a HybridAllocator over
/// `backing`, or over a SystemAllocator when that is null): allocate_bulk of up to 79 blocks (a
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
    blocks.insert(blocks.begin() + static_cast<std::ptrdiff_t>(in.pick(blocks.size() + 1)),
                  nullptr);
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

/// UnmanagedMemoryPool over a checked backing (or a SystemAllocator, see
/// PoolBase): exact live bytes; `clear()` gives every pooled block back, so
/// the backing then holds exactly the blocks of live buffers.
class PoolTarget final : public TargetOf<ziggy::UnmanagedMemoryPool> {
public:
    explicit PoolTarget(std::uint8_t config)
        : TargetOf("pool"), base_("pool base", config), pool_(base_.base(), pool_options(config)) {}
    ziggy::UnmanagedMemoryPool& concrete() noexcept override { return pool_; }
    CheckedBacking* backing() noexcept override { return base_.checked(); }

    void special(std::uint8_t what, Reader& in, Model& model) override {
        switch (what % 3) {
            case 0:
                clear(model);
                break;
            case 1:
                checker_.check(name(), pool_);
                break;
            default:
                bulk_round(pool_, name(), base_.checked(), in);
                break;
        }
    }
    void finish(Model& model) override { clear(model); }

private:
    PoolBase base_;
    ziggy::UnmanagedMemoryPool pool_;
    PoolChecker checker_;

    void clear(Model& model) {
        pool_.clear();
        checker_.check(name(), pool_, /*cleared=*/true);
        base_.check_cleared(name(), model.entry_count_of(*this));
    }
};
#endif

#ifdef ZIGGY_FUZZ_HAS_HYBRID
/// HybridAllocator over a checked backing (or a SystemAllocator, see
/// PoolBase): exact live bytes, and every typed
/// request takes the route its thresholds promise (checked on the internal
/// pool's direct-allocation counter).
class HybridTarget final : public TargetOf<ziggy::HybridAllocator> {
public:
    explicit HybridTarget(std::uint8_t config)
        : TargetOf("hybrid"),
          base_("hybrid backing", config),
          hybrid_(base_.base(), thresholds(config), pool_options(config >> 2)) {}
    ziggy::HybridAllocator& concrete() noexcept override { return hybrid_; }
    CheckedBacking* backing() noexcept override { return base_.checked(); }

    void special(std::uint8_t what, Reader& in, Model& model) override {
        switch (what % 4) {
            case 0:
                hybrid_.pool().clear();
                checker_.check(name(), hybrid_.pool(), /*cleared=*/true);
                base_.check_cleared(name(), model.entry_count_of(*this));
                break;
            case 1: {
                const auto type = static_cast<ElementType>(in.u8() % element_type_count);
                check_route(type, in.u16() % 4096);
                break;
            }
            case 3: // either route, by the size and the thresholds
                bulk_round(hybrid_, name(), base_.checked(), in);
                break;
            default:
                checker_.check(name(), hybrid_.pool());
                break;
        }
    }
    void finish(Model&) override { checker_.check(name(), hybrid_.pool()); }

private:
    static ziggy::HybridThresholds thresholds(std::uint8_t config) {
        ziggy::HybridThresholds t;
        if (config & 1) t = {16, 8, 4, 2, 64, 64};
        return t;
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
    void check_route(ElementType type, std::size_t count) {
        if (count == 0) return;
        with_type(type, [&](auto v) {
            using T = typename decltype(v)::type;
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
        });
    }

    PoolBase base_;
    ziggy::HybridAllocator hybrid_;
    PoolChecker checker_;
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
