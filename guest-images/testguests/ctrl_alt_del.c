/* Waits for Ctrl-Alt-Del from the keyboard controller, the way the VMM's control API asks a
   guest to shut down (Firecracker's SendCtrlAltDel). Polls the i8042 status register (port
   0x64, bit 0 "output buffer full") and reads scan codes from port 0x60 (IBM PC/AT Technical
   Reference, "Keyboard Controller"); scan code set 1: Ctrl 1d, Alt 38, Del e0 53.
   `cad.mode=handle` (default): on the sequence, says so and resets through the i8042 (command
   0xFE, what Linux's reboot=k does), a clean shutdown. `cad.mode=ignore`: says so and keeps
   waiting forever, for the VMM's shutdown timeout. */
#include "runtime.h"

#define I8042_DATA 0x60
#define I8042_STATUS 0x64
#define I8042_STATUS_OUTPUT_FULL 0x01

static const uint8_t ctrl_alt_del[] = {0x1d, 0x38, 0xe0, 0x53};

int main(const struct hvm_start_info* info)
{
    uint32_t mode_length = 0;
    const char* mode = cmdline_find(pvh_cmdline(info), "cad.mode", &mode_length);
    const bool ignore = mode && mode_length == 6 && memcmp(mode, "ignore", 6) == 0;
    print(ignore ? "cad: waiting for ctrl-alt-del (ignoring it)\n" : "cad: waiting for ctrl-alt-del\n");
    uint32_t matched = 0;
    for (;;) {
        if (!(inb(I8042_STATUS) & I8042_STATUS_OUTPUT_FULL))
            continue;
        const uint8_t code = inb(I8042_DATA);
        matched = code == ctrl_alt_del[matched] ? matched + 1 : (code == ctrl_alt_del[0] ? 1 : 0);
        if (matched < sizeof ctrl_alt_del)
            continue;
        matched = 0;
        if (ignore) {
            print("cad: ignored ctrl-alt-del\n");
            continue;
        }
        print("cad: got ctrl-alt-del, resetting\n");
        outb(I8042_STATUS, 0xfe);
        print("cad: still running after the reset command\n");
        return 1;
    }
}
