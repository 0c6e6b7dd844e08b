/* A memory-stamping load for snapshot tests (issue "Snapshot and restore"): each CPU keeps
   rewriting pages of its own slice of a RAM area in a pseudo-random order, stamping each page
   with the write's sequence number, and checks the page's previous stamp before every rewrite;
   at the end the boot CPU checks every page of every slice. A snapshot taken mid-run and
   restored must continue the sequence (not start again) and pass every check. APs are started
   with INIT-SIPI-SIPI (runtime/ap_start.c), CPUs numbered as in `smp`. */
#include "runtime.h"

#include "ap_start.h"
#include "lapic.h"
#include "mptable.h"
#include "spinlock.h"

/* The stamped area: from 16 MiB, clear of the image at 1 MiB and of the AP trampoline. */
#define AREA_BASE 0x1000000u
#define PAGE_SIZE 4096u
#define PAGE_WORDS (PAGE_SIZE / 4u)
#define STAMP_WORDS 16u
#define STAMP_MAGIC 0x5054534du /* "MSTP" */
#define MAX_PAGES 65536u
#define ONLINE_POLL_LIMIT 2000000u

static struct mp_info mp;
static volatile uint32_t print_lock;
static volatile uint32_t cpus_online;
static volatile uint32_t cpus_done;
static volatile uint32_t failures;
static uint8_t bsp_apic_id;
static uint32_t cpu_count = 1;

static uint32_t pages = 1024;   /* memstamp.pages */
static uint32_t writes = 20000; /* memstamp.writes: per CPU */
static uint32_t every = 1000;   /* memstamp.every */
static uint32_t seed = 1;       /* memstamp.seed */

/* The sequence number of the last write to each page (0: never written, reads as zeros). */
static uint32_t last_write[MAX_PAGES];

static uint32_t stamp_word(uint32_t page, uint32_t seq, uint32_t i)
{
    if (i == 0)
        return STAMP_MAGIC;
    if (i == 1)
        return page;
    if (i == 2)
        return seq;
    uint32_t x = seq * 2654435761u ^ page * 40503u ^ i * 97u;
    return x ^ (x >> 15);
}

static volatile uint32_t* page_words(uint32_t page)
{
    return (volatile uint32_t*)(AREA_BASE + page * PAGE_SIZE);
}

/* True when `page` holds the stamp of write `seq` (all zeros for seq 0), first and last words. */
static bool page_holds(uint32_t page, uint32_t seq)
{
    volatile uint32_t* words = page_words(page);
    for (uint32_t i = 0; i < STAMP_WORDS; i++)
        if (words[i] != (seq ? stamp_word(page, seq, i) : 0))
            return false;
    return words[PAGE_WORDS - 1] == (seq ? ~seq ^ page : 0);
}

static void stamp(uint32_t page, uint32_t seq)
{
    volatile uint32_t* words = page_words(page);
    for (uint32_t i = 0; i < STAMP_WORDS; i++)
        words[i] = stamp_word(page, seq, i);
    words[PAGE_WORDS - 1] = ~seq ^ page;
}

static void report(uint32_t cpu, const char* what, uint32_t value, uint32_t page)
{
    spin_lock(&print_lock);
    print("memstamp: cpu ");
    print_dec(cpu);
    print(" ");
    print(what);
    print_dec(value);
    if (page != 0xffffffffu) {
        print(" page ");
        print_dec(page);
    }
    print("\n");
    spin_unlock(&print_lock);
}

/* CPU `cpu` of `cpu_count` owns pages [first, first + count) and its own LCG. */
static void run_slice(uint32_t cpu)
{
    const uint32_t count = pages / cpu_count;
    const uint32_t first = cpu * count;
    uint32_t x = seed + cpu * 7919u;
    for (uint32_t seq = 1; seq <= writes; seq++) {
        x = x * 1664525u + 1013904223u;
        const uint32_t page = first + (uint32_t)(((uint64_t)x * count) >> 32);
        if (!page_holds(page, last_write[page])) {
            report(cpu, "FAILED before write ", seq, page);
            __atomic_fetch_add(&failures, 1, __ATOMIC_RELAXED);
            return;
        }
        stamp(page, seq);
        last_write[page] = seq;
        if (seq % every == 0)
            report(cpu, "seq ", seq, 0xffffffffu);
    }
}

