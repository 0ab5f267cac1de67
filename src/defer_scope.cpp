// Out-of-line parts of DeferScope: running, growing and moving the action array.
#include <ziggy/defer_scope.hpp>

#include <exception>
#include <new>

namespace ziggy {

void DeferScope::run() {
    std::exception_ptr first;
    while (count_ > 0) {
        Slot& slot = slots_[--count_];
        try {
            slot.manage(Op::run, slot, nullptr);
        } catch (...) {
            if (!first) first = std::current_exception();
        }
    }
    if (first) std::rethrow_exception(first);
}

void DeferScope::run_all_noexcept() noexcept {
    while (count_ > 0) {
        Slot& slot = slots_[--count_];
        try {
            slot.manage(Op::run, slot, nullptr);
        } catch (...) {
            // Destructors must not throw; run() is how a caller observes failures.
        }
    }
}

void DeferScope::cancel() noexcept {
    while (count_ > 0) {
        Slot& slot = slots_[--count_];
        slot.manage(Op::destroy, slot, nullptr);
    }
}

DeferScope::Slot* DeferScope::grow() {
    const std::size_t capacity = capacity_ * 2;
    auto* bigger = static_cast<Slot*>(::operator new(capacity * sizeof(Slot)));
    for (std::size_t i = 0; i < count_; ++i) slots_[i].manage(Op::relocate, slots_[i], &bigger[i]);
    release_storage();
    slots_ = bigger;
    capacity_ = capacity;
    return &slots_[count_];
}

void DeferScope::release_storage() noexcept {
    if (slots_ != inline_slots_) ::operator delete(slots_);
    slots_ = inline_slots_;
    capacity_ = inline_actions;
}

void DeferScope::take(DeferScope& other) noexcept {
    if (other.slots_ != other.inline_slots_) {
        slots_ = other.slots_;
        capacity_ = other.capacity_;
    } else {
        for (std::size_t i = 0; i < other.count_; ++i)
            other.slots_[i].manage(Op::relocate, other.slots_[i], &inline_slots_[i]);
    }
    count_ = other.count_;
    other.slots_ = other.inline_slots_;
    other.capacity_ = inline_actions;
    other.count_ = 0;
}

} // namespace ziggy
