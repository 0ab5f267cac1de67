// ziggy/unmanaged.hpp — the element types ziggyalloc hands out memory for.
//
// `Unmanaged` is C#'s `unmanaged` constraint in C++ terms: an object type whose
// bytes are its value (trivially copyable) and that needs no destructor call.
// Memory for such types can be handed out, copied, filled and dropped without
// running constructors or destructors, which is what every allocator here does.
//
//     static_assert(ziggy::Unmanaged<int>);
//     static_assert(!ziggy::Unmanaged<std::string>);   // allocate<std::string> won't compile
#pragma once

#include <type_traits>

namespace ziggy {

template <class T>
concept Unmanaged = std::is_object_v<T> && !std::is_array_v<T> && std::is_trivially_copyable_v<T> &&
                    std::is_trivially_destructible_v<T>;

} // namespace ziggy
