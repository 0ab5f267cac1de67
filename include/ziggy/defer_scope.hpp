// ziggy/defer_scope.hpp — DeferScope: Zig's `defer` for C++, plus deferred allocation.
//
// A DeferScope collects cleanup actions and runs them in reverse order when it
// ends (or on `run()`). Pair each acquisition with its release on the next
// line, the way Zig writes `defer`:
//
//     ziggy::DeferScope defer;
//     FILE* f = std::fopen(path, "rb");
//     defer.defer([f] { std::fclose(f); });
//     auto tmp = ziggy::allocate_deferred<float>(alloc, defer, 4096);  // freed by the scope
//     ...                                            // tmp, then f, released here
//
// Guarantees:
// - Actions run last-registered first; every action runs even if another throws.
// - `run()` rethrows the first exception after all actions ran. The destructor
//   is noexcept and swallows exceptions (also while the stack unwinds): call
//   `run()` where a failing cleanup must be observed.
// - Actions whose callable fits in `inline_capture_bytes` (4 pointers) and is
//   nothrow-movable are stored without a heap allocation, up to
//   `inline_actions` of them; beyond that the scope grows an array on the heap.
// - If registering an action fails (std::bad_alloc while growing), the action is
//   run at once and the exception propagates: nothing registered is leaked.
//
// Declare the scope after the allocators its actions use, so it ends first.
#pragma once

#include <cstddef>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include <ziggy/allocator.hpp>
#include <ziggy/buffer.hpp>
#include <ziggy/detail/alignment.hpp>

namespace ziggy {

/// A callable a DeferScope accepts: invocable with no arguments (as passed and
/// as the stored rvalue), returning void, and movable into the scope.
template <class F>
concept DeferAction = std::is_invocable_v<F> && std::is_invocable_v<std::decay_t<F>> &&
    std::is_void_v<std::invoke_result_t<std::decay_t<F>>> &&
    std::is_constructible_v<std::decay_t<F>, F>;

class [[nodiscard]] DeferScope final {
public:
    /// Captures of up to this many bytes are stored inline (no heap).
    static constexpr std::size_t inline_capture_bytes = 4 * sizeof(void*);
    /// Actions stored inside the scope object before it grows on the heap.
    static constexpr std::size_t inline_actions = 8;

    // The slots are raw storage: defer() writes each one before it is read.
    DeferScope() noexcept {} // NOLINT(cppcoreguidelines-pro-type-member-init)

    /// Takes over `other`'s pending actions; `other` becomes empty.
    DeferScope(DeferScope&& other) noexcept { // NOLINT(cppcoreguidelines-pro-type-member-init)
        take(other);
    }

    /// Runs this scope's pending actions (swallowing exceptions, as the
    /// destructor does), then takes over `other`'s.
    DeferScope& operator=(DeferScope&& other) noexcept {
        if (this != &other) {
            run_all_noexcept();
            release_storage();
            take(other);
        }
        return *this;
    }

    DeferScope(const DeferScope&) = delete;
    DeferScope& operator=(const DeferScope&) = delete;

    /// Runs every pending action in reverse order; exceptions are swallowed.
    ~DeferScope() {
        run_all_noexcept();
        release_storage();
    }

    /// Registers `action` to run when the scope ends. If registering fails
    /// (std::bad_alloc, or a throwing copy/move of the callable) the action runs
    /// immediately, its own exception is swallowed, and the registration error
    /// propagates.
    template <DeferAction F>
    void defer(F&& action) {
        using Fn = std::decay_t<F>;
        Slot* slot = nullptr;
        try {
            slot = count_ < capacity_ ? &slots_[count_] : grow();
            if constexpr (fits_inline<Fn>) {
                ::new (static_cast<void*>(slot->storage)) Fn(std::forward<F>(action));
                slot->manage = &manage_inline<Fn>;
            } else {
                *reinterpret_cast<Fn**>(slot->storage) = new Fn(std::forward<F>(action));
                slot->manage = &manage_heap<Fn>;
            }
        } catch (...) {
            try {
                std::forward<F>(action)();
            } catch (...) {
            }
            throw;
        }
        ++count_;
    }

