// fuzz/ops_model.hpp — the model behind ops_fuzzer: live blocks, their expected
// contents, and what each allocator under test must report.
//
// A `Target` is one allocator under test. Adding an allocator to the fuzzer is
// one `Target` subclass in targets.hpp (how to build it, how its byte count
// follows the model, its own operations such as reset or clear, its end-of-run
// checks) plus one line in `make_targets`. Everything else — typed and raw
// allocation, frees, contents, overlap and accounting checks — is shared here.
#pragma once

#include "fuzz_support.hpp"

#include <ziggy/allocator.hpp>
#include <ziggy/buffer.hpp>
#include <ziggy/errors.hpp>
#include <ziggy/memory_resource.hpp>
#include <ziggy/std_allocator.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory>
#include <memory_resource>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ziggy_fuzz {

// Element types: each size and alignment class a user meets, including an
// odd-sized one and an over-aligned one.
struct Odd {
    std::uint8_t b[3];
};
struct alignas(64) Line {
    std::uint8_t b[64];
};

enum class ElementType : std::uint8_t { u8, u16, u32, u64, odd, line };
inline constexpr unsigned element_type_count = 6;

using AnyBuffer =
    std::variant<std::monostate, ziggy::Buffer<std::uint8_t>, ziggy::Buffer<std::uint16_t>,
                 ziggy::Buffer<std::uint32_t>, ziggy::Buffer<std::uint64_t>, ziggy::Buffer<Odd>,
                 ziggy::Buffer<Line>>;

/// Calls `f(std::type_identity<T>{})` for the element type `type` names.
template <class F>
decltype(auto) with_type(ElementType type, F&& f) {
    switch (type) {
        case ElementType::u8:
            return f(std::type_identity<std::uint8_t>{});
        case ElementType::u16:
            return f(std::type_identity<std::uint16_t>{});
        case ElementType::u32:
            return f(std::type_identity<std::uint32_t>{});
        case ElementType::u64:
            return f(std::type_identity<std::uint64_t>{});
        case ElementType::odd:
            return f(std::type_identity<Odd>{});
        case ElementType::line:
            break;
    }
    return f(std::type_identity<Line>{});
}

template <class T>
constexpr ElementType type_of() {
    if constexpr (std::is_same_v<T, std::uint8_t>)
        return ElementType::u8;
    else if constexpr (std::is_same_v<T, std::uint16_t>)
        return ElementType::u16;
    else if constexpr (std::is_same_v<T, std::uint32_t>)
        return ElementType::u32;
    else if constexpr (std::is_same_v<T, std::uint64_t>)
        return ElementType::u64;
    else if constexpr (std::is_same_v<T, Odd>)
        return ElementType::odd;
    else
        return ElementType::line;
}

inline std::size_t element_size(ElementType type) {
    return with_type(type, [](auto v) { return sizeof(typename decltype(v)::type); });
}

template <class T>
T make_value(std::uint32_t seed) {
    T v;
    auto* bytes = reinterpret_cast<unsigned char*>(&v);
    std::memcpy(bytes, pattern(seed), sizeof(T));
    return v;
}

class Model;
class Target;

/// One live block handed out by a target.
struct Entry {
    Target* target = nullptr;
    AnyBuffer buffer; // monostate once released, or for raw blocks
    std::uint8_t* data = nullptr;
    std::size_t size = 0; // bytes
    std::size_t alignment = 1;
    std::size_t count = 0; // elements (== size for raw blocks)
    ElementType type = ElementType::u8;
    std::vector<std::uint8_t> model;       // what the block must contain
    ziggy::Allocator* allocator = nullptr; // the allocator that handed it out
    int level = 0;                         // the target's scope level when allocated (arenas)
    std::uint64_t serial = 0;              // allocation order
    bool deferred = false;                 // a DeferScope frees it (allocate_deferred)
    bool from_pmr = false;                 // allocated through a MemoryResource over the target

    [[nodiscard]] bool has_buffer() const noexcept { return buffer.index() != 0; }
};

