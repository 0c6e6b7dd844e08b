/* Never finishes: prints one line and spins in `jmp .` without exits, for the VMM's --timeout
   and CPU-quota tests. */
#include "runtime.h"

int main(const struct hvm_start_info* info)
{
    (void)info;
    print("spin: spinning forever\n");
    for (;;)
        __asm__ volatile("1: jmp 1b");
}
