// fuzz/ops_model.hpp — the model behind the ops programs: which blocks are
// live, which target handed each out, and the checks that tie the two
// together (alignment, zeroing, no overlap between live blocks, contents,
// exact `total_allocated_bytes`).
//
// The `Model` allocates and frees through the targets (target.hpp) and
// records each block as an `Entry` whose `model` bytes say what it must
// contain; entry_ops.hpp holds what a program does to a live block in between.
// The engine (ops_engine.hpp) checks the blocks and targets each step touched,
// and everything every 16 steps and at the end.
//
//     Model m(targets);
//     m.allocate_raw(m.pick_target(in), 100, 16, /*zero=*/true, false, 0);
//     m.check_all_contents();
//     m.free_everything(in);       // then each target's final checks
#pragma once

#include "entry_ops.hpp"

#include <ziggy/buffer.hpp>
#include <ziggy/errors.hpp>
#include <ziggy/memory_resource.hpp>

#include <algorithm>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ziggy_fuzz {

class Model {
public:
    explicit Model(Targets& targets) : targets_(targets), slots_(slab()) {
        ZIGGY_FUZZ_CHECK(!slab_in_use(), "two Models at once");
        slab_in_use() = true;
        entries_.reserve(max_entries);
        free_.reserve(max_entries);
        for (Entry& e : slots_) free_.push_back(&e);
    }
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;
    ~Model() {
        for (Entry* e : entries_) recycle(*e); // none after free_everything()
        slab_in_use() = false;
    }

    static constexpr std::size_t max_entries = 64;
    static constexpr std::size_t max_live_bytes = 256 * 1024;

    /// The target the next byte names (built now if it was not yet).
    Target& pick_target(Reader& in) {
        Target& t = targets_.get(in.pick(targets_.size()));
        t.touched = true;
        return t;
    }
    Entry* pick_entry(Reader& in) {
        const std::size_t i = in.pick(entries_.size());
        return entries_.empty() ? nullptr : entries_[i];
    }
    /// An entry the program may free (not one a DeferScope will free).
    Entry* pick_freeable(Reader& in) {
        Entry* e = pick_entry(in);
        return e != nullptr && !e->deferred ? e : nullptr;
    }
    [[nodiscard]] std::size_t entry_count() const noexcept { return entries_.size(); }
    [[nodiscard]] std::size_t entry_count_of(const Target& t) const noexcept {
        return static_cast<std::size_t>(std::count_if(
            entries_.begin(), entries_.end(), [&](const auto& e) { return e->target == &t; }));
    }
    [[nodiscard]] bool has_deferred_at(const Target& t, int level) const noexcept {
        return std::any_of(entries_.begin(), entries_.end(), [&](const auto& e) {
            return e->target == &t && e->level == level && e->deferred;
        });
    }
    [[nodiscard]] bool has_room(std::size_t bytes) const noexcept {
        return entries_.size() < max_entries && live_total_ + bytes <= max_live_bytes;
    }

    /// A typed allocation, through `Allocator&` or the concrete type.
    void allocate_typed(Target& t, ElementType type, std::size_t count, bool zero, bool concrete,
                        std::uint32_t seed) {
        const std::size_t bytes = count * element_size(type);
        if (!has_room(bytes)) return;
        const std::size_t before = t.allocator().total_allocated_bytes();
        with_type(type, [&](auto v) {
            using T = typename decltype(v)::type;
            ziggy::Buffer<T> b = allocate_or_trap<T>(t, type, count, zero, concrete);
            if (count == 0) {
                ZIGGY_FUZZ_CHECK(b.empty() && !b.valid() && !b.owns_memory(),
                                 "%s: allocate<T>(0) is not empty", t.name());
                ZIGGY_FUZZ_CHECK(t.allocator().total_allocated_bytes() == before,
                                 "%s: allocate<T>(0) changed the byte count", t.name());
                return;
            }
            ZIGGY_FUZZ_CHECK(
                b.size() == count && b.owns_memory() && b.allocator() == &t.allocator(),
                "%s: allocate<T>(%zu) gave size %zu", t.name(), count, b.size());
            Entry* e = new_entry();
            e->data = reinterpret_cast<std::uint8_t*>(b.data());
            e->count = count;
            e->type = type;
            e->buffer = std::move(b);
            add(t, e, bytes, alignof(T), zero, seed);
        });
    }

