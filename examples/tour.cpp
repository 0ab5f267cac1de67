// The tour: what each ziggyalloc allocator does, in a few printed lines per
// allocator. `scripts/dev.sh demo` builds and runs it.
#include "tour.hpp"

#include <ziggy/ziggy.hpp>

#include <cstdio>
#include <memory_resource>
#include <string>
#include <vector>
#include <numeric>
#include <stdexcept>

void tour_system() {
    std::puts("-- SystemAllocator: the platform heap with exact accounting");
    ziggy::SystemAllocator sys;
    {
        auto xs = sys.allocate<int>(10, /*zero_memory=*/true);
        std::iota(xs.begin(), xs.end(), 1);
        std::printf(
            "   allocated %zu ints (%zu bytes); sum = %d; allocator reports %zu live bytes\n",
            xs.size(), xs.size_bytes(), std::accumulate(xs.begin(), xs.end(), 0),
            sys.total_allocated_bytes());
        try {
            (void)xs[10];
        } catch (const std::out_of_range& e) {
            std::printf("   xs[10] is caught: %s\n", e.what());
        }
        const int src[3] = {7, 8, 9};
        xs.copy_from(src);
        std::printf("   copy_from({7,8,9}) -> xs[0..3) = %d %d %d\n", xs[0], xs[1], xs[2]);
        xs.fill(5);
        const int after_fill = xs.back();
        xs.clear();
        std::printf("   fill(5) -> back() = %d; clear() -> back() = %d\n", after_fill, xs.back());
        try {
            const int too_long[11] = {};
            xs.copy_from(too_long);
        } catch (const std::invalid_argument& e) {
            std::printf("   copy_from(11 elements) is refused: %s\n", e.what());
        }
    }
    std::printf("   after the buffer's scope: %zu live bytes\n\n", sys.total_allocated_bytes());
}

void tour_adapters() {
    std::puts("-- Standard containers on any allocator: MemoryResource (pmr) and StdAllocator");
    ziggy::UnmanagedMemoryPool pool;
    {
        ziggy::MemoryResource resource(pool);
        std::pmr::vector<std::pmr::string> words(&resource);
        for (const char* w : {"arena", "pool", "hybrid", "debug", "a string too long for SSO"})
            words.emplace_back(w);
        std::printf("   pmr vector of %zu strings on the pool: %zu live bytes in the pool\n",
                    words.size(), pool.total_allocated_bytes());
        std::vector<int, ziggy::StdAllocator<int>> squares{ziggy::StdAllocator<int>(pool)};
        for (int i = 0; i < 100; ++i) squares.push_back(i * i);
        std::printf("   std::vector<int, StdAllocator<int>> of 100 squares: last = %d\n",
                    squares.back());
    }
    std::printf("   containers gone: %zu live bytes; pool hits so far: %llu\n\n",
                pool.total_allocated_bytes(),
                static_cast<unsigned long long>(pool.statistics().hits));

    std::puts("-- FailingAllocator: every allocation failure handled, nothing leaked");
    auto report = ziggy::check_all_allocation_failures([](ziggy::Allocator& backing) {
        ziggy::HybridAllocator hybrid(backing);
        auto small = hybrid.allocate<int>(10);
        auto large = hybrid.allocate<int>(10000);
    });
    std::printf(
        "   the scenario allocates %zu times; each failure checked: %s\n\n", report.allocations,
        report.ok() ? "all surface as std::bad_alloc, no leak" : report.problems.front().c_str());
}

int main() {
    std::puts("== ziggyalloc tour ==\n");
    tour_system();
    tour_scoped();
    tour_debug();
    tour_pool();
    tour_adapters();
    std::puts("== end of the tour ==");
    return 0;
}
