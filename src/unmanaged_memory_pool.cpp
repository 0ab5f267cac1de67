// UnmanagedMemoryPool: slow paths, thread-cache registry, depot, statistics.
// The fast paths (detail::pool_pop and detail::pool_push_cached in
// detail/pool_cache.hpp) are inline; every function here is reached only when
// they fail.
#include <ziggy/unmanaged_memory_pool.hpp>

#include <ziggy/errors.hpp>

#include <pthread.h>

#include <algorithm>
#include <bit>
#include <cstdlib>
#include <mutex>
#include <new>
#include <string>

namespace ziggy {

namespace detail {

[[gnu::tls_model("initial-exec")]] constinit thread_local PoolTlsSlot
    pool_tls_slots[pool_tls_slot_count + 1] = {};

// See ZIGGY_POOL_ABI_SYMBOL: users compiled for another library fail to link.
extern const int ZIGGY_POOL_ABI_SYMBOL = ZIGGY_POOL_TLS_FRONT;

/// Shared by a pool and its threads' caches, so that a thread exiting while the
/// pool is destroyed finds out safely. Lock order: link mutex, then a depot
/// mutex, then anything in the base allocator (which never calls back).
struct PoolLink {
    std::mutex mutex;
    UnmanagedMemoryPool* pool = nullptr;  // nullptr once the pool is destroyed
    std::vector<PoolThreadCache*> caches; // caches of threads that have not exited