/// One allocator under test (see the file comment).
class Target {
public:
    explicit Target(const char* name) noexcept : name_(name) {}
    Target(const Target&) = delete;
    Target& operator=(const Target&) = delete;
    virtual ~Target() = default;

    [[nodiscard]] const char* name() const noexcept { return name_; }
    /// Where new blocks come from (for an arena: its innermost scope).
    [[nodiscard]] virtual ziggy::Allocator& allocator() noexcept = 0;
    /// The checked allocator under a composing allocator (nullptr if none).
    [[nodiscard]] virtual CheckedBacking* backing() noexcept { return nullptr; }

    /// Checks `total_allocated_bytes()` against the model: by default it is
    /// exactly the live bytes.
    virtual void check_accounting(const Model& model);
    /// Called once a new block is recorded.
    virtual void allocated(Entry& e) { (void)e; }
    /// Called after a block was freed (`before`: its allocator's byte count
    /// before the free, or `unknown` when several went at once), before the
    /// entry is dropped.
    virtual void freed(const Entry& e, std::size_t before) { (void)e, (void)before; }
    static constexpr std::size_t unknown = static_cast<std::size_t>(-1);
    /// A typed allocation through the concrete allocator type (its own inline
    /// `allocate<T>`, where it has one); by default through `Allocator&`.
    virtual AnyBuffer allocate_concrete(ElementType type, std::size_t count, bool zero) {
        return with_type(type, [&](auto v) -> AnyBuffer {
            return allocator().template allocate<typename decltype(v)::type>(count, zero);
        });
    }
    /// The target's own operations (reset, clear, scopes, guard checks, ...).
    virtual void special(std::uint8_t what, Reader& in, Model& model) {
        (void)what, (void)in, (void)model;
    }
    /// Checks after every block has been freed (e.g. no leak reported).
    virtual void finish(Model& model) { (void)model; }

    std::size_t live_bytes = 0; // sum of the sizes of live entries
    bool touched = true;        // used since its accounting was last checked

private:
    const char* name_;
};

using Targets = std::vector<std::unique_ptr<Target>>;

class Model {
public:
    explicit Model(Targets& targets) noexcept : targets_(targets) {}
    Model(const Model&) = delete;
    Model& operator=(const Model&) = delete;
    ~Model() = default;

    static constexpr std::size_t max_entries = 64;
    static constexpr std::size_t max_live_bytes = 256 * 1024;

