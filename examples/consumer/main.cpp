// Built twice by the consumer project: against ziggyalloc and ziggyalloc-sanitized.
#include <ziggy/ziggy.hpp>

#include <cstdio>
#include <numeric>

int main() {
    ziggy::SystemAllocator sys;
    int sum = 0;
    {
        auto xs = sys.allocate<int>(100, /*zero_memory=*/true);
        std::iota(xs.begin(), xs.end(), 1);
        sum = std::accumulate(xs.begin(), xs.end(), 0);
    }
    const bool ok = sum == 5050 && sys.total_allocated_bytes() == 0;
#if defined(__SANITIZE_ADDRESS__)
    const char* variant = "sanitized";
#else
    const char* variant = "release";
#endif
    std::printf("consumer (%s): sum %d, live bytes %zu: %s\n", variant, sum,
                sys.total_allocated_bytes(), ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