    /// Thread exit: hands the cache's blocks and counters to its pool, if that
    /// still exists, and returns whether it did. The caller then deletes it.
    static bool retire(PoolThreadCache* cache) noexcept;
    /// True once the cache's pool is gone (its blocks were already returned).
    static bool orphaned(PoolThreadCache* cache) noexcept {
        std::lock_guard lock(cache->link->mutex);
        return cache->link->pool == nullptr;
    }
};

} // namespace detail

namespace {

std::atomic<std::uint64_t> next_pool_id{1};

// A thread's list never holds more blocks than this, whatever the options say.
constexpr std::size_t max_cached_blocks = 2048;

/// Every cache this thread created. Retired when the thread exits, by the
/// destructor of a pthread key (see thread_registry); never destroyed.
struct ThreadRegistry {
    std::vector<detail::PoolThreadCache*> caches;
    bool slots_registered = false; // this thread's slots are in slot_table().threads
    /// Gives back every cache of the thread (their blocks to the pools'
    /// depots), frees the registry's memory and leaves the slot table.
    /// Sets registry_gone.
    void retire() noexcept;
};

// Set when this thread's registry is retired: later pool calls from other
// destructors bypass the caches and use the depot.
[[gnu::tls_model("initial-exec")]] thread_local bool registry_gone = false;
// The thread's registry, built in `registry_storage` on its first pool call.
// Trivially destructible TLS: no thread_local destructor is registered.
// glibc runs those before the pthread keys' destructors, and one registered
// from a key's destructor (a thread whose first pool call is made there)
// never runs, leaving the thread's caches linked to their pools with fronts
// in its freed TLS (and glibc's record of it leaked). A thread's exit is
// seen by a pthread key's destructor instead, which runs in either case: a
// key set during the keys' destructor rounds gets another round, if there
// is one (glibc makes 4: a first pool call in the last is not supported).
// The thread that calls exit(), which runs no key destructors, is retired
// by a static destructor (ExitRetirement).
thread_local ThreadRegistry* registry = nullptr;
alignas(ThreadRegistry) thread_local unsigned char registry_storage[sizeof(ThreadRegistry)];

void retire_at_thread_exit(void* reg) noexcept {
    if (!registry_gone) static_cast<ThreadRegistry*>(reg)->retire();
}
/// The key, made on the process's first pool call and never deleted:
/// threads that exit during static destruction (joined by a static
/// object's destructor) must still be retired. (The library is linked
/// with -z nodelete: dlclose() never unmaps the key's destructor.)
struct RegistryExitKey {
    pthread_key_t key{};
    bool made = pthread_key_create(&key, retire_at_thread_exit) == 0;
};
/// Retires the registry of the thread that calls exit() (made on the
/// process's first pool call, so destroyed before the static pools made
/// earlier, after those made later, whose destructors take their caches).
struct ExitRetirement {
    ExitRetirement() = default;
    ExitRetirement(const ExitRetirement&) = delete;
    ExitRetirement& operator=(const ExitRetirement&) = delete;
    ExitRetirement(ExitRetirement&&) = delete;
    ExitRetirement& operator=(ExitRetirement&&) = delete;
    ~ExitRetirement() {
        if (registry != nullptr && !registry_gone) registry->retire();
    }
};

/// This thread's registry, built (and its exit key set) on the first call;
/// nullptr when it cannot be (no key, out of memory): the caller then
/// takes the depot, as after retirement.
ThreadRegistry* thread_registry() noexcept {
    if (registry != nullptr) [[likely]]
        return registry;
    alignas(RegistryExitKey) static unsigned char key_storage[sizeof(RegistryExitKey)];
    static const RegistryExitKey* const exit_key =
        ::new (static_cast<void*>(key_storage)) RegistryExitKey();
    static const ExitRetirement exit_retirement;
    if (!exit_key->made) return nullptr;
    auto* reg = ::new (static_cast<void*>(registry_storage)) ThreadRegistry();
    if (pthread_setspecific(exit_key->key, reg) != 0) {
        reg->~ThreadRegistry();
        return nullptr;
    }
    registry = reg;
    return reg;
}

/// Who holds which TLS slot (detail::PoolTlsSlot), and the slot arrays of
/// the threads that have written one: a pool's destructor resets its slot in
/// each of them before the slot goes to another pool, so a thread never takes
/// a dead pool's cache for a live one's. Never destroyed, on purpose: pools
/// in static storage may be destroyed after any other static object.
struct SlotTable {
    std::mutex mutex;
    // Slots no pool holds, taken from the top (guarded by mutex). An array,
    // not a vector: making the table, and taking and giving back a slot,
    // allocate nothing, so the noexcept acquire_slot (the table is made on
    // the first pool's construction) cannot end the program on bad_alloc.
    std::size_t free[detail::pool_tls_slot_count] = {};
    std::size_t free_count = detail::pool_tls_slot_count;
    std::vector<detail::PoolTlsSlot*> threads; // guarded by mutex
    SlotTable() noexcept {
        for (std::size_t i = 0; i < detail::pool_tls_slot_count; ++i)
            free[i] = detail::pool_tls_slot_count - 1 - i; // slot 0 first
    }
};
SlotTable& slot_table() noexcept {
    alignas(SlotTable) static unsigned char storage[sizeof(SlotTable)];
    static SlotTable* const table = ::new (static_cast<void*>(storage)) SlotTable();
    return *table;
}

/// A slot for a new pool, or pool_no_slot when every slot is held.
std::size_t acquire_slot() noexcept {
    SlotTable& t = slot_table();
    std::lock_guard lock(t.mutex);
    if (t.free_count == 0) return detail::pool_no_slot;
    return t.free[--t.free_count];
}

/// A destroyed pool's slot: reset in every thread, then free for another pool.
/// No thread uses the pool any more (the destructor's precondition), so none
/// reads the slot for it meanwhile.
void release_slot(std::size_t slot) noexcept {
    if (slot == detail::pool_no_slot) return;
    SlotTable& t = slot_table();
    std::lock_guard lock(t.mutex);
    for (detail::PoolTlsSlot* slots : t.threads) {
        slots[slot].cache.store(&detail::pool_declining_cache, std::memory_order_relaxed);
#if ZIGGY_POOL_TLS_FRONT
        detail::pool_close_front(slots[slot].front);
#endif
    }
    t.free[t.free_count++] = slot; // at most pool_tls_slot_count slots are held
}

} // namespace

std::size_t detail::pool_free_slot_count() noexcept {
    SlotTable& t = slot_table();
    std::lock_guard lock(t.mutex);
    return t.free_count;
}

namespace {

/// Resets this thread's slots that name `cache` (all of them for nullptr):
/// each names the declining cache, its front closed. Only once the cache's
/// blocks and counters are elsewhere (its front is the slot's).
void forget_slots(const detail::PoolThreadCache* cache) noexcept {
    for (auto& slot : detail::pool_tls_slots)
        if (cache == nullptr || slot.cache.load(std::memory_order_relaxed) == cache) {
            slot.cache.store(&detail::pool_declining_cache, std::memory_order_relaxed);
#if ZIGGY_POOL_TLS_FRONT
            detail::pool_close_front(slot.front);
#endif
        }
}

void ThreadRegistry::retire() noexcept {
    registry_gone = true;
    // From here every slot names the declining cache, so the slow paths find
    // no cache (they take the depot), while each cache's front stays open
    // until the cache is retired: a fast path that still uses a front (a
    // pool's drain below freeing into a pool over which it was built) counts
    // in it, and the retirement folds that in. Then the front is closed,
    // before the cache is deleted, so no fast path reaches a freed cache.
    for (auto& slot : detail::pool_tls_slots)
        slot.cache.store(&detail::pool_declining_cache, std::memory_order_relaxed);
    for (detail::PoolThreadCache* cache : caches) {
        // A dead pool's destructor closed the front already, and its slot
        // may since hold a later pool's cache, with the same front.
        if (detail::PoolLink::retire(cache) && cache->front != &cache->own_front)
            detail::pool_close_front(*cache->front);
        delete cache;
    }
    // Emptied and its memory freed (the registry is never destroyed).
    std::vector<detail::PoolThreadCache*>().swap(caches);
    // Out of the slot table last: a pool destroyed meanwhile reset this
    // thread's slot for it too (this thread's TLS lives until it is gone).
    if (slots_registered) {
        SlotTable& t = slot_table();
        std::lock_guard lock(t.mutex);
        std::erase(t.threads, detail::pool_tls_slots);
    }
    forget_slots(nullptr);
}

// A chained block's link word stays addressable (and, under memcheck,
// defined): leak checkers follow only such words. With the whole header
// poisoned every block past a depot's first read as leaked while a pool
// still held them:
// - memcheck (-Dvalgrind=true): definitely lost, for a pool on main's stack
//   at std::exit (ValgrindLeakCheckFollowsTheDepot);
// - LeakSanitizer (ASan builds), which by default skips poisoned words: a
//   direct leak at exit for a pool alive then, and in any leak check made
//   while the pool lives, such as libFuzzer's after each input
//   (LeakSanitizerFollowsTheDepot).
// The cost in ASan builds: a write to the first 8 bytes of a depot block's
// header (16 to 9 bytes in front of a freed pointer) is not reported; the
// header's second word and the block itself stay poisoned.
void keep_link_visible(detail::PoolHeader* h) noexcept {
    detail::unpoison_defined(&h->next, sizeof(detail::PoolHeader*));
}

detail::PoolHeader* read_next(detail::PoolHeader* h) noexcept {
    detail::unpoison_defined(h, detail::pool_header_size);
    detail::PoolHeader* next = h->next;
    detail::poison(h, detail::pool_header_size);
    keep_link_visible(h);
    return next;
}

void write_next(detail::PoolHeader* h, detail::PoolHeader* next) noexcept {
    detail::unpoison_defined(h, detail::pool_header_size);
    h->next = next;
    detail::poison(h, detail::pool_header_size);
    keep_link_visible(h);
}

// Takes room for up to n blocks of bs bytes in `used`, which `cap` bounds:
// the number of blocks it took.
std::size_t reserve_blocks(std::atomic<std::size_t>& used, std::size_t cap, std::size_t n,
                           std::size_t bs) noexcept {
    std::size_t k = 0;
    std::size_t now = used.load(std::memory_order_relaxed);
    do {
        k = std::min(n, cap > now ? (cap - now) / bs : 0);
    } while (k != 0 && !used.compare_exchange_weak(now, now + k * bs, std::memory_order_relaxed));
    return k;
}

/// The n-th block of a chain (n >= 1 blocks are known to be there).
detail::PoolHeader* nth(detail::PoolHeader* head, std::size_t n) noexcept {
    while (--n != 0) head = read_next(head);
    return head;
}

/// Gives the stack of `list` in `cache`, if it has none, its slots:
/// `capacity` of them over the null slot (no more than the list's limit less
/// the hot slot's block). False without memory (the stack then holds nothing).
bool install_slots(detail::PoolThreadCache& cache, std::size_t list,
                   std::size_t capacity) noexcept {
    detail::PoolFrontList& fl = cache.front->lists[list];
    if (fl.end != detail::pool_empty_stack + 1) return true;
    void** slots = static_cast<void**>(
        ::operator new[](detail::pool_slots_bytes(capacity + 1),
                         std::align_val_t{detail::pool_slots_alignment}, std::nothrow));
    if (slots == nullptr) return false;
    slots[0] = nullptr;
    cache.bases[list].store(slots + 1, std::memory_order_relaxed);
    fl.end = slots + 1 + capacity;
    fl.top.store(slots + 1, std::memory_order_release); // see PoolThreadCache::count
    return true;
}

/// Takes the newest `n` blocks (n >= 1) off a list as a chain, newest first.
detail::PoolHeader* unlist(detail::PoolFrontList& fl, std::size_t n,
                           detail::PoolHeader*& tail) noexcept {
    void** top = fl.top.load(std::memory_order_relaxed);
    detail::PoolHeader* head = nullptr;
    tail = nullptr;
    for (void** slot = top - n; slot != top; ++slot) { // oldest first: the newest ends in front
        detail::PoolHeader* h = detail::pool_header_of(*slot);
        write_next(h, head);
        if (head == nullptr) tail = h;
        head = h;
    }
    fl.top.store(top - n, std::memory_order_relaxed);
    return head;
}

} // namespace

struct UnmanagedMemoryPool::Depot {
    std::mutex mutex;
    detail::PoolHeader* head = nullptr; // guarded by mutex
    std::size_t count = 0;              // guarded by mutex
    // In the depot of a size class's 16-byte-aligned list: the bytes both of
    // its lists' depots hold, which `max_retained_bytes_per_class` caps.
    std::atomic<std::size_t> class_bytes{0};
    // Counters of operations without a cache, and of exited threads.
    std::atomic<std::uint64_t> hits{0};
    std::atomic<std::uint64_t> misses{0};
};

template <class Take>
void UnmanagedMemoryPool::drain_cache(detail::PoolThreadCache& cache, Take&& take) noexcept {
    for (std::size_t list = 0; list < detail::pool_list_count; ++list) {
        detail::PoolFrontList& fl = cache.front->lists[list];
        const std::size_t n = cache.count(list);
        if (n == 0) continue;
        // A chain newest first: the hot block's, then the stack's.
        detail::PoolHeader* head = nullptr;
        detail::PoolHeader* tail = nullptr;
        const std::uintptr_t hot = fl.hot.load(std::memory_order_relaxed);
        const bool hot_holds = detail::pool_hot_holds(hot);
        if (const std::size_t stacked = n - (hot_holds ? 1 : 0); stacked != 0)
            head = unlist(fl, stacked, tail);
        if (hot_holds) {
            fl.hot.store(detail::pool_hot_empty, std::memory_order_relaxed);
            detail::PoolHeader* h = detail::pool_header_of(detail::pool_hot_block(hot));
            write_next(h, head);
            if (tail == nullptr) tail = h;
            head = h;
        }
        take(list, head, tail, n);
    }
}

bool detail::PoolLink::retire(PoolThreadCache* cache) noexcept {
    {
        PoolLink& link = *cache->link;
        std::lock_guard lock(link.mutex);
        if (UnmanagedMemoryPool* pool = link.pool) {
            // Into the depot (the base takes what the caps keep out): this
            // thread's registry is gone, so a base that is a pool finds no
            // cache of this thread and locks no link.
            pool->drain_cache(
                *cache, [pool](std::size_t list, detail::PoolHeader* head, detail::PoolHeader* tail,
                               std::size_t n) { pool->spill(head, tail, n, list); });
            for (std::size_t i = 0; i < pool_list_count; ++i) {
                pool->depots_[i].hits.fetch_add(
                    cache->front->lists[i].pops.load(std::memory_order_relaxed),
                    std::memory_order_relaxed);
                pool->depots_[i].misses.fetch_add(cache->misses[i].load(std::memory_order_relaxed),
                                                  std::memory_order_relaxed);
            }
            // Under the link mutex, which total_allocated_bytes() holds too:
            // a reader sees the thread's bytes either here or in its cache.
            pool->shared_allocated_bytes_.fetch_add(
                cache->front->allocated_bytes.load(std::memory_order_relaxed),
                std::memory_order_relaxed);
            pool->shared_freed_bytes_.fetch_add(
                cache->front->freed_bytes.load(std::memory_order_relaxed),
                std::memory_order_relaxed);
            pool->direct_allocations_.fetch_add(
                cache->direct_allocations.load(std::memory_order_relaxed),
                std::memory_order_relaxed);
            std::erase(link.caches, cache);
            return true;
        }
    }
    return false;
}

UnmanagedMemoryPool::UnmanagedMemoryPool(Allocator& base, PoolOptions options)
    : base_(base),
      system_base_(dynamic_cast<SystemAllocator*>(&base)),
      options_(options),
      tag_{0, next_pool_id.fetch_add(1, std::memory_order_relaxed), 0},
      link_(std::make_shared<detail::PoolLink>()),
      depots_(std::make_unique<Depot[]>(detail::pool_list_count)) {
    for (std::size_t i = 0; i < detail::pool_list_count; ++i) {
        const std::size_t bs = detail::pool_list_block_size(i);
        cache_limits_[i] = static_cast<std::uint32_t>(std::min(
            {max_cached_blocks, options_.thread_cache_bytes_per_class / bs,
             options_.max_retained_bytes_per_class / bs, options_.max_retained_bytes / bs}));
    }
    tag_.slot = acquire_slot();
    tag_.key = detail::pool_tls_key(tag_.slot);
    tls_place_ = detail::pool_tls_place(tag_.key);
    owner_mark_ =
        detail::pool_owner_mark(tls_place_, tag_.pool_id, tag_.slot != detail::pool_no_slot);
    link_->pool = this;
    enable_inline_pool(tag_, true);
}

UnmanagedMemoryPool::~UnmanagedMemoryPool() {
    // Every thread's cached blocks, taken under the link mutex and given
    // back to the base after it: the base may be another pool, whose slow
    // path may lock this pool's link (a thread looking for its cache of
    // that pool asks each of its caches whether its pool is gone).
    detail::PoolHeader* chains[detail::pool_list_count] = {};
    {
        std::lock_guard lock(link_->mutex);
        for (detail::PoolThreadCache* cache : link_->caches)
            drain_cache(*cache, [&chains](std::size_t list, detail::PoolHeader* head,
                                          detail::PoolHeader* tail, std::size_t) {
                write_next(tail, chains[list]);
                chains[list] = head;
            });
        link_->caches.clear();
        link_->pool = nullptr;
    }
    for (std::size_t list = 0; list < detail::pool_list_count; ++list)
        release_chain(chains[list], list);
    clear();
    release_slot(tag_.slot);
}

// Fast path: thread_cache() in the header (the pool's TLS slot names the cache).
detail::PoolThreadCache* UnmanagedMemoryPool::find_thread_cache() noexcept {
    if (registry_gone) return nullptr;
    // This thread's slot front for the pool once opened for the new cache:
    // closed again if the cache cannot be registered (out of memory), or
    // its open hot slots would take frees that no cache holds.
    detail::PoolFront* opened = nullptr;
    try {
        ThreadRegistry* const made = thread_registry();
        if (made == nullptr) return nullptr;
        ThreadRegistry& reg = *made;
        if (!reg.slots_registered) { // before this thread writes any slot
            SlotTable& t = slot_table();
            std::lock_guard lock(t.mutex);
            t.threads.push_back(detail::pool_tls_slots);
            reg.slots_registered = true;
        }
        for (detail::PoolThreadCache* cache : reg.caches) {
            if (cache->pool_id == tag_.pool_id) {
                take_slot(cache);
                return cache;
            }
        }
        // Caches of destroyed pools are deleted here rather than kept until exit.
        std::erase_if(reg.caches, [](detail::PoolThreadCache* cache) {
            if (!detail::PoolLink::orphaned(cache)) return false;
            forget_slots(cache);
            delete cache;
            return true;
        });
        auto cache = std::make_unique<detail::PoolThreadCache>();
        // Lists the caps keep out of the caches: their frees must decline.
        for (std::size_t list = 0; list < detail::pool_list_count; ++list)
            if (cache_limits_[list] == 0)
                cache->own_front.lists[list].hot.store(detail::pool_hot_closed,
                                                       std::memory_order_relaxed);
        cache->pool_id = tag_.pool_id;
        cache->link = link_;
        // The front moves to this thread's slot for the pool (before other
        // threads can see the cache: its front never changes after).
#if ZIGGY_POOL_TLS_FRONT
        if (tag_.slot != detail::pool_no_slot) {
            detail::PoolFront& front = detail::pool_tls_slots[tag_.slot].front;
            detail::pool_close_front(front);
            for (std::size_t list = 0; list < detail::pool_list_count; ++list)
                front.lists[list].hot.store(
                    cache->own_front.lists[list].hot.load(std::memory_order_relaxed),
                    std::memory_order_relaxed);
            cache->front = &front;
            opened = &front;
        }
#endif
        reg.caches.reserve(reg.caches.size() + 1);
        {
            std::lock_guard lock(link_->mutex);
            link_->caches.push_back(cache.get());
        }
        reg.caches.push_back(cache.get());
        take_slot(cache.get());
        return cache.release();
    } catch (...) {
        // Out of memory: this operation goes through the depot.
        if (opened != nullptr) detail::pool_close_front(*opened);
        return nullptr;
    }
}

void UnmanagedMemoryPool::take_slot(detail::PoolThreadCache* cache) noexcept {
    if (tag_.slot != detail::pool_no_slot)
        detail::pool_tls_slots[tag_.slot].cache.store(cache, std::memory_order_relaxed);
}

void* UnmanagedMemoryPool::do_allocate(std::size_t size, std::size_t alignment, bool zero_memory,
                                       const CallSite& site) noexcept {
    return allocate_inline(size, alignment, zero_memory, &site);
}

void UnmanagedMemoryPool::do_free(void* pointer) {
    free_for(pointer, "UnmanagedMemoryPool", "pool");
}

namespace {
[[noreturn, gnu::cold]] void throw_not_ours(const char* who, const char* what) {
    throw InvalidFreeError(std::string(who) + "::free: the pointer was not allocated by this " +
                           what + " (or was already freed)");
}
} // namespace

void UnmanagedMemoryPool::free_for(void* pointer, const char* who, const char* what) {
    // A pointer that is not aligned as a header is no block (the header in
    // front of every block is; a block over a base that aligns less than 16
    // may be 8 mod 16), and its header is not read. Sanitized builds: refuse
    // before touching the shadow of memory that may belong to someone else.
    if (reinterpret_cast<std::uintptr_t>(pointer) % alignof(detail::PoolHeader) != 0 ||
        !detail::looks_like_live_block(pointer, detail::pool_header_size)) [[unlikely]]
        throw_not_ours(who, what);
    if (system_base_ != nullptr && release_if_system_direct(pointer)) return;
    detail::PoolHeader* h = detail::pool_header_of(pointer);
    detail::unpoison_defined(h, detail::pool_header_size);
    const std::uint64_t info = detail::pool_live_info(h, owner_mark_);
    detail::poison(h, detail::pool_header_size);
    if (info == 0) [[unlikely]]
        throw_not_ours(who, what);
    deallocate_inline(pointer);
}

// The miss of every fast path (the pops of allocate<T>, the pool's and the
// hybrid's, and of allocate_inline; a miss of Allocator's inline pop reaches
// here through do_allocate, whose pop misses again, changing nothing):
// reached when the request bypasses the classes, the thread has no cache for
// this pool yet, or its list is empty.
void* UnmanagedMemoryPool::allocate_slow(std::size_t bytes, std::size_t alignment,
                                         bool zero) noexcept {
    return allocate_slow_at(bytes, alignment, zero, CallSite::here());
}

void* UnmanagedMemoryPool::allocate_slow_at(std::size_t bytes, std::size_t alignment, bool zero,
                                            const CallSite& site) noexcept {
    // 0 bytes would index the declining list, which has no depot and no
    // cache limit (the fast paths return before reaching here for 0).
    if (bytes == 0) [[unlikely]]
        return nullptr;
    if (bytes > detail::max_class_size || alignment > detail::max_pooled_alignment)
        return allocate_direct(bytes, alignment, zero, site);
    const std::size_t list = detail::pool_list_index(bytes, alignment);
    detail::PoolThreadCache* cache = cache_limits_[list] != 0 ? thread_cache() : nullptr;
    if (cache != nullptr) [[likely]] {
        // The cache may just have been found (by id, for a pool without a slot).
        if (cache->count(list) != 0 || refill(cache, list) != 0) {
            void* p = detail::pool_pop<false>(detail::PoolFrontRef{cache->front}, list, bytes,
                                              detail::pool_info(bytes, list), owner_mark_);
            if (zero) std::memset(p, 0, bytes);
            return p;
        }
        void* p = allocate_new_block(list, bytes, zero);
        if (p != nullptr) {
            detail::bump_one(cache->misses[list]);
            detail::bump(cache->front->allocated_bytes, static_cast<std::uint64_t>(bytes));
        }
        return p;
    }
    // No cache (thread exiting, out of memory for one, or a list the caps keep
    // out of the caches): one block from the depot.
    Depot& depot = depots_[list];
    detail::PoolHeader* h = nullptr;
    {
        std::lock_guard lock(depot.mutex);
        if ((h = depot.head) != nullptr) {
            depot.head = read_next(h);
            taken_from_depot(list, 1);
        }
    }
    void* p = nullptr;
    if (h != nullptr) {
        detail::unpoison_defined(h, detail::pool_header_size);
        h->info = detail::pool_info(bytes, list);
        detail::pool_set_mark(h, owner_mark_); // live (it held a link)
        detail::poison(h, detail::pool_header_size);
        p = h + 1;
        detail::unpoison(p, bytes);
        if (zero) std::memset(p, 0, bytes);
        depot.hits.fetch_add(1, std::memory_order_relaxed);
    } else {
        p = allocate_new_block(list, bytes, zero);
        if (p == nullptr) return nullptr;
        depot.misses.fetch_add(1, std::memory_order_relaxed);
    }
    shared_allocated_bytes_.fetch_add(bytes, std::memory_order_release);
    return p;
}

std::size_t UnmanagedMemoryPool::take_cached(detail::PoolThreadCache& cache, std::size_t list,
                                             std::size_t bytes, bool zero, void** out,
                                             std::size_t n) noexcept {
    detail::PoolFrontList& fl = cache.front->lists[list];
    std::size_t k = 0;
    // The pops of detail::pool_pop, without their header writes: the hot slot's
    // block, then the stack's from the newest down to its null slot. The
    // declining cache's lists hold nothing, so it is never written.
    detail::PoolFront& front = *cache.front;
    if (const std::uintptr_t hot = fl.hot.load(std::memory_order_relaxed);
        n != 0 && detail::pool_hot_holds(hot)) {
        fl.hot.store(detail::pool_hot_empty, std::memory_order_relaxed);
        out[k++] = detail::pool_hot_block(hot);
    }
    void** top = fl.top.load(std::memory_order_relaxed);
    if (top != detail::pool_empty_stack + 1) { // a list with slots (never the declining cache's)
        const auto stacked =
            static_cast<std::size_t>(top - cache.bases[list].load(std::memory_order_relaxed));
        const std::size_t m = std::min(stacked, n - k);
        for (std::size_t j = 0; j < m; ++j) out[k + j] = top[-1 - static_cast<std::ptrdiff_t>(j)];
        k += m;
        top -= m;
    }
    if (k == 0) return 0;
    fl.top.store(top, std::memory_order_relaxed);
    // Then the headers, in a loop of their own: its stores to k blocks do
    // not wait on one another (nor on the pointer loads above). Each
    // stores the header's `next` alone, as a fast pop does (see
    // pool_mark_allocated): blocks are found here only in a pool with a
    // TLS slot (a pool without one has `pool_no_slot`, whose cache is
    // always the declining one). The 64 B bulk batch ran 1.48 us against
    // 1.60 with both words stored (Zen 5, interleaved rounds).
    const std::uint64_t info = detail::pool_info(bytes, list);
    const std::uintptr_t mark = owner_mark_;
    for (std::size_t i = 0; i < k; ++i) {
        detail::pool_mark_allocated<false>(out[i], info, mark);
        detail::unpoison(out[i], bytes);
        if (zero) std::memset(out[i], 0, bytes);
    }
    detail::bump(fl.pops, static_cast<std::uint64_t>(k));
    detail::bump(front.allocated_bytes, static_cast<std::uint64_t>(k * bytes));
    return k;
}

bool UnmanagedMemoryPool::admit_bulk_request(std::span<void*> out, std::size_t size,
                                             std::size_t alignment) {
    if (!detail::is_power_of_two(alignment)) [[unlikely]] {
        std::fill(out.begin(), out.end(), nullptr);
        detail::throw_bad_alignment(alignment);
    }
    if (size == 0) {
        std::fill(out.begin(), out.end(), nullptr);
        return false;
    }
    if (!detail::is_possible_request(size, alignment)) [[unlikely]] {
        std::fill(out.begin(), out.end(), nullptr);
        detail::throw_bad_alloc();
    }
    return !out.empty();
}

void UnmanagedMemoryPool::allocate_bulk(std::span<void*> out, std::size_t size,
                                        std::size_t alignment, bool zero_memory, CallSite site) {
    const auto fail = [&](std::size_t allocated) {
        deallocate_bulk(out.first(allocated), size, alignment);
        std::fill(out.begin(), out.end(), nullptr);
    };
    if (!admit_bulk_request(out, size, alignment)) return;
    const std::size_t list = detail::pool_list_index(size, alignment);
    const std::size_t n = out.size();
    std::size_t k = 0;
    for (;;) {
        // The cache again each round: the slow path may have created it.
        k += take_cached(*detail::pool_tls_cache_at(tls_place_), list, size, zero_memory,
                         out.data() + k, n - k);
        if (k == n) return;
        // The list is empty (or declines): one block through the slow path,
        // which refills the cache from the depot, or allocates a new block
        // (or a direct one), and counts it.
        void* p = allocate_slow_at(size, alignment, zero_memory, site);
        if (p == nullptr) [[unlikely]] {
            fail(k);
            detail::throw_bad_alloc();
        }
        out[k++] = p;
        if (k == n) return;
    }
}

void UnmanagedMemoryPool::deallocate_bulk(std::span<void* const> blocks, std::size_t size,
                                          std::size_t alignment) noexcept {
    const std::size_t list = detail::pool_list_index(size, alignment);
    const std::uint64_t info = detail::pool_info(size, list);
    // A copy: the header stores below could alias the member.
    const std::uintptr_t mark = owner_mark_;
    const std::size_t n = blocks.size();
    std::size_t i = 0;
    while (i < n) {
        // A pass of pool_push_cached's sized pushes with the list's hot
        // slot and top in registers: each block goes to the hot slot and
        // the one it held onto the stack. The declining cache's lists (and
        // closed ones) are full, so the pass takes nothing from them.
        detail::PoolThreadCache& cache = *detail::pool_tls_cache_at(tls_place_);
        detail::PoolFront& front = *cache.front;
        detail::PoolFrontList& fl = front.lists[list];
        std::uintptr_t hot = fl.hot.load(std::memory_order_relaxed);
        void** top = fl.top.load(std::memory_order_relaxed);
        std::size_t pushed = 0;
        // Frees the block at i into the hot slot (`hot` names the block that
        // was there, if any); false when its header is not what this size
        // allocates (or says freed). Freed at once, so that the same pointer
        // later in `blocks` fails the test, as a second free of it would.
        const auto push = [&](void* p) {
            detail::PoolHeader* h = detail::pool_header_if(p, info, mark);
            if (h == nullptr) return false;
            hot = reinterpret_cast<std::uintptr_t>(p);
            detail::pool_mark_freed(h, list);
            ++pushed;
            return true;
        };
        if (hot == detail::pool_hot_empty) {
            while (i < n && blocks[i] == nullptr) ++i;
            if (i < n && push(blocks[i])) ++i;
        }
        // The stack's room bounds the pass (a null pointer takes none, so
        // the bound may stop it early; the next round goes on from there).
        // A closed hot slot's list has none.
        if (detail::pool_hot_holds(hot)) {
            const std::size_t stop = i + std::min(n - i, static_cast<std::size_t>(fl.end - top));
            for (; i < stop; ++i) {
                void* const p = blocks[i];
                if (p == nullptr) continue;
                const std::uintptr_t held = hot;
                if (!push(p)) break;
                *top++ = detail::pool_hot_block(held);
            }
        }
        if (pushed != 0) {
            detail::bump(front.freed_bytes, static_cast<std::uint64_t>(pushed * size));
            fl.top.store(top, std::memory_order_relaxed);
            fl.hot.store(hot, std::memory_order_relaxed);
        }
        if (i == n) return;
        // The block the pass could not take: the one-block path decides
        // (a spill of a full list, the header's size, a second free). Its
        // slow part: the inline push would decline it as the pass did (and
        // a function that touches a front through its pointer calls no fast
        // path, whose accesses the compiler does not see; see PoolFrontAt).
        if (blocks[i] != nullptr) deallocate_declined(blocks[i], size, alignment);
        ++i;
    }
}

void* UnmanagedMemoryPool::allocate_new_block(std::size_t list, std::size_t bytes,
                                              bool zero) noexcept {
    const std::size_t alignment = detail::pool_list_alignment(list);
    const std::size_t gap = detail::front_gap(alignment);
    const std::size_t block = detail::pool_list_block_size(list);
    char* raw = static_cast<char*>(base_.try_allocate_bytes(gap + block, alignment, zero));
    if (raw == nullptr) return nullptr;
    char* user = raw + gap;
    detail::PoolHeader* h = detail::pool_header_of(user);
    *h = detail::PoolHeader{nullptr, detail::pool_info(bytes, list)};
    detail::pool_set_mark(h, owner_mark_);
    // The gap in front of the header (48 bytes in a 64-aligned list's block),
    // the header and the class's slack past the request stay poisoned while
    // the block is the pool's; release_chain unpoisons all of it for the base.
    // The base zeroed the block when asked: memcheck (Valgrind builds) is told so.
    detail::poison(raw, gap + block);
    if (zero)
        detail::unpoison_defined(user, bytes);
    else
        detail::unpoison(user, bytes);
    return user;
}

// Fast path: detail::pool_push_cached (and, for a sized free of a direct block,
// deallocate_declined). Reached for unsized frees of direct blocks, sized frees
// whose size or alignment does not match the header, when the thread has no
// cache for this pool, or when its list's hot slot is full and its stack
// full or not allocated yet. Goes by the header alone.
void UnmanagedMemoryPool::deallocate_slow(void* user) noexcept {
    // Sanitized builds: a pointer whose header is not poisoned is no block;
    // ignored as a foreign block is below, without touching its shadow (the
    // caller's memory stays as it was).
    if (!detail::header_looks_poisoned(user, detail::pool_header_size)) [[unlikely]]
        return;
    if (system_base_ != nullptr && release_if_system_direct(user)) return;
    detail::PoolHeader* h = detail::pool_header_of(user);
    detail::unpoison_defined(h, detail::pool_header_size);
    const std::uint64_t info = detail::pool_live_info(h, owner_mark_);
    if (info == 0) [[unlikely]] {
        // Already pooled (a second sized free, which cannot throw), or
        // another pool's: ignored, so the block is not listed twice nor
        // taken from its pool. free(void*) throws instead.
        detail::poison(h, detail::pool_header_size);
        return;
    }
    const std::size_t route = detail::pool_info_route(info);
    const auto bytes = static_cast<std::int64_t>(detail::pool_info_bytes(info));
    if ((route & detail::pool_direct_route) != 0) {
        release_direct(user, static_cast<std::size_t>(bytes), detail::pool_direct_alignment(route));
        return;
    }
    const std::size_t list = route;
    detail::pool_mark_freed(h, list);
    detail::PoolThreadCache* cache = cache_limits_[list] != 0 ? thread_cache() : nullptr;
    if (cache == nullptr) {
        shared_freed_bytes_.fetch_add(static_cast<std::uint64_t>(bytes), std::memory_order_release);
        spill(h, h, 1, list);
        return;
    }
    // Into the hot slot when it is empty (a pool without a TLS slot frees
    // here every time). Else push; when the stack is full (rather than its
    // array short of its capacity), spill its newest blocks to the depot
    // first, down to half the capacity.
    detail::bump(cache->front->freed_bytes, static_cast<std::uint64_t>(bytes));
    detail::PoolFrontList& fl = cache->front->lists[list];
    std::atomic<std::uintptr_t>& hot = fl.hot;
    if (hot.load(std::memory_order_relaxed) == detail::pool_hot_empty) {
        hot.store(reinterpret_cast<std::uintptr_t>(user), std::memory_order_relaxed);
        return;
    }
    const std::size_t capacity = cache_limits_[list] - 1;          // the hot slot holds one
    if (capacity == 0 || !install_slots(*cache, list, capacity)) { // or out of memory
        auto* older =
            detail::pool_header_of(detail::pool_hot_block(hot.load(std::memory_order_relaxed)));
        hot.store(reinterpret_cast<std::uintptr_t>(user), std::memory_order_relaxed);
        spill(older, older, 1, list);
        return;
    }
    if (fl.top.load(std::memory_order_relaxed) == fl.end) {
        const std::size_t n = capacity - capacity / 2;
        detail::PoolHeader* tail = nullptr;
        detail::PoolHeader* head = unlist(fl, n, tail);
        spill(head, tail, n, list);
    }
    // The newest block in the hot slot, the one it held on the stack.
    void** top = fl.top.load(std::memory_order_relaxed);
    *top = detail::pool_hot_block(hot.load(std::memory_order_relaxed));
    fl.top.store(top + 1, std::memory_order_relaxed);
    hot.store(reinterpret_cast<std::uintptr_t>(user), std::memory_order_relaxed);
}

std::atomic<std::size_t>& UnmanagedMemoryPool::class_depot_bytes(std::size_t list) noexcept {
    return depots_[list % detail::size_class_count].class_bytes;
}

void UnmanagedMemoryPool::taken_from_depot(std::size_t list, std::size_t k) noexcept {
    const std::size_t bytes = k * detail::pool_list_block_size(list);
    depots_[list].count -= k;
    depot_bytes_.fetch_sub(bytes, std::memory_order_relaxed);
    class_depot_bytes(list).fetch_sub(bytes, std::memory_order_relaxed);
}

void UnmanagedMemoryPool::spill(detail::PoolHeader* head, detail::PoolHeader* tail, std::size_t n,
                                std::size_t list) noexcept {
    const std::size_t bs = detail::pool_list_block_size(list);
    Depot& depot = depots_[list];
    detail::PoolHeader* excess = nullptr;
    {
        std::lock_guard lock(depot.mutex);
        // Room in the class (its two lists' depots share the per-class cap),
        // then in the pool; what the pool has no room for goes back to the
        // class.
        std::atomic<std::size_t>& class_bytes = class_depot_bytes(list);
        const std::size_t in_class =
            reserve_blocks(class_bytes, options_.max_retained_bytes_per_class, n, bs);
        const std::size_t k =
            reserve_blocks(depot_bytes_, options_.max_retained_bytes, in_class, bs);
        if (k < in_class) class_bytes.fetch_sub((in_class - k) * bs, std::memory_order_relaxed);
        if (k != 0) {
            detail::PoolHeader* last = k == n ? tail : nth(head, k);
            excess = k == n ? nullptr : read_next(last);
            write_next(last, depot.head);
            depot.head = head;
            depot.count += k;
        } else {
            excess = head;
        }
        if (excess != nullptr) write_next(tail, nullptr);
    }
    release_chain(excess, list);
}

std::size_t UnmanagedMemoryPool::refill(detail::PoolThreadCache* cache, std::size_t list) noexcept {
    detail::PoolFrontList& fl = cache->front->lists[list];
    // Called with the list empty (its hot slot too) and its limit non-zero:
    // the newest block goes to the hot slot, up to half the limit less one
    // onto the stack.
    const std::size_t limit = cache_limits_[list];
    const bool stack = limit > 2 && install_slots(*cache, list, limit - 1);
    Depot& depot = depots_[list];
    detail::PoolHeader* h = nullptr;
    std::size_t k = 0;
    {
        std::lock_guard lock(depot.mutex);
        k = std::min<std::size_t>(depot.count, stack ? limit / 2 : 1);
        if (k == 0) return 0;
        h = depot.head;
        depot.head = read_next(nth(h, k));
        taken_from_depot(list, k);
    }
    // The blocks keep their links (never a live word) until a pop makes
    // them live.
    fl.hot.store(reinterpret_cast<std::uintptr_t>(h + 1), std::memory_order_relaxed);
    void** top = fl.top.load(std::memory_order_relaxed);
    for (std::size_t i = 1; i < k; ++i) {
        h = read_next(h);
        *top++ = h + 1;
    }
    fl.top.store(top, std::memory_order_relaxed);
    return k;
}

void UnmanagedMemoryPool::release_chain(detail::PoolHeader* head, std::size_t list) noexcept {
    const std::size_t alignment = detail::pool_list_alignment(list);
    const std::size_t gap = detail::front_gap(alignment);
    const std::size_t size = gap + detail::pool_list_block_size(list);
    while (head != nullptr) {
        detail::PoolHeader* next = read_next(head);
        char* raw = reinterpret_cast<char*>(head + 1) - gap;
        detail::unpoison(raw, size);
        base_.deallocate_bytes(raw, size, alignment);
        head = next;
    }
}

void UnmanagedMemoryPool::clear() noexcept {
    if (!registry_gone) {
        detail::PoolThreadCache* mine = detail::pool_tls_lookup(tls_place_);
        if (mine == nullptr && registry != nullptr)
            for (detail::PoolThreadCache* cache : registry->caches)
                if (cache->pool_id == tag_.pool_id) mine = cache;
        if (mine != nullptr)
            drain_cache(*mine,
                        [this](std::size_t list, detail::PoolHeader* head, detail::PoolHeader*,
                               std::size_t) { release_chain(head, list); });
    }
    for (std::size_t list = 0; list < detail::pool_list_count; ++list) {
        Depot& depot = depots_[list];
        detail::PoolHeader* head = nullptr;
        {
            std::lock_guard lock(depot.mutex);
            head = std::exchange(depot.head, nullptr);
            taken_from_depot(list, depot.count);
        }
        release_chain(head, list);
    }
}

PoolStatistics UnmanagedMemoryPool::statistics() const {
    PoolStatistics stats;
    stats.classes.resize(detail::pool_list_count);
    std::lock_guard lock(link_->mutex);
    for (std::size_t list = 0; list < detail::pool_list_count; ++list) {
        PoolClassStatistics& c = stats.classes[list];
        c.block_size = detail::pool_list_block_size(list);
        c.alignment = detail::pool_list_alignment(list);
        Depot& depot = depots_[list];
        c.hits = depot.hits.load(std::memory_order_relaxed);
        c.misses = depot.misses.load(std::memory_order_relaxed);
        {
            std::lock_guard depot_lock(depot.mutex);
            c.retained_blocks = depot.count;
        }
        for (const detail::PoolThreadCache* cache : link_->caches) {
            c.hits += cache->front->lists[list].pops.load(std::memory_order_relaxed);
            c.misses += cache->misses[list].load(std::memory_order_relaxed);
            c.retained_blocks += cache->count(list);
        }
        c.retained_bytes = c.retained_blocks * c.block_size;
        stats.hits += c.hits;
        stats.misses += c.misses;
        stats.retained_blocks += c.retained_blocks;
        stats.retained_bytes += c.retained_bytes;
    }
    stats.direct_allocations = direct_allocations_.load(std::memory_order_relaxed);
    for (const detail::PoolThreadCache* cache : link_->caches)
        stats.direct_allocations += cache->direct_allocations.load(std::memory_order_relaxed);
    return stats;
}

std::size_t UnmanagedMemoryPool::retained_bytes() const { return statistics().retained_bytes; }

std::size_t UnmanagedMemoryPool::total_allocated_bytes() const noexcept {
    std::lock_guard lock(link_->mutex);
    // The link mutex keeps the set of caches fixed (a thread that exits
    // folds its counters into the shared pair under it).
    return static_cast<std::size_t>(detail::live_bytes_of([&](auto&& visit) {
        visit(shared_allocated_bytes_, shared_freed_bytes_);
        for (const detail::PoolThreadCache* cache : link_->caches)
            visit(cache->front->allocated_bytes, cache->front->freed_bytes);
    }));
}

} // namespace ziggy
