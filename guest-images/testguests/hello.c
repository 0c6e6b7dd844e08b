/* The smallest test guest: one line on the serial port, then exit status 0 through the exit
   port (entered via the Xen PVH boot ABI, runtime/start.S). */
#include "runtime.h"

int main(const struct hvm_start_info* info)
{
    (void)info;
    print("Hello from the minivmm test guest\n");
    return 0;
}
