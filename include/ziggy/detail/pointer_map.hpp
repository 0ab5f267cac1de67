// ziggy/detail/pointer_map.hpp — an open-addressing map from a pointer to a small record.
//
// Allocators that must recognise their own pointers (a debug allocator telling
// a live block from a foreign or double-freed one) need a lookup that never
// touches the memory the pointer designates and does not allocate a node per
// block. This is a linear-probing table of (pointer, value) slots, at most half
// full, with backward-shift deletion (no tombstones), so a lookup is a hash and
// a short scan. Not thread-safe: callers hold their own lock.
//
//     detail::PointerMap<Record> live;
//     live.insert(p, Record{...});          // may throw std::bad_alloc (growth)
//     if (Record* r = live.find(p)) ...
//     live.erase(p);
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace ziggy::detail {

template <class V>
class PointerMap {
public:
    struct Slot {
        const void* key = nullptr; // nullptr marks an empty slot
        V value{};
    };

    [[nodiscard]] std::size_t size() const noexcept { return size_; }
    [[nodiscard]] bool empty() const noexcept { return size_ == 0; }

    /// The value stored for `key`, or nullptr. `key` is never dereferenced.
    [[nodiscard]] V* find(const void* key) noexcept {
        if (slots_.empty() || key == nullptr) return nullptr;
        for (std::size_t i = home(key);; i = next(i)) {
            Slot& s = slots_[i];
            if (s.key == key) return &s.value;
            if (s.key == nullptr) return nullptr;
        }
    }

    [[nodiscard]] const V* find(const void* key) const noexcept {
        return const_cast<PointerMap*>(this)->find(key);
    }

    /// Stores `value` for `key` (non-null, not yet present). Throws
    /// std::bad_alloc if the table must grow and cannot; the map is unchanged then.
    void insert(const void* key, const V& value) {
        if ((size_ + 1) * 2 > slots_.size()) [[unlikely]]
            grow();
        std::size_t i = home(key);
        while (slots_[i].key != nullptr) i = next(i);
        slots_[i] = Slot{key, value};
        ++size_;
    }

    /// Removes `key` and returns true, or returns false if it is absent.
    bool erase(const void* key) noexcept {
        if (slots_.empty() || key == nullptr) return false;
        std::size_t i = home(key);
        while (slots_[i].key != key) {
            if (slots_[i].key == nullptr) return false;
            i = next(i);
        }
        // Backward shift: pull later members of the probe run into the hole
        // when their home position allows it, so no tombstone is needed.
        for (std::size_t j = next(i);; j = next(j)) {
            if (slots_[j].key == nullptr) break;
            const std::size_t h = home(slots_[j].key);
            const bool movable = (i <= j) ? (h <= i || h > j) : (h <= i && h > j);
            if (movable) {
                slots_[i] = slots_[j];
                i = j;
            }
        }
        slots_[i] = Slot{};
        --size_;
        return true;
    }

    /// Calls `f(key, value)` for every entry, in no particular order.
    template <class F>
    void for_each(F&& f) {
        for (Slot& s : slots_)
            if (s.key != nullptr) f(s.key, s.value);
    }
    template <class F>
    void for_each(F&& f) const {
        for (const Slot& s : slots_)
            if (s.key != nullptr) f(s.key, s.value);
    }

    void clear() noexcept {
        for (Slot& s : slots_) s = Slot{};
        size_ = 0;
    }

private:
    [[nodiscard]] std::size_t home(const void* key) const noexcept {
        // Fibonacci hashing of the address; the low bits are alignment zeros,
        // the multiply spreads the rest over the high bits we keep.
        const auto v = static_cast<std::uint64_t>(reinterpret_cast<std::uintptr_t>(key));
        return static_cast<std::size_t>((v * 0x9E3779B97F4A7C15ull) >> shift_);
    }
    [[nodiscard]] std::size_t next(std::size_t i) const noexcept {
        return (i + 1) & (slots_.size() - 1);
    }

    [[gnu::noinline]] void grow() {
        const std::size_t capacity = slots_.empty() ? 64 : slots_.size() * 2;
        std::vector<Slot> old(capacity); // throws before anything changes
        old.swap(slots_);
        shift_ = 64 - static_cast<unsigned>(__builtin_ctzll(capacity));
        size_ = 0;
        for (Slot& s : old)
            if (s.key != nullptr) insert(s.key, s.value);
    }

    std::vector<Slot> slots_;
    std::size_t size_ = 0;
    unsigned shift_ = 64;
};

} // namespace ziggy::detail
