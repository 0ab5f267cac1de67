// ziggy/detail/spin_lock.hpp — a small lock for short critical sections.
//
// An allocator's bookkeeping (a table insert, a queue push) takes tens of
// nanoseconds; std::mutex (glibc) spends two atomic read-modify-writes on it,
// a lock and an unlock exchange. This lock takes one (the acquiring exchange)
// and releases with a plain store. Waiters spin briefly, then yield, so a
// holder that was preempted is not starved of a core. Meets Lockable, so
// std::lock_guard and std::scoped_lock work with it.
//
//     detail::SpinLock lock;
//     { std::lock_guard guard(lock); table.insert(p, record); }
#pragma once

#include <atomic>
#include <thread>

namespace ziggy::detail {

class SpinLock {
public:
    void lock() noexcept {
        if (flag_.exchange(true, std::memory_order_acquire)) [[unlikely]]
            wait_and_lock();
    }
    [[nodiscard]] bool try_lock() noexcept {
        return !flag_.load(std::memory_order_relaxed) &&
               !flag_.exchange(true, std::memory_order_acquire);
    }
    void unlock() noexcept { flag_.store(false, std::memory_order_release); }

private:
    // The slow path of lock(): spin on a plain load (no cache-line ping-pong),
    // then hand the core to the holder.
    [[gnu::noinline]] void wait_and_lock() noexcept {
        for (unsigned spins = 0;; ++spins) {
            while (flag_.load(std::memory_order_relaxed)) {
                if (++spins < 64) {
#if defined(__x86_64__) || defined(__i386__)
                    __builtin_ia32_pause();
#endif
                } else {
                    std::this_thread::yield();
                }
            }
            if (!flag_.exchange(true, std::memory_order_acquire)) return;
        }
    }

    std::atomic<bool> flag_{false};
};

} // namespace ziggy::detail