static int32_t cpu_index_of(uint8_t apic_id)
{
    if (apic_id == bsp_apic_id)
        return 0;
    int32_t index = 1;
    for (uint32_t i = 0; i < mp.cpu_count && i < MP_MAX_CPUS; i++) {
        if (mp.cpus[i].apic_id == bsp_apic_id)
            continue;
        if (mp.cpus[i].apic_id == apic_id)
            return index;
        index++;
    }
    return -1;
}

void ap_main(void)
{
    const int32_t index = cpu_index_of(lapic_id());
    __atomic_fetch_add(&cpus_online, 1, __ATOMIC_RELEASE);
    if (index > 0 && (uint32_t)index < cpu_count)
        run_slice((uint32_t)index);
    __atomic_fetch_add(&cpus_done, 1, __ATOMIC_RELEASE);
}

static bool read_key(const struct hvm_start_info* info, const char* key, uint32_t* value)
{
    uint32_t length = 0;
    const char* text = cmdline_find(pvh_cmdline(info), key, &length);
    if (!text)
        return true;
    if (!parse_decimal(text, length, value) || *value == 0) {
        print("memstamp: FAILED (bad ");
        print(key);
        print(", want a decimal number above 0)\n");
        return false;
    }
    return true;
}

int main(const struct hvm_start_info* info)
{
    if (!read_key(info, "memstamp.pages", &pages) || !read_key(info, "memstamp.writes", &writes)
        || !read_key(info, "memstamp.every", &every) || !read_key(info, "memstamp.seed", &seed))
        return 1;
    if (pages > MAX_PAGES) {
        print("memstamp: FAILED (memstamp.pages above 65536)\n");
        return 1;
    }
    if (mp_scan(&mp) == MP_OK && mp.cpu_count > 1 && mp.cpu_count <= MP_MAX_CPUS)
        cpu_count = mp.cpu_count;
    if (pages < cpu_count) {
        print("memstamp: FAILED (fewer pages than cpus)\n");
        return 1;
    }
    print("memstamp: start pages=");
    print_dec(pages);
    print(" writes=");
    print_dec(writes);
    print(" cpus=");
    print_dec(cpu_count);
    print("\n");

    bsp_apic_id = lapic_id();
    cpus_online = 1;
    if (cpu_count > 1) {
        ap_start_prepare();
        for (uint32_t i = 0; i < mp.cpu_count; i++)
            if (mp.cpus[i].apic_id != bsp_apic_id)
                ap_start(mp.cpus[i].apic_id);
        for (uint32_t i = 0; i < ONLINE_POLL_LIMIT && cpus_online < cpu_count; i++)
            cpu_relax();
        if (__atomic_load_n(&cpus_online, __ATOMIC_ACQUIRE) != cpu_count) {
            print("memstamp: FAILED (not every cpu came online)\n");
            return 1;
        }
    }
    run_slice(0);
    /* The APs finish at their own pace: no poll limit here, a snapshot may stop the clock. */
    while (__atomic_load_n(&cpus_done, __ATOMIC_ACQUIRE) != cpu_count - 1)
        cpu_relax();

    /* The full check: every page of every slice holds its last write's stamp (or zeros). */
    uint32_t bad = 0;
    for (uint32_t page = 0; page < (pages / cpu_count) * cpu_count; page++) {
        if (!page_holds(page, last_write[page])) {
            if (bad++ < 4)
                report(0, "FAILED verify, last write ", last_write[page], page);
        }
    }
    if (bad || failures) {
        print("memstamp: verify FAILED\n");
        return 1;
    }
    print("memstamp: verify ok ");
    print_dec(writes);
    print(" writes per cpu\n");
    return 0;
}