    /// Raw bytes from the byte layer, or through a std::pmr MemoryResource
    /// over the target (then freed through one as well).
    void allocate_raw(Target& t, std::size_t size, std::size_t alignment, bool zero, bool via_pmr,
                      std::uint32_t seed) {
        if (!has_room(size)) return;
        void* p = nullptr;
        try {
            if (via_pmr) {
                ziggy::MemoryResource resource(t.allocator());
                p = resource.allocate(size, alignment);
                zero = false;
            } else {
                p = t.allocator().allocate_bytes(size, alignment, zero);
            }
        } catch (const std::bad_alloc&) {
            ZIGGY_FUZZ_CHECK(false, "%s: allocate_bytes(%zu, %zu) threw bad_alloc", t.name(), size,
                             alignment);
        }
        Entry* e = new_entry();
        e->data = static_cast<std::uint8_t*>(p);
        e->count = size;
        e->from_pmr = via_pmr;
        add(t, e, size, alignment, zero, seed);
    }

    /// The backing allocator refuses the next request: the target must either
    /// serve `size` bytes from what it holds or fail with its byte count
    /// unchanged — by std::bad_alloc from allocate_bytes, or by nullptr from
    /// try_allocate_bytes (`seed` picks which; every throw costs an ASan
    /// fake-stack sweep, so only half the calls take it).
    void out_of_memory(Target& t, std::size_t size, std::uint32_t seed) {
        CheckedBacking* backing = t.backing();
        if (backing == nullptr || entries_.size() >= max_entries) return;
        const std::size_t before = t.allocator().total_allocated_bytes();
        backing->fail_next(1);
        void* p = nullptr;
        bool threw = false;
        if ((seed & 1) != 0) {
            p = t.allocator().try_allocate_bytes(size, 8);
        } else {
            try {
                p = t.allocator().allocate_bytes(size, 8);
            } catch (const std::bad_alloc&) {
                threw = true;
            }
            ZIGGY_FUZZ_CHECK(threw == (p == nullptr), "%s: allocate_bytes returned nullptr",
                             t.name());
        }
        backing->fail_next(0);
        if (p == nullptr) {
            ZIGGY_FUZZ_CHECK(t.allocator().total_allocated_bytes() == before,
                             "%s: a failed allocation changed the byte count from %zu to %zu",
                             t.name(), before, t.allocator().total_allocated_bytes());
            return;
        }
        Entry* e = new_entry();
        e->data = static_cast<std::uint8_t*>(p);
        e->count = size;
        add(t, e, size, 8, false, seed);
    }

    /// Frees an entry: through its Buffer (reset) when it still has one,
    /// otherwise with sized deallocation.
    void destroy(Entry& e, bool through_buffer) {
        const std::size_t before = e.allocator->total_allocated_bytes();
        if (e.has_buffer() && through_buffer) {
            std::visit(
                [](auto& b) {
                    if constexpr (!std::is_same_v<std::decay_t<decltype(b)>, std::monostate>)
                        b.reset();
                },
                e.buffer);
        } else if (e.from_pmr) {
            ziggy::MemoryResource resource(*e.allocator);
            resource.deallocate(e.data, e.size, e.alignment);
        } else {
            release_buffer(e);
            e.allocator->deallocate_bytes(e.data, e.size, e.alignment);
        }
        e.target->freed(e, before);
        forget(e);
    }

