/* A guest for the gdb stub's tests (README "Debugging with gdb"): built with symbols (-g, as
   every test guest), it calls small functions a debugger breaks on, writes a variable a
   watchpoint catches, and exits with 7. `gdb.mode=spin` prints one line and spins without exits
   instead (for Ctrl-C). Every function is noinline so that its symbol is where the code is. */
#include "runtime.h"

volatile uint32_t gdb_counter;
volatile uint32_t gdb_watched;

__attribute__((noinline)) void gdb_break_here(uint32_t round)
{
    gdb_counter += round;
}

__attribute__((noinline)) void gdb_hw_here(void)
{
    gdb_counter += 100;
}

__attribute__((noinline)) void gdb_write_watched(uint32_t value)
{
    gdb_watched = value;
}

int main(const struct hvm_start_info* info)
{
    uint32_t mode_length = 0;
    const char* mode = cmdline_find(pvh_cmdline(info), "gdb.mode", &mode_length);
    if (mode && mode_length == 4 && memcmp(mode, "spin", 4) == 0) {
        print("gdbtarget: spinning\n");
        for (;;)
            __asm__ volatile("" ::: "memory");
    }
    print("gdbtarget: start\n");
    for (uint32_t round = 1; round <= 3; round++)
        gdb_break_here(round);
    gdb_hw_here();
    gdb_write_watched(0x1234);
    print("gdbtarget: counter ");
    print_dec(gdb_counter);
    print("\n");
    return 7;
}
