// Tour section: UnmanagedMemoryPool (reuse, statistics, bulk calls) and HybridAllocator
// (routing decisions). Called from tour.cpp's main as tour_pool().
#include <ziggy/ziggy.hpp>

#include <cstdint>
#include <cstdio>
#include <vector>

void tour_pool() {
    std::puts("-- UnmanagedMemoryPool: freed blocks are reused by size class");
    ziggy::SystemAllocator base; // a counting base, to show what the pool keeps
    ziggy::UnmanagedMemoryPool pool(base);
    const void* first = nullptr;
    {
        auto a = pool.allocate<float>(16); // 64 bytes: a miss, from the base
        first = a.data();
    }                                         // a's block goes back to the pool, not to the base
    auto b = pool.allocate<std::uint8_t>(60); // same 64-byte class: a hit
    std::printf("   second buffer reuses the first one's block: %s\n",
                static_cast<const void*>(b.data()) == first ? "yes" : "no");
    b.reset();
    auto stats = pool.statistics();
    std::printf("   hits %llu, misses %llu, retained %zu bytes; base holds %zu (block + header)\n",
                static_cast<unsigned long long>(stats.hits),
                static_cast<unsigned long long>(stats.misses), stats.retained_bytes,
                base.total_allocated_bytes());
    {
        // Bulk: 100 buffers of 16 floats in one call, freed in one call.
        std::vector<ziggy::Buffer<float>> many(100);
        pool.allocate_bulk<float>(many, 16);
        many[99][15] = 1.0f;
        const auto before = pool.statistics();
        pool.deallocate_bulk<float>(many);
        std::printf(
            "   allocate_bulk: 100 buffers (%llu from the pool, %llu new), "
            "deallocate_bulk: retained %zu bytes\n",
            static_cast<unsigned long long>(before.hits - stats.hits),
            static_cast<unsigned long long>(before.misses - stats.misses), pool.retained_bytes());
    }
    pool.clear();
    std::printf("   after clear(): retained %zu bytes; base holds %zu bytes\n\n",
                pool.retained_bytes(), base.total_allocated_bytes());

    std::puts("-- HybridAllocator: small requests pooled, large ones direct");
    ziggy::HybridAllocator hybrid;
    auto route = [](ziggy::Route r) { return r == ziggy::Route::pooled ? "pooled" : "direct"; };
    std::printf("   32 KiB of bytes: %s, 32 KiB + 1: %s\n",
                route(hybrid.route_for<std::uint8_t>(32768)),
                route(hybrid.route_for<std::uint8_t>(32769)));
    std::printf("   8192 ints: %s, 8193 ints: %s\n", route(hybrid.route_for<int>(8192)),
                route(hybrid.route_for<int>(8193)));
    std::printf("   4096 doubles: %s, 4097 doubles: %s\n", route(hybrid.route_for<double>(4096)),
                route(hybrid.route_for<double>(4097)));
    struct Particle {
        float x, y, z, mass;
    };
    std::printf("   2048 16-byte structs: %s, 2049: %s\n", route(hybrid.route_for<Particle>(2048)),
                route(hybrid.route_for<Particle>(2049)));
    {
        auto small = hybrid.allocate<double>(100);
        auto large = hybrid.allocate<double>(10000);
        std::printf("   live: %zu bytes on both routes; the pool made %llu direct allocation(s)\n",
                    hybrid.total_allocated_bytes(),
                    static_cast<unsigned long long>(hybrid.pool().statistics().direct_allocations));
    }
    std::printf("   after scope: %zu live bytes\n", hybrid.total_allocated_bytes());
    {
        std::vector<ziggy::Buffer<double>> rows(50);
        hybrid.allocate_bulk<double>(rows, 100); // pooled route: one bulk call
        std::vector<ziggy::Buffer<double>> big(3);
        hybrid.allocate_bulk<double>(big, 10000); // direct route: a block each
        std::printf(
            "   allocate_bulk: 50 pooled + 3 direct buffers, %zu live bytes; "
            "direct allocations now %llu\n",
            hybrid.total_allocated_bytes(),
            static_cast<unsigned long long>(hybrid.pool().statistics().direct_allocations));
        hybrid.deallocate_bulk<double>(rows);
        hybrid.deallocate_bulk<double>(big);
    }
    std::printf("   after deallocate_bulk: %zu live bytes\n\n", hybrid.total_allocated_bytes());
}
