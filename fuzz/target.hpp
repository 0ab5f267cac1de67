// fuzz/target.hpp — one allocator under test (`Target`), the live blocks it
// handed out (`Entry`), and the set of targets a program may use (`Targets`).
//
// A `Target` owns its allocator and knows how that allocator's
// `total_allocated_bytes()` follows the model: by default it is exactly the
// sum of its live blocks (`live_bytes`); targets.hpp overrides that where an
// allocator documents otherwise (nested arenas). Adding an allocator to the
// fuzzer is one `Target` subclass in targets.hpp plus one line in
// `make_targets`; the model (ops_model.hpp) does the rest.
//
// Targets are built lazily: `Targets` holds a factory per allocator and
// builds it the first time the program picks it, so an input pays only for
// the allocators it uses (a pool costs more to build and tear down than most
// programs take to run).
//
//     Targets targets;
//     targets.add<SystemTarget>(config);
//     Target& t = targets.get(1 % targets.size());   // built here
#pragma once

#include "element_types.hpp"

#include <ziggy/allocator.hpp>

#include <memory>
#include <type_traits>
#include <vector>

namespace ziggy_fuzz {

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
    virtual void check_accounting(const Model& model) {
        (void)model;
        const std::size_t actual = allocator().total_allocated_bytes();
        ZIGGY_FUZZ_CHECK(actual == live_bytes,
                         "%s: total_allocated_bytes() is %zu, the model says %zu", name_, actual,
                         live_bytes);
    }
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

/// The allocators a program may use, each built on first use (see the file
/// comment). Indexes are fixed when the set is made, so an input decodes the
/// same whichever targets it happens to build.
class Targets {
public:
    Targets() = default;
    Targets(Targets&&) noexcept = default;
    Targets& operator=(Targets&&) noexcept = default;
    Targets(const Targets&) = delete;
    Targets& operator=(const Targets&) = delete;
    /// Destroys the targets in the reverse of the order they were built: a
    /// pool gives its TLS slot back onto a stack of free slots, so the next
    /// input's pools then take the slots they would take in a process of
    /// their own (a found input replays alike).
    ~Targets() {
        for (auto i = built_.rbegin(); i != built_.rend(); ++i) slots_[*i].target.reset();
    }

    /// Adds a target built as `T(config)` (or `T()` when T takes no
    /// configuration) the first time `get` asks for it.
    template <class T>
    void add(std::uint8_t config) {
        slots_.push_back(Slot{&build<T>, config, nullptr});
    }

    [[nodiscard]] std::size_t size() const noexcept { return slots_.size(); }
    /// Target `i` (< size()), built now if it was not yet.
    Target& get(std::size_t i) {
        Slot& s = slots_[i];
        if (!s.target) {
            built_.reserve(slots_.size());
            s.target = s.make(s.config);
            built_.push_back(i);
        }
        return *s.target;
    }
    /// Calls `f(Target&)` for every target built so far, in index order.
    template <class F>
    void for_each_built(F&& f) const {
        for (const Slot& s : slots_)
            if (s.target) f(*s.target);
    }

private:
    struct Slot {
        std::unique_ptr<Target> (*make)(std::uint8_t config);
        std::uint8_t config;
        std::unique_ptr<Target> target;
    };
    template <class T>
    static std::unique_ptr<Target> build(std::uint8_t config) {
        if constexpr (std::is_constructible_v<T, std::uint8_t>)
            return std::make_unique<T>(config);
        else
            return std::make_unique<T>();
    }

    std::vector<Slot> slots_;
    std::vector<std::size_t> built_; // indexes into slots_, in the order built
};

} // namespace ziggy_fuzz
