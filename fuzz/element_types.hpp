// fuzz/element_types.hpp — the element types the ops programs allocate, and how
// a decoded type byte becomes a `ziggy::Buffer<T>` of the right T.
//
// Each size and alignment class a user meets is here, including an odd-sized
// (3-byte) one and an over-aligned (64-byte) one. `with_type` turns the runtime
// `ElementType` into a compile-time T, so one generic lambda serves every type:
//
//     const std::size_t bytes = with_type(ElementType::odd, [](auto v) {
//         return sizeof(typename decltype(v)::type) * 10;   // 30
//     });
#pragma once

#include "fuzz_support.hpp"

#include <ziggy/buffer.hpp>

#include <cstring>
#include <type_traits>
#include <variant>

namespace ziggy_fuzz {

struct Odd {
    std::uint8_t b[3];
};
struct alignas(64) Line {
    std::uint8_t b[64];
};

enum class ElementType : std::uint8_t { u8, u16, u32, u64, odd, line };
inline constexpr unsigned element_type_count = 6;

/// A live typed buffer of any element type (monostate: none, e.g. released).
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

/// The value whose bytes are the first sizeof(T) bytes of fill `seed`.
template <class T>
T make_value(std::uint32_t seed) {
    T v;
    std::memcpy(reinterpret_cast<unsigned char*>(&v), pattern(seed), sizeof(T));
    return v;
}

} // namespace ziggy_fuzz
