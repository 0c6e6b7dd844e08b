/* A test-and-set spin lock for guests that run several CPUs (smp, memstamp). */
#pragma once

#include <stdint.h>

#include "io.h"

/* Test-and-set on xchg (implicitly locked on x86; Intel SDM vol 3 §8.1.2.1), spinning on a plain
   read while the lock is held so the waiting CPU does not keep the cache line bouncing. */
static inline void spin_lock(volatile uint32_t* lock)
{
    while (__atomic_exchange_n(lock, 1, __ATOMIC_ACQUIRE)) {
        while (*lock)
            cpu_relax();
    }
}

static inline void spin_unlock(volatile uint32_t* lock)
{
    __atomic_store_n(lock, 0, __ATOMIC_RELEASE);
}
