/* Prints what CPUID reports inside the guest, so tests can compare it with the table the VMM
   gave KVM (Intel SDM vol. 2A, "CPUID"): leaf 1 (initial APIC id in EBX[31:24], logical count
   in EBX[23:16], feature bits in ECX/EDX) and leaf 7.0 (extended features). */
#include "runtime.h"

static void cpuid(uint32_t leaf, uint32_t subleaf, uint32_t* a, uint32_t* b, uint32_t* c, uint32_t* d)
{
    __asm__ volatile("cpuid" : "=a"(*a), "=b"(*b), "=c"(*c), "=d"(*d) : "a"(leaf), "c"(subleaf));
}

static void print_leaf(const char* name, uint32_t leaf, uint32_t subleaf)
{
    uint32_t a, b, c, d;
    cpuid(leaf, subleaf, &a, &b, &c, &d);
    print("cpuid: ");
    print(name);
    print(" eax=");
    print_hex32(a);
    print(" ebx=");
    print_hex32(b);
    print(" ecx=");
    print_hex32(c);
    print(" edx=");
    print_hex32(d);
    print("\n");
}

int main(const struct hvm_start_info* info)
{
    (void)info;
    print_leaf("leaf1", 1, 0);
    print_leaf("leaf7", 7, 0);
    print_leaf("leaf40000000", 0x40000000, 0);
    return 0;
}
