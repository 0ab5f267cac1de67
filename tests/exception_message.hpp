// tests/exception_message.hpp — the message of the exception a call throws.
#pragma once

#include <string>

namespace ziggy_test {

/// What `f()` throws as an `E`, or "(no exception)" when it returns.
template <class E, class F>
std::string message_of(F&& f) {
    try {
        f();
    } catch (const E& e) {
        return e.what();
    }
    return "(no exception)";
}

} // namespace ziggy_test
