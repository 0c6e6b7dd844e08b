/* Loads and stores MXCSR through three addressing forms (a register, SIB with ESP + disp8, an
   absolute disp32), the instructions a software-emulated KVM cannot run and minivmm completes
   (Intel SDM vol. 2B, "LDMXCSR", "STMXCSR"; vol. 3A §13.1.3: CR4.OSFXSR enables SSE state).
   Prints each value read back; exits 0 when every round trip kept its value. */
#include "runtime.h"

static volatile uint32_t absolute_slot;

static uint32_t store_via_register(void)
{
    uint32_t value = 0;
    uint32_t* where = &value;
    __asm__ volatile("stmxcsr (%0)" : : "r"(where) : "memory");
    return value;
}

static void load_via_register(uint32_t value)
{
    uint32_t* where = &value;
    __asm__ volatile("ldmxcsr (%0)" : : "r"(where) : "memory");
}

static uint32_t roundtrip_via_stack(uint32_t value)
{
    uint32_t result;
    /* SIB form: base ESP, disp8 4. */
    __asm__ volatile("sub $8, %%esp\n\t"
                     "movl %1, 4(%%esp)\n\t"
                     "ldmxcsr 4(%%esp)\n\t"
                     "movl $0, 4(%%esp)\n\t"
                     "stmxcsr 4(%%esp)\n\t"
                     "movl 4(%%esp), %0\n\t"
                     "add $8, %%esp"
                     : "=r"(result)
                     : "r"(value)
                     : "memory");
    return result;
}

static uint32_t roundtrip_via_absolute(uint32_t value)
{
    absolute_slot = value;
    __asm__ volatile("ldmxcsr absolute_slot\n\tmovl $0, absolute_slot\n\tstmxcsr absolute_slot" ::: "memory");
    return absolute_slot;
}

static bool report(const char* form, uint32_t wanted, uint32_t got)
{
    print("mxcsr: ");
    print(form);
    print(" 0x");
    print_hex32(got);
    print(got == wanted ? " ok\n" : " WRONG\n");
    return got == wanted;
}

int main(const struct hvm_start_info* info)
{
    (void)info;
    /* SSE state on: CR4.OSFXSR (bit 9) and CR4.OSXMMEXCPT (bit 10); CR0.EM clear, CR0.MP set. */
    uint32_t cr0, cr4;
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    __asm__ volatile("mov %0, %%cr0" : : "r"((cr0 & ~(1u << 2) & ~(1u << 3)) | (1u << 1)));
    __asm__ volatile("mov %%cr4, %0" : "=r"(cr4));
    __asm__ volatile("mov %0, %%cr4" : : "r"(cr4 | (1u << 9) | (1u << 10)));

    bool ok = report("reset value", 0x1f80, store_via_register());
    load_via_register(0x9fc0); /* FTZ, DAZ and all exceptions masked */
    ok &= report("register", 0x9fc0, store_via_register());
    ok &= report("stack", 0x1f80 | 0x6000, roundtrip_via_stack(0x1f80 | 0x6000)); /* round to zero */
    ok &= report("absolute", 0x1f80, roundtrip_via_absolute(0x1f80));
    return ok ? 0 : 1;
}