    Target& pick_target(Reader& in) {
        Target& t = *targets_[in.pick(targets_.size())];
        t.touched = true;
        return t;
    }
    Entry* pick_entry(Reader& in) {
        const std::size_t i = in.pick(entries_.size());
        return entries_.empty() ? nullptr : entries_[i].get();
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
        return entries_.size() < max_entries && total_live() + bytes <= max_live_bytes;
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
            auto e = std::make_unique<Entry>();
            e->data = reinterpret_cast<std::uint8_t*>(b.data());
            e->count = count;
            e->type = type;
            e->buffer = std::move(b);
            add(t, std::move(e), bytes, alignof(T), zero, seed);
        });
    }

    /// Raw bytes from the byte layer, or through a std::pmr MemoryResource
    /// over the target (then freed through one as well).
    void allocate_raw(Target& t, std::size_t size, std::size_t alignment, bool zero, bool via_pmr,
                      std::uint32_t seed) {
        if (entries_.size() >= max_entries || total_live() + size > max_live_bytes) return;
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
        auto e = std::make_unique<Entry>();
        e->data = static_cast<std::uint8_t*>(p);
        e->count = size;
        e->from_pmr = via_pmr;
        add(t, std::move(e), size, alignment, zero, seed);
    }

    /// The backing allocator refuses the next request: the target must either
    /// serve `size` bytes from what it holds or throw std::bad_alloc with its
    /// byte count unchanged.
    void out_of_memory(Target& t, std::size_t size, std::uint32_t seed) {
        CheckedBacking* backing = t.backing();
        if (backing == nullptr || entries_.size() >= max_entries) return;
        const std::size_t before = t.allocator().total_allocated_bytes();
        backing->fail_next(1);
        void* p = nullptr;
        try {
            p = t.allocator().allocate_bytes(size, 8);
        } catch (const std::bad_alloc&) {
            backing->fail_next(0);
            ZIGGY_FUZZ_CHECK(t.allocator().total_allocated_bytes() == before,
                             "%s: a failed allocation changed the byte count from %zu to %zu",
                             t.name(), before, t.allocator().total_allocated_bytes());
            return;
        }
        backing->fail_next(0);
        auto e = std::make_unique<Entry>();
        e->data = static_cast<std::uint8_t*>(p);
        e->count = size;
        add(t, std::move(e), size, 8, false, seed);
    }

    /// Standard containers over the target (std::pmr::vector through a
    /// MemoryResource, std::vector through StdAllocator): contents survive
    /// growth, and destroying them gives every byte back.
    void containers(Target& t, std::size_t count, std::uint32_t seed) {
        if (!t.allocator().supports_individual_deallocation()) return;
        const std::size_t before = t.allocator().total_allocated_bytes();
        {
            ziggy::MemoryResource resource(t.allocator());
            std::pmr::vector<std::uint32_t> a(&resource);
            std::vector<std::uint64_t, ziggy::StdAllocator<std::uint64_t>> b{
                ziggy::StdAllocator<std::uint64_t>(t.allocator())};
            for (std::size_t i = 0; i < count; ++i) {
                a.push_back(static_cast<std::uint32_t>(seed + i));
                b.push_back(seed * 3 + i);
            }
            for (std::size_t i = 0; i < count; ++i)
                ZIGGY_FUZZ_CHECK(
                    a[i] == static_cast<std::uint32_t>(seed + i) && b[i] == seed * 3 + i,
                    "%s: container element %zu changed", t.name(), i);
        }
        ZIGGY_FUZZ_CHECK(t.allocator().total_allocated_bytes() == before,
                         "%s: containers left %zu bytes behind", t.name(),
                         t.allocator().total_allocated_bytes() - before);
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
            release(e);
            e.allocator->deallocate_bytes(e.data, e.size, e.alignment);
        }
        e.target->freed(e, before);
        forget(e);
    }

    /// Buffer::release(): the entry stays live, as a raw block.
    void release(Entry& e) {
        if (!e.has_buffer()) return;
        void* p = std::visit(
            [](auto& b) -> void* {
                if constexpr (std::is_same_v<std::decay_t<decltype(b)>, std::monostate>)
                    return nullptr;
                else {
                    void* raw = b.release();
                    ZIGGY_FUZZ_CHECK(b.empty() && !b.valid() && !b.owns_memory(),
                                     "release() left a view");
                    return raw;
                }
            },
            e.buffer);
        ZIGGY_FUZZ_CHECK(p == e.data, "release() returned %p, the buffer's data is %p", p,
                         static_cast<void*>(e.data));
        e.buffer = std::monostate{};
    }

    /// Release, then free the raw pointer: unsized `free` or sized deallocation.
    void raw_free(Entry& e, bool unsized) {
        ziggy::Allocator& a = *e.allocator;
        const std::size_t before = a.total_allocated_bytes();
        release(e);
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

    void fill(Entry& e, std::uint32_t seed) {
        if (!e.has_buffer()) {
            std::memset(e.data, static_cast<int>(seed), e.size);
            std::fill(e.model.begin(), e.model.end(), static_cast<std::uint8_t>(seed));
            return;
        }
        std::visit(
            [&](auto& b) {
                using B = std::decay_t<decltype(b)>;
                if constexpr (!std::is_same_v<B, std::monostate>) {
                    using T = typename B::value_type;
                    const T value = make_value<T>(seed);
                    b.fill(value);
                    for (std::size_t i = 0; i < e.count; ++i)
                        std::memcpy(e.model.data() + i * sizeof(T), &value, sizeof(T));
                }
            },
            e.buffer);
    }

    /// Copies up to `length` elements (typed copy_from when both are buffers of
    /// one type, including its too-long exception; memmove of bytes otherwise).
    void copy(Entry& from, Entry& to, std::size_t length) {
        if (from.has_buffer() && to.has_buffer() && from.buffer.index() == to.buffer.index()) {
            const std::size_t n = std::min(length, from.count);
            bool threw = false;
            std::visit(
                [&](auto& dst) {
                    using B = std::decay_t<decltype(dst)>;
                    if constexpr (!std::is_same_v<B, std::monostate>) {
                        const B& src = std::get<B>(from.buffer);
                        try {
                            dst.copy_from(src.as_read_only_span().first(n));
                        } catch (const std::invalid_argument&) {
                            threw = true;
                        }
                    }
                },
                to.buffer);
            ZIGGY_FUZZ_CHECK(threw == (n > to.count), "copy_from %zu into %zu: %s", n, to.count,
                             threw ? "threw" : "did not throw");
            if (!threw) {
                const std::size_t bytes = n * element_size(to.type);
                std::memmove(to.model.data(), from.model.data(), bytes);
            }
            return;
        }
        const std::size_t n = std::min({length, from.size, to.size});
        std::memmove(to.data, from.data, n);
        std::memmove(to.model.data(), from.model.data(), n);
    }

    /// Moves the Buffer out and back (move construction and assignment).
    void move_buffer(Entry& e) {
        std::visit(
            [&](auto& b) {
                using B = std::decay_t<decltype(b)>;
                if constexpr (!std::is_same_v<B, std::monostate>) {
                    B moved(std::move(b));
                    ZIGGY_FUZZ_CHECK(b.empty() && !b.valid() && !b.owns_memory(),
                                     "a moved-from buffer is not empty");
                    ZIGGY_FUZZ_CHECK(reinterpret_cast<std::uint8_t*>(moved.data()) == e.data,
                                     "move changed the data pointer");
                    B back;
                    back = std::move(moved);
                    b = std::move(back);
                }
            },
            e.buffer);
    }

    /// The allocator contract's edge cases; none may change the byte count.
    void edge_cases(Target& t, std::uint8_t what) {
        ziggy::Allocator& a = t.allocator();
        const std::size_t before = a.total_allocated_bytes();
        switch (what % 5) {
            case 0: {
                bool threw = false;
                try {
                    auto b = a.allocate<std::uint64_t>(std::numeric_limits<std::size_t>::max() / 4);
                } catch (const std::bad_array_new_length&) {
                    threw = true;
                }
                ZIGGY_FUZZ_CHECK(threw, "%s: overflowing count did not throw bad_array_new_length",
                                 t.name());
                break;
            }
            case 1: {
                bool threw = false;
                try {
                    (void)a.allocate_bytes(16, 24);
                } catch (const std::invalid_argument&) {
                    threw = true;
                }
                ZIGGY_FUZZ_CHECK(threw && a.try_allocate_bytes(16, 24) == nullptr,
                                 "%s: alignment 24 was accepted", t.name());
                break;
            }
            case 2:
                ZIGGY_FUZZ_CHECK(
                    a.allocate_bytes(0) == nullptr && a.try_allocate_bytes(0) == nullptr,
                    "%s: a zero-byte request returned memory", t.name());
                break;
            case 3: {
                ZIGGY_FUZZ_CHECK(
                    a.try_allocate_bytes(ziggy::detail::max_object_size + 1) == nullptr,
                    "%s: an impossible size returned memory", t.name());
                bool threw = false;
                try {
                    (void)a.allocate_bytes(std::numeric_limits<std::size_t>::max() - 8);
                } catch (const std::bad_alloc&) {
                    threw = true;
                }
                ZIGGY_FUZZ_CHECK(threw, "%s: an impossible size did not throw bad_alloc", t.name());
                break;
            }
            default:
                a.free(nullptr);
                a.deallocate_bytes(nullptr, 16, 8);
                break;
        }
        ZIGGY_FUZZ_CHECK(a.total_allocated_bytes() == before,
                         "%s: edge case %d changed the byte count from %zu to %zu", t.name(),
                         what % 5, before, a.total_allocated_bytes());
    }

    void check_contents(const Entry& e) const {
        if (e.size != 0 && std::memcmp(e.data, e.model.data(), e.size) != 0) {
            std::size_t i = 0;
            while (e.data[i] == e.model[i]) ++i;
            ZIGGY_FUZZ_CHECK(false, "%s: byte %zu of a %zu-byte block is 0x%02x, expected 0x%02x",
                             e.target->name(), i, e.size, e.data[i], e.model[i]);
        }
    }
    void check_all_contents() const {
        for (const auto& e : entries_) check_contents(*e);
    }
    /// Checks the accounting of every target (`all`), or of those used since
    /// the last check.
    void check_accounting(bool all = true) const {
        for (const auto& t : targets_) {
            if (!all && !t->touched) continue;
            t->check_accounting(*this);
            t->touched = false;
        }
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
            if (e->target == &t && e->level == level) found.push_back(e.get());
        std::sort(found.begin(), found.end(),
                  [](const Entry* a, const Entry* b) { return a->serial > b->serial; });
        return found;
    }

    /// Frees every entry (some through their buffer, some sized, some
    /// unsized), then runs each target's final checks.
    void free_everything(Reader& in) {
        while (!entries_.empty()) {
            Entry& e = *entries_.back();
            if (e.allocator->supports_individual_deallocation() && in.flag())
                raw_free(e, true);
            else
                destroy(e, !in.flag());
        }
        check_accounting();
        for (auto& t : targets_) t->finish(*this);
    }

    /// Records a non-owning buffer whose memory `t` handed out (a deferred
    /// allocation); returns its entry.
    template <class T>
    Entry* adopt_buffer(Target& t, ziggy::Buffer<T>&& b, bool zero, std::uint32_t seed) {
        auto e = std::make_unique<Entry>();
        e->data = reinterpret_cast<std::uint8_t*>(b.data());
        e->count = b.size();
        e->type = type_of<T>();
        e->buffer = std::move(b);
        const std::size_t size = e->count * sizeof(T);
        add(t, std::move(e), size, alignof(T), zero, seed);
        return entries_.back().get();
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
        release(e);
        e.deferred = false;
    }

    /// Drops an entry without freeing it (its allocator freed everything at
    /// once: arena reset). Its Buffer gives up ownership first.
    void abandon(Entry& e) {
        release(e);
        forget(e);
    }

    void forget(Entry& e) {
        e.target->live_bytes -= e.size;
        e.target->touched = true;
        auto it = std::find_if(entries_.begin(), entries_.end(),
                               [&](const auto& p) { return p.get() == &e; });
        std::swap(*it, entries_.back());
        entries_.pop_back();
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
    void add(Target& t, std::unique_ptr<Entry> e, std::size_t size, std::size_t alignment,
             bool zero, std::uint32_t seed) {
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
        e->model.resize(size);
        if (zero) {
            const std::size_t bad = first_nonzero(e->data, size);
            ZIGGY_FUZZ_CHECK(bad == size, "%s: byte %zu of a zeroed %zu-byte block is 0x%02x",
                             t.name(), bad, size, bad < size ? e->data[bad] : 0);
        } else {
            fill_pattern(e->data, seed, size);
            fill_pattern(e->model.data(), seed, size);
        }
        t.live_bytes += size;
        entries_.push_back(std::move(e));
        t.allocated(*entries_.back());
    }

    std::size_t total_live() const noexcept {
        std::size_t n = 0;
        for (const auto& t : targets_) n += t->live_bytes;
        return n;
    }

    Targets& targets_;
    std::vector<std::unique_ptr<Entry>> entries_;
    std::uint64_t serial_ = 0;
};

inline void Target::check_accounting(const Model& model) {
    (void)model;
    const std::size_t actual = allocator().total_allocated_bytes();
    ZIGGY_FUZZ_CHECK(actual == live_bytes, "%s: total_allocated_bytes() is %zu, the model says %zu",
                     name_, actual, live_bytes);
}

} // namespace ziggy_fuzz