    /// Release, then free the raw pointer: unsized `free` or sized deallocation.
    void raw_free(Entry& e, bool unsized) {
        ziggy::Allocator& a = *e.allocator;
        const std::size_t before = a.total_allocated_bytes();
        release_buffer(e);
        if (!unsized) {
            a.deallocate_bytes(e.data, e.size, e.alignment);
        } else if (a.supports_individual_deallocation()) {
            a.free(e.data);
        } else {
            bool threw = false;
            try {
                a.free(e.data);
            } catch (const ziggy::NotSupportedError&) {
                threw = true;
            }
            ZIGGY_FUZZ_CHECK(threw, "%s: free() without individual deallocation did not throw",
                             e.target->name());
            ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == before,
                             "%s: a refused free() changed the byte count", e.target->name());
            return; // still live: the arena frees it at reset
        }
        e.target->freed(e, before);
        forget(e);
    }

    void check_all_contents() const {
        for (const auto& e : entries_) check_contents(*e);
    }
    /// Checks the accounting of every target built so far (`all`), or of
    /// those used since the last check.
    void check_accounting(bool all = true) const {
        targets_.for_each_built([&](Target& t) {
            if (!all && !t.touched) return;
            t.check_accounting(*this);
            t.touched = false;
        });
    }

    /// Sum of the sizes of the live entries of `t` allocated at scope `level`.
    [[nodiscard]] std::size_t live_bytes_at(const Target& t, int level) const noexcept {
        std::size_t n = 0;
        for (const auto& e : entries_)
            if (e->target == &t && e->level == level) n += e->size;
        return n;
    }
    /// The live entries of `t` at `level`, newest first.
    [[nodiscard]] std::vector<Entry*> entries_at(const Target& t, int level) const {
        std::vector<Entry*> found;
        for (const auto& e : entries_)
            if (e->target == &t && e->level == level) found.push_back(e);
        std::sort(found.begin(), found.end(),
                  [](const Entry* a, const Entry* b) { return a->serial > b->serial; });
        return found;
    }

    /// Frees every entry (some through their buffer, some sized, some
    /// unsized), then runs each built target's final checks.
    void free_everything(Reader& in) {
        while (!entries_.empty()) {
            Entry& e = *entries_.back();
            if (e.allocator->supports_individual_deallocation() && in.flag())
                raw_free(e, true);
            else
                destroy(e, !in.flag());
        }
        check_accounting();
        targets_.for_each_built([&](Target& t) { t.finish(*this); });
    }

    /// Records a non-owning buffer whose memory `t` handed out (a deferred
    /// allocation); returns its entry.
    template <class T>
    Entry* adopt_buffer(Target& t, ziggy::Buffer<T>&& b, bool zero, std::uint32_t seed) {
        Entry* e = new_entry();
        e->data = reinterpret_cast<std::uint8_t*>(b.data());
        e->count = b.size();
        e->type = type_of<T>();
        e->buffer = std::move(b);
        const std::size_t size = e->count * sizeof(T);
        add(t, e, size, alignof(T), zero, seed);
        return e;
    }
    /// A DeferScope freed the entry with serial `serial`.
    void freed_elsewhere(std::uint64_t serial) {
        Entry& e = by_serial(serial);
        e.target->freed(e, Target::unknown);
        abandon(e);
    }
    /// The DeferScope that would have freed `serial` was cancelled: the block
    /// is now the program's, as a raw block.
    void undefer(std::uint64_t serial) {
        Entry& e = by_serial(serial);
        release_buffer(e);
        e.deferred = false;
    }

    /// Drops an entry without freeing it (its allocator freed everything at
    /// once: arena reset). Its Buffer gives up ownership first.
    void abandon(Entry& e) {
        release_buffer(e);
        forget(e);
    }

    void forget(Entry& e) {
        e.target->live_bytes -= e.size;
        e.target->touched = true;
        live_total_ -= e.size;
        auto it = std::find(entries_.begin(), entries_.end(), &e);
        std::swap(*it, entries_.back());
        entries_.pop_back();
        recycle(e);
        free_.push_back(&e);
    }

