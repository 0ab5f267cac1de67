// tests/debug_test_support.hpp — helpers shared by the DebugAllocator test files.
//
// Guard and quarantine bytes are poisoned in the sanitized variant, so tests of
// the allocator's own checks write them through `poke`, which unpoisons the
// byte first; the sanitized-only tests prove ASan itself stops a raw write.
#pragma once

#include <ziggy/debug_allocator.hpp>
#include <ziggy/detail/sanitizer.hpp>

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace ziggy_test {

// Writes one byte the allocator guards, bypassing ASan's poison.
inline void poke(void* base, std::ptrdiff_t offset, unsigned char value = 0) {
    auto* p = static_cast<unsigned char*>(base) + offset;
    ziggy::detail::unpoison(p, 1);
    *p = value;
}

// Collects log lines and structured reports.
struct Capture {
    std::shared_ptr<std::vector<std::string>> lines = std::make_shared<std::vector<std::string>>();
    std::shared_ptr<std::vector<ziggy::DebugReport>> reports =
        std::make_shared<std::vector<ziggy::DebugReport>>();

    ziggy::DebugOptions options(ziggy::ErrorReaction reaction = ziggy::ErrorReaction::log) const {
        ziggy::DebugOptions o;
        o.reaction = reaction;
        o.log_sink = [l = lines](std::string_view s) { l->emplace_back(s); };
        o.on_error = [r = reports](const ziggy::DebugReport& rep) { r->push_back(rep); };
        return o;
    }
    bool logged(const std::string& needle) const {
        for (const auto& l : *lines)
            if (l.find(needle) != std::string::npos) return true;
        return false;
    }
};

// "file:line", as reports print a call site.
inline std::string site_text(const char* file, int line) {
    return std::string(file) + ":" + std::to_string(line);
}

} // namespace ziggy_test
