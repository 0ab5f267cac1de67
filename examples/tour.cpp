// The tour: what each ziggyalloc allocator does, in a few printed lines.
#include <ziggy/ziggy.hpp>

#include <cstdio>
#include <numeric>
#include <stdexcept>

int main() {
    std::puts("== ziggyalloc tour ==\n");

    std::puts("-- SystemAllocator: the platform heap with exact accounting");
    ziggy::SystemAllocator sys;
    {
        auto xs = sys.allocate<int>(10, /*zero_memory=*/true);
        std::iota(xs.begin(), xs.end(), 1);
        std::printf("   allocated %zu ints (%zu bytes); sum = %d; allocator reports %zu live bytes\n",
                    xs.size(), xs.size_bytes(), std::accumulate(xs.begin(), xs.end(), 0),
                    sys.total_allocated_bytes());
        try {
            (void)xs[10];
        } catch (const std::out_of_range& e) {
            std::printf("   xs[10] is caught: %s\n", e.what());
        }
    }
    std::printf("   after the buffer's scope: %zu live bytes\n\n", sys.total_allocated_bytes());
    return 0;
}
