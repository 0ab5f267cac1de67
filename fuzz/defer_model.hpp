// fuzz/defer_model.hpp — DeferScopes under the ops model.
//
// A stack of DeferScopes; the innermost receives new actions: logging ones
// (small, stored inline, or large, stored on the heap), throwing ones, nested
// ones (which register another action while they run), and deferred
// allocations from any target (`allocate_deferred`, `allocate_single_deferred`).
// Running a scope (`run()`, or closing it) must run every pending action
// exactly once, last registered first, an action registered while running
// right after the action that registered it; `run()` rethrows the first
// exception (and only if an action threw), the destructor swallows it; the
// memory of deferred allocations is back with its allocator afterwards.
// `cancel()` drops the actions: deferred allocations then belong to the caller.
#pragma once

#include "ops_model.hpp"

#include <ziggy/defer_scope.hpp>

#include <array>
#include <memory>
#include <vector>

namespace ziggy_fuzz {

class Defers {
public:
    static constexpr std::size_t max_levels = 4;
    static constexpr std::size_t max_pending = 40;

    /// One DeferScope operation, chosen by `what`.
    void apply(std::uint8_t what, Reader& in, Model& model) {
        switch (what % 7) {
            case 0:
                open();
                break;
            case 1:
                push(in.u8());
                break;
            case 2:
                allocate(in, model);
                break;
            case 3:
                run(model, /*close=*/false);
                break;
            case 4:
                run(model, /*close=*/true);
                break;
            case 5:
                cancel(model);
                break;
            default:
                move_scope();
                break;
        }
    }

    /// Closes every scope, innermost first (before the allocators go away).
    void close_all(Model& model) {
        while (!levels_.empty()) run(model, true);
    }

    [[nodiscard]] int depth() const noexcept { return static_cast<int>(levels_.size()); }

private:
    struct Thrown {
        int id;
    };
    enum class Kind { log, heap, throws, nested, allocation };
    struct Action {
        Kind kind;
        int id;
        std::uint64_t entry = 0; // allocation: the entry's serial
    };
    struct Level {
        std::unique_ptr<ziggy::DeferScope> scope = std::make_unique<ziggy::DeferScope>();
        std::vector<Action> pending;
        bool has_nested = false;
    };

    void open() {
        if (levels_.size() < max_levels) levels_.push_back(std::make_unique<Level>());
    }

    Level* innermost() {
        if (levels_.empty()) open();
        Level* l = levels_.back().get();
        return l->pending.size() < max_pending ? l : nullptr;
    }

    void push(std::uint8_t how) {
        Level* l = innermost();
        if (l == nullptr) return;
        const int id = next_id_++;
        std::vector<int>* log = &log_;
        const auto kind = static_cast<Kind>(how % 4);
        switch (kind) {
            case Kind::log:
                l->scope->defer([log, id] { log->push_back(id); });
                break;
            case Kind::heap: {
                // Larger than the inline capture: stored on the heap.
                std::array<std::uint64_t, 6> pad{};
                l->scope->defer([log, id, pad] { log->push_back(id + static_cast<int>(pad[5])); });
                break;
            }
            case Kind::throws:
                l->scope->defer([log, id] {
                    log->push_back(id);
                    throw Thrown{id};
                });
                break;
            default: {
                ziggy::DeferScope* scope = l->scope.get();
                l->scope->defer([log, id, scope] {
                    log->push_back(id);
                    scope->defer([log, id] { log->push_back(-id); });
                });
                l->has_nested = true;
                break;
            }
        }
        l->pending.push_back(Action{kind, id});
        check_count(*l);
    }

