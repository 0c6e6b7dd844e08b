/* Exits with the status named by `exitcode=N` on the command line, so tests can check that the
   VMM passes the exit-port value through as its own exit status. */
#include "runtime.h"

int main(const struct hvm_start_info* info)
{
    uint32_t length;
    const char* text = cmdline_find(pvh_cmdline(info), "exitcode", &length);
    uint32_t status;
    if (!text) {
        print("exitcode: no exitcode=N on the command line\n");
        return 1;
    }
    if (!parse_decimal(text, length, &status) || status > 255) {
        print("exitcode: invalid exitcode '");
        print_n(text, length);
        print("' (want decimal 0-255)\n");
        return 1;
    }
    print("exitcode: exiting with ");
    print_dec(status);
    print("\n");
    return (int)status;
}
