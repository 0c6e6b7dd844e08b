/* Never finishes: prints numbered lines on the serial port as fast as it can, for the VMM's
   tests of a console whose reader stops reading. */
#include "runtime.h"

int main(const struct hvm_start_info* info)
{
    (void)info;
    for (uint32_t line = 0;; ++line) {
        print("chatter: line ");
        print_dec(line);
        print(" of output nobody has to read\n");
    }
}