    /// Pending actions.
    [[nodiscard]] std::size_t count() const noexcept { return count_; }
    [[nodiscard]] bool empty() const noexcept { return count_ == 0; }

    /// Runs every pending action now, last registered first; the scope is then
    /// empty and reusable. Every action runs even if some throw; the first
    /// exception is rethrown afterwards. Actions registered by a running action
    /// run in the same call.
    void run();

    /// Drops every pending action without running it (Zig's errdefer pattern:
    /// cancel the cleanup once the work has succeeded).
    void cancel() noexcept;

private:
    enum class Op { run, destroy, relocate };

    struct Slot {
        // run: take the callable out of the slot, invoke it, destroy it (also
        // when it throws); relocate: move into `to`, destroy the source.
        void (*manage)(Op op, Slot& self, Slot* to);
        alignas(void*) unsigned char storage[inline_capture_bytes];
    };

    template <class Fn>
    static constexpr bool fits_inline =
        sizeof(Fn) <= inline_capture_bytes &&
        alignof(Fn) <= alignof(void*) && std::is_nothrow_move_constructible_v<Fn>;

    template <class Fn>
    static void manage_inline(Op op, Slot& self, Slot* to) {
        Fn& fn = *std::launder(reinterpret_cast<Fn*>(self.storage));
        if (op == Op::run) {
            // Move out first: the slot is free before the action runs, so an
            // action may register new ones (which may move the slot array).
            Fn local(std::move(fn));
            fn.~Fn();
            std::move(local)();
        } else if (op == Op::relocate) {
            ::new (static_cast<void*>(to->storage)) Fn(std::move(fn));
            to->manage = self.manage;
            fn.~Fn();
        } else {
            fn.~Fn();
        }
    }

    template <class Fn>
    static void manage_heap(Op op, Slot& self, Slot* to) {
        Fn* fn = *reinterpret_cast<Fn**>(self.storage);
        if (op == Op::run) {
            const std::unique_ptr<Fn> owner(fn);
            std::move (*owner)();
        } else if (op == Op::relocate) {
            *to = self;
        } else {
            delete fn;
        }
    }

    Slot* grow(); // makes room for one more slot; throws std::bad_alloc
    void take(DeferScope& other) noexcept;
    void run_all_noexcept() noexcept;
    void release_storage() noexcept;

    Slot inline_slots_[inline_actions];
    Slot* slots_ = inline_slots_;
    std::size_t count_ = 0;
    std::size_t capacity_ = inline_actions;
};

/// Allocates `count` elements of T from `allocator` (as `allocate<T>`, with the
/// caller's file, line and function) and registers their release on `scope`.
/// Returns a non-owning buffer: its memory is freed (sized deallocation) when
/// the scope runs, not when the buffer is destroyed. `count == 0` returns an
/// empty buffer and registers nothing. Throws std::bad_array_new_length on size
/// overflow and std::bad_alloc on exhaustion; if registering the release fails,
/// the memory is freed before the exception propagates.
template <Unmanaged T>
[[nodiscard]] Buffer<T> allocate_deferred(Allocator& allocator, DeferScope& scope,
                                          std::size_t count, bool zero_memory = false,
                                          const char* file = __builtin_FILE(),
                                          int line = __builtin_LINE(),
                                          const char* function = __builtin_FUNCTION()) {
    if (count == 0) return Buffer<T>();
    const std::size_t bytes = detail::array_bytes<T>(count);
    void* p =
        allocator.allocate_bytes(bytes, alignof(T), zero_memory, CallSite{file, line, function});
    scope.defer([&allocator, p, bytes] { allocator.deallocate_bytes(p, bytes, alignof(T)); });
    return wrap_existing(static_cast<T*>(p), count);
}

/// One element of T, as `allocate_deferred<T>(allocator, scope, 1, zero_memory)`.
template <Unmanaged T>
[[nodiscard]] Buffer<T> allocate_single_deferred(Allocator& allocator, DeferScope& scope,
                                                 bool zero_memory = false,
                                                 const char* file = __builtin_FILE(),
                                                 int line = __builtin_LINE(),
                                                 const char* function = __builtin_FUNCTION()) {
    return allocate_deferred<T>(allocator, scope, 1, zero_memory, file, line, function);
}

} // namespace ziggy