    void allocate(Reader& in, Model& model) {
        Level* l = innermost();
        Target& t = model.pick_target(in);
        const auto type = static_cast<ElementType>(in.u8() % element_type_count);
        const bool single = in.flag();
        const std::size_t count = single ? 1 : in.range(0, 2048 / element_size(type));
        const bool zero = in.flag();
        const std::uint8_t seed = in.u8();
        if (l == nullptr || !model.has_room(count * element_size(type))) return;
        ziggy::Allocator& a = t.allocator();
        ziggy::DeferScope& scope = *l->scope;
        Entry* e = with_type(type, [&](auto v) -> Entry* {
            using T = typename decltype(v)::type;
            ziggy::Buffer<T> b = single ? ziggy::allocate_single_deferred<T>(a, scope, zero)
                                        : ziggy::allocate_deferred<T>(a, scope, count, zero);
            ZIGGY_FUZZ_CHECK(!b.owns_memory() && b.size() == count,
                             "allocate_deferred: %zu elements, owns_memory %d", b.size(),
                             b.owns_memory());
            if (count == 0) return nullptr;
            return model.adopt_buffer(t, std::move(b), zero, seed);
        });
        if (e == nullptr) return;
        e->deferred = true;
        l->pending.push_back(Action{Kind::allocation, 0, e->serial});
        check_count(*l);
    }

    // Runs the innermost scope (run(), or its destructor when closing).
    void run(Model& model, bool close) {
        if (levels_.empty()) return;
        Level& l = *levels_.back();
        std::vector<int> expected;
        int first_throw = 0;
        for (auto it = l.pending.rbegin(); it != l.pending.rend(); ++it) {
            if (it->kind == Kind::allocation) continue;
            expected.push_back(it->id);
            if (it->kind == Kind::nested) expected.push_back(-it->id);
            if (it->kind == Kind::throws && first_throw == 0) first_throw = it->id;
        }
        log_.clear();
        int thrown = 0;
        if (close) {
            l.scope.reset();
        } else {
            try {
                l.scope->run();
            } catch (const Thrown& t) {
                thrown = t.id;
            }
            ZIGGY_FUZZ_CHECK(thrown == first_throw,
                             "DeferScope::run() rethrew action %d, the first to throw was %d",
                             thrown, first_throw);
            ZIGGY_FUZZ_CHECK(l.scope->count() == 0 && l.scope->empty(),
                             "DeferScope::run() left %zu actions", l.scope->count());
        }
        ZIGGY_FUZZ_CHECK(log_ == expected,
                         "DeferScope ran %zu actions (first %d), expected %zu (first %d)",
                         log_.size(), log_.empty() ? 0 : log_[0], expected.size(),
                         expected.empty() ? 0 : expected[0]);
        for (const Action& a : l.pending)
            if (a.kind == Kind::allocation) model.freed_elsewhere(a.entry);
        l.pending.clear();
        l.has_nested = false;
        if (close) levels_.pop_back();
    }

    // cancel(): nothing runs; deferred allocations become the model's to free.
    void cancel(Model& model) {
        if (levels_.empty()) return;
        Level& l = *levels_.back();
        log_.clear();
        l.scope->cancel();
        ZIGGY_FUZZ_CHECK(log_.empty() && l.scope->count() == 0, "cancel() ran or kept actions");
        for (const Action& a : l.pending)
            if (a.kind == Kind::allocation) model.undefer(a.entry);
        l.pending.clear();
        l.has_nested = false;
    }

    // Moves the innermost scope into a new object (nested actions hold a
    // pointer to their scope, so scopes holding them stay where they are).
    void move_scope() {
        if (levels_.empty() || levels_.back()->has_nested) return;
        Level& l = *levels_.back();
        auto moved = std::make_unique<ziggy::DeferScope>(std::move(*l.scope));
        ZIGGY_FUZZ_CHECK(l.scope->count() == 0 && moved->count() == l.pending.size(),
                         "a moved DeferScope has %zu actions, the moved-from one %zu",
                         moved->count(), l.scope->count());
        l.scope = std::move(moved);
    }

    void check_count(const Level& l) const {
        ZIGGY_FUZZ_CHECK(l.scope->count() == l.pending.size(), "DeferScope::count() %zu, model %zu",
                         l.scope->count(), l.pending.size());
    }

    std::vector<std::unique_ptr<Level>> levels_;
    std::vector<int> log_;
    int next_id_ = 1;
};

} // namespace ziggy_fuzz
