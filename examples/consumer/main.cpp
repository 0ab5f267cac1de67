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
    // A pool's fast paths run in this program, its slow paths and statistics
    // in the library: they agree on where a thread's hot slots and counters
    // are (the library's pool_tls_front option reaches this compile).
    ziggy::UnmanagedMemoryPool pool;
    for (int i = 0; i < 3; ++i) {
        auto b = pool.allocate<int>(16);
        b[15] = i;
    }
    const bool pool_ok = pool.statistics().hits == 2 && pool.statistics().misses == 1 &&
                         pool.total_allocated_bytes() == 0;
    const bool ok = sum == 5050 && sys.total_allocated_bytes() == 0 && pool_ok;
#if defined(__SANITIZE_ADDRESS__)
    const char* variant = "sanitized";
#else
    const char* variant = "release";
#endif
    std::printf("consumer (%s): sum %d, live bytes %zu, pool %s: %s\n", variant, sum,
                sys.total_allocated_bytes(), pool_ok ? "ok" : "WRONG", ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
