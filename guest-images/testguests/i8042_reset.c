/* Resets the machine the way Linux's reboot=k does: the i8042 "pulse output port" command 0xFE
   written to port 0x64 (IBM PC/AT Technical Reference, "Keyboard Controller", Commands). The
   VMM must treat that as a clean shutdown: minivmm exits 0. If the guest is still running
   afterwards, it says so and exits 1 through the exit port. */
#include "runtime.h"

int main(const struct hvm_start_info* info)
{
    (void)info;
    print("i8042-reset: pulsing the reset line\n");
    outb(0x64, 0xfe);
    print("i8042-reset: still running after the reset command\n");
    return 1;
}
