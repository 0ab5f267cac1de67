// Built twice by the consumer project (against ziggyalloc and
// ziggyalloc-sanitized), and against the installed library by
// scripts/dev.sh's install check (pkg-config and CMake, both variants).
#include <ziggy/ziggy.hpp>

#include <array>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <span>

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
    // Blocks this program's inline frees return (and, built with ASan,
    // poison), which the library's bulk allocation hands out again: with
    // ASan on both sides they come back writable.
    std::array<void*, 32> blocks{};
    for (auto& p : blocks) {
        p = pool.allocate_bytes(64, 8);
    }
    for (void* p : blocks) {
        pool.deallocate_bytes(p, 64, 8);
    }
    pool.allocate_bulk(std::span<void*>(blocks), 64, 8);
    for (void* p : blocks) {
        std::memset(p, 0x5a, 64);
    }
    pool.deallocate_bulk(std::span<void* const>(blocks), 64, 8);
    const bool ok = sum == 5050 && sys.total_allocated_bytes() == 0 && pool_ok &&
                    pool.total_allocated_bytes() == 0;
    const char* variant = ziggy::detail::asan_enabled ? "sanitized" : "release";
    std::printf("consumer (%s): sum %d, live bytes %zu, pool %s: %s\n", variant, sum,
                sys.total_allocated_bytes(), pool_ok ? "ok" : "WRONG", ok ? "ok" : "WRONG");
    return ok ? 0 : 1;
}