private:
    Entry& by_serial(std::uint64_t serial) {
        for (auto& e : entries_)
            if (e->serial == serial) return *e;
        ZIGGY_FUZZ_CHECK(false, "no entry with serial %llu",
                         static_cast<unsigned long long>(serial));
        __builtin_unreachable();
    }

    template <class T>
    ziggy::Buffer<T> allocate_or_trap(Target& t, ElementType type, std::size_t count, bool zero,
                                      bool concrete) {
        try {
            if (concrete) return std::get<ziggy::Buffer<T>>(t.allocate_concrete(type, count, zero));
            return t.allocator().allocate<T>(count, zero);
        } catch (const std::bad_alloc&) {
            ZIGGY_FUZZ_CHECK(false, "%s: allocate<T>(%zu) threw bad_alloc", t.name(), count);
        }
        return {};
    }

    // Records a new block: checks alignment, zeroing and overlap, then writes
    // the pattern `seed` into non-zeroed memory so the model knows every byte.
    // The entry slots, kept from one program to the next: the model bytes of
    // a reused slot keep their capacity, so recording a block allocates
    // nothing (allocations under ASan are the harnesses' main cost).
    static std::vector<Entry>& slab() {
        static std::vector<Entry> slots(max_entries);
        return slots;
    }
    static bool& slab_in_use() {
        static bool in_use = false;
        return in_use;
    }
    // Resets a slot to a fresh Entry, keeping its model's capacity.
    static void recycle(Entry& e) {
        std::vector<std::uint8_t> model = std::move(e.model);
        e = Entry{};
        e.model = std::move(model);
    }

    // A free slot for a new entry (callers checked has_room first).
    Entry* new_entry() {
        ZIGGY_FUZZ_CHECK(!free_.empty(), "more than %zu live entries", max_entries);
        Entry* e = free_.back();
        free_.pop_back();
        return e;
    }

    void add(Target& t, Entry* e, std::size_t size, std::size_t alignment, bool zero,
             std::uint32_t seed) {
        e->target = &t;
        e->allocator = &t.allocator();
        e->size = size;
        e->alignment = alignment;
        e->serial = ++serial_;
        ZIGGY_FUZZ_CHECK(e->data != nullptr, "%s: %zu bytes gave nullptr", t.name(), size);
        ZIGGY_FUZZ_CHECK(reinterpret_cast<std::uintptr_t>(e->data) % alignment == 0,
                         "%s: %p is not aligned to %zu", t.name(), static_cast<void*>(e->data),
                         alignment);
        const auto lo = reinterpret_cast<std::uintptr_t>(e->data);
        for (const auto& other : entries_) {
            const auto olo = reinterpret_cast<std::uintptr_t>(other->data);
            ZIGGY_FUZZ_CHECK(lo + size <= olo || olo + other->size <= lo,
                             "%s: new block [%p, +%zu) overlaps a live block of %s [%p, +%zu)",
                             t.name(), static_cast<void*>(e->data), size, other->target->name(),
                             static_cast<void*>(other->data), other->size);
        }
        if (zero) {
            const std::size_t bad = first_nonzero(e->data, size);
            ZIGGY_FUZZ_CHECK(bad == size, "%s: byte %zu of a zeroed %zu-byte block is 0x%02x",
                             t.name(), bad, size, bad < size ? e->data[bad] : 0);
            e->model.assign(size, 0);
        } else {
            fill_pattern(e->data, seed, size);
            e->model.assign(pattern(seed), pattern(seed) + size);
        }
        t.live_bytes += size;
        live_total_ += size;
        entries_.push_back(e);
        t.allocated(*e);
    }

    Targets& targets_;
    // Entries live in slots_ (see slab()); entries_ lists the live ones, free_
    // the others.
    std::vector<Entry>& slots_;
    std::vector<Entry*> entries_;
    std::vector<Entry*> free_;
    std::size_t live_total_ = 0; // sum of the sizes of all live entries
    std::uint64_t serial_ = 0;
};

} // namespace ziggy_fuzz
