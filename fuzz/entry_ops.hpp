// fuzz/entry_ops.hpp — what an ops program does to a live block or to an
// allocator without changing which blocks are live: write, fill, copy and move
// buffers (the model's copy of the contents follows along), release a Buffer
// into a raw block, and the allocator contract's edge cases and standard
// containers (each of which must leave the byte count as it was).
//
// Each function keeps `Entry::model` equal to what the block must contain;
// `check_contents` compares the two.
//
//     fill(e, 7);           // Buffer<T>::fill with make_value<T>(7), model too
//     check_contents(e);    // traps with the first differing byte
#pragma once

#include "target.hpp"

#include <ziggy/errors.hpp>
#include <ziggy/memory_resource.hpp>
#include <ziggy/std_allocator.hpp>

#include <algorithm>
#include <cstring>
#include <limits>
#include <memory_resource>
#include <new>
#include <stdexcept>
#include <type_traits>
#include <utility>
#include <variant>
#include <vector>

namespace ziggy_fuzz {

/// Checks that the block holds exactly what the model says.
inline void check_contents(const Entry& e) {
    if (e.size != 0 && std::memcmp(e.data, e.model.data(), e.size) != 0) {
        std::size_t i = 0;
        while (e.data[i] == e.model[i]) ++i;
        ZIGGY_FUZZ_CHECK(false, "%s: byte %zu of a %zu-byte block is 0x%02x, expected 0x%02x",
                         e.target->name(), i, e.size, e.data[i], e.model[i]);
    }
}

/// Buffer::release(): the entry stays live, as a raw block.
inline void release_buffer(Entry& e) {
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

/// Writes `length` bytes of fill `seed` at `offset` (raw bytes, buffer or not).
inline void write_bytes(Entry& e, std::size_t offset, std::size_t length, std::uint32_t seed) {
    fill_pattern(e.data + offset, seed, length);
    fill_pattern(e.model.data() + offset, seed, length);
}

/// Buffer<T>::fill with make_value<T>(seed); memset for raw blocks.
inline void fill(Entry& e, std::uint32_t seed) {
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
inline void copy(Entry& from, Entry& to, std::size_t length) {
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
        if (!threw) std::memmove(to.model.data(), from.model.data(), n * element_size(to.type));
        return;
    }
    const std::size_t n = std::min({length, from.size, to.size});
    std::memmove(to.data, from.data, n);
    std::memmove(to.model.data(), from.model.data(), n);
}

/// Moves the Buffer out and back (move construction and assignment).
inline void move_buffer(Entry& e) {
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
inline void edge_cases(Target& t, std::uint8_t what) {
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
            ZIGGY_FUZZ_CHECK(a.allocate_bytes(0) == nullptr && a.try_allocate_bytes(0) == nullptr,
                             "%s: a zero-byte request returned memory", t.name());
            break;
        case 3: {
            ZIGGY_FUZZ_CHECK(a.try_allocate_bytes(ziggy::detail::max_object_size + 1) == nullptr,
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
                     "%s: edge case %d changed the byte count from %zu to %zu", t.name(), what % 5,
                     before, a.total_allocated_bytes());
}

/// A standard container over the target (`seed` picks a std::pmr::vector
/// through a MemoryResource or a std::vector through StdAllocator): contents
/// survive growth, and destroying it gives every byte back.
inline void containers(Target& t, std::size_t count, std::uint32_t seed) {
    if (!t.allocator().supports_individual_deallocation()) return;
    const std::size_t before = t.allocator().total_allocated_bytes();
    const auto grow_and_check = [&](auto& v) {
        for (std::size_t i = 0; i < count; ++i) v.push_back(seed * 3 + i);
        for (std::size_t i = 0; i < count; ++i)
            ZIGGY_FUZZ_CHECK(
                v[i] == static_cast<typename std::decay_t<decltype(v)>::value_type>(seed * 3 + i),
                "%s: container element %zu changed", t.name(), i);
    };
    if ((seed & 1) != 0) {
        ziggy::MemoryResource resource(t.allocator());
        std::pmr::vector<std::uint32_t> v(&resource);
        grow_and_check(v);
    } else {
        std::vector<std::uint64_t, ziggy::StdAllocator<std::uint64_t>> v{
            ziggy::StdAllocator<std::uint64_t>(t.allocator())};
        grow_and_check(v);
    }
    ZIGGY_FUZZ_CHECK(t.allocator().total_allocated_bytes() == before,
                     "%s: a container left %zu bytes behind", t.name(),
                     t.allocator().total_allocated_bytes() - before);
}

} // namespace ziggy_fuzz
