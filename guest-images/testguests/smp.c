/* Starts every application processor listed in the MP table with INIT-SIPI-SIPI and waits for
   each to report (Intel MP spec 1.4 §4, "MP Configuration Table"; Intel SDM vol 3 §8.4.4.1,
   "Typical BSP Initialization Sequence", and §10.6.1, "Interrupt Command Register (ICR)"). */
#include "runtime.h"

#include "ap_start.h"
#include "lapic.h"
#include "mptable.h"
#include "spinlock.h"

/* Bounded poll for the APs to report (every guest instruction is emulated on this project's
   machines, ~1-2.5 µs each). */
#define ONLINE_POLL_LIMIT 2000000

static struct mp_info mp;
static volatile uint32_t print_lock;
static volatile uint32_t cpus_online;

static void report_online(uint32_t index, uint8_t apic_id)
{
    spin_lock(&print_lock);
    print("cpu ");
    print_dec(index);
    print(" apic-id ");
    print_dec(apic_id);
    print(" online\n");
    spin_unlock(&print_lock);
}

/* Logical CPU numbers: 0 is the BSP, then the other enabled MP-table entries in table order. */
static int32_t cpu_index_of(uint8_t apic_id, uint8_t bsp_apic_id)
{
    if (apic_id == bsp_apic_id)
        return 0;
    int32_t index = 1;
    for (uint32_t i = 0; i < mp.cpu_count; i++) {
        if (mp.cpus[i].apic_id == bsp_apic_id)
            continue;
        if (mp.cpus[i].apic_id == apic_id)
            return index;
        index++;
    }
    return -1;
}

static uint8_t bsp_apic_id;
/* `smp.then=spin`: every CPU spins forever once all are online (a CPU-limit test load). */
static volatile bool spin_when_online;

/* `smp.then=tick`: every CPU spins and prints `tick cpu <index> <n>` every TICK_SPINS rounds,
   so a test sees each vCPU make progress (and stop making it while the VM is paused). */
static volatile bool tick_when_online;
#define TICK_SPINS 20000u

/* A busy loop with no exits: the load a CPU limiter must throttle by itself. */
__attribute__((noreturn)) static void spin_forever(void)
{
    for (;;)
        __asm__ volatile("" ::: "memory");
}

__attribute__((noreturn)) static void tick_forever(uint32_t index)
{
    for (uint32_t n = 1;; n++) {
        for (uint32_t i = 0; i < TICK_SPINS; i++)
            __asm__ volatile("" ::: "memory");
        spin_lock(&print_lock);
        print("tick cpu ");
        print_dec(index);
        print(" ");
        print_dec(n);
        print("\n");
        spin_unlock(&print_lock);
    }
}

/* Called by smp_trampoline.S on each AP, on its own stack. */
void ap_main(void)
{
    uint8_t id = lapic_id();
    int32_t index = cpu_index_of(id, bsp_apic_id);
    if (index < 0) {
        spin_lock(&print_lock);
        print("smp: unexpected cpu with apic-id ");
        print_dec(id);
        print("\n");
        spin_unlock(&print_lock);
        return;
    }
    report_online((uint32_t)index, id);
    __atomic_fetch_add(&cpus_online, 1, __ATOMIC_RELEASE);
    if (tick_when_online)
        tick_forever((uint32_t)index);
    if (spin_when_online)
        spin_forever();
}

int main(const struct hvm_start_info* info)
{
    uint32_t then_length = 0;
    const char* then = cmdline_find(pvh_cmdline(info), "smp.then", &then_length);
    spin_when_online = then && then_length == 4 && memcmp(then, "spin", 4) == 0;
    tick_when_online = then && then_length == 4 && memcmp(then, "tick", 4) == 0;
    switch (mp_scan(&mp)) {
    case MP_OK:
        break;
    case MP_NOT_FOUND:
        print("smp: no MP table\n");
        return 1;
    case MP_DEFAULT_CONFIG:
        print("smp: MP default configuration not supported\n");
        return 1;
    case MP_BAD_TABLE:
        print("smp: bad MP configuration table\n");
        return 1;
    }
    print("smp: mp table lists ");
    print_dec(mp.cpu_count);
    print(" cpus\n");
    if (mp.cpu_count > MP_MAX_CPUS) {
        print("smp: more than ");
        print_dec(MP_MAX_CPUS);
        print(" cpus not supported\n");
        return 1;
    }

    ap_start_prepare();
    bsp_apic_id = lapic_id();
    report_online(0, bsp_apic_id);
    cpus_online = 1;
    uint32_t expected = 1;
    for (uint32_t i = 0; i < mp.cpu_count; i++) {
        if (mp.cpus[i].apic_id == bsp_apic_id)
            continue;
        ap_start(mp.cpus[i].apic_id);
        expected++;
    }

    for (uint32_t i = 0; i < ONLINE_POLL_LIMIT && cpus_online < expected; i++)
        cpu_relax();

    uint32_t online = __atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE);
    spin_lock(&print_lock);
    if (online == expected) {
        print("smp: all ");
        print_dec(online);
        print(" cpus online\n");
    } else {
        print("smp: only ");
        print_dec(online);
        print(" of ");
        print_dec(expected);
        print(" cpus online\n");
    }
    if (online == expected && tick_when_online) {
        print("smp: all cpus ticking\n");
        spin_unlock(&print_lock);
        tick_forever(0);
    }
    if (online == expected && spin_when_online) {
        print("smp: all cpus spinning\n");
        spin_unlock(&print_lock);
        spin_forever();
    }
    spin_unlock(&print_lock);
    return online == expected ? 0 : 1;
}
