// Linked by abi_link_check.sh against the library: with the library's own
// defines (it must link), and with the other pool_tls_front layout or the
// other Valgrind setting (it must not: ZIGGY_POOL_ABI_SYMBOL is undefined).
#include <ziggy/unmanaged_memory_pool.hpp>

int main() {
    ziggy::UnmanagedMemoryPool pool;
    auto b = pool.allocate<int>(4);
    b[0] = 1;
    return b[0] == 1 ? 0 : 1;
}
