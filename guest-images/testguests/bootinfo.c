/* Prints what the loader passed in the PVH start info (cmdline, memory map, module 0 = initrd)
   in a fixed line format that integration tests compare against the VMM's inputs (Xen PVH boot
   ABI, xen/include/public/arch-x86/hvm/start_info.h, "Start of day structure"). */
#include "runtime.h"

#define INITRD_PREVIEW_BYTES 16

int main(const struct hvm_start_info* info)
{
    if (info->magic != HVM_START_MAGIC_VALUE) {
        print("bootinfo: bad start_info magic 0x");
        print_hex32(info->magic);
        print("\n");
        return 1;
    }

    print("cmdline: ");
    print(pvh_cmdline(info));
    print("\n");

    uint32_t count;
    const struct hvm_memmap_table_entry* map = pvh_memmap(info, &count);
    print("memmap: ");
    print_dec(count);
    print(" entries\n");
    for (uint32_t i = 0; i < count; i++) {
        print("memmap ");
        print_dec(i);
        print(": addr=0x");
        print_hex64(map[i].addr);
        print(" size=0x");
        print_hex64(map[i].size);
        print(" type=");
        print_dec(map[i].type);
        print("\n");
    }

    const struct hvm_modlist_entry* initrd = pvh_module(info, 0);
    const uint8_t* data = initrd ? pvh_pointer(initrd->paddr) : NULL;
    if (data) {
        print("initrd: size=");
        print_dec64(initrd->size);
        print(" first=");
        uint64_t preview = initrd->size < INITRD_PREVIEW_BYTES ? initrd->size : INITRD_PREVIEW_BYTES;
        for (uint32_t i = 0; i < (uint32_t)preview; i++)
            print_hex8(data[i]);
        print("\n");
    } else {
        print("initrd: none\n");
    }

    print("bootinfo: done\n");
    return 0;
}
