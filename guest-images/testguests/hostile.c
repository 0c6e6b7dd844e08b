/* A virtio-blk driver that breaks one virtqueue rule on purpose (`hostile.case=`), checks the
   device answers with DEVICE_NEEDS_RESET (virtio 1.2 §2.1.2, "Device Requirements: Device Status
   Field"), then resets it and proves it works again (§2.4, "Device Reset"; §3.1.1, "Driver
   Requirements: Device Initialization"). Rules broken: §2.7.5.2 (The Virtqueue Descriptor Table:
   chain length and buffers in memory), §2.7.6 (The Virtqueue Available Ring: idx at most Queue
   Size ahead), §2.7 (Split Virtqueues: Queue Size a power of 2, not 0), §2.7.4.2 (Driver
   Requirements: Message Framing: device-writable after device-readable), §2.7.5.3.1 (Indirect
   Descriptors: only when negotiated). Case `flood` breaks no rule: a second vCPU keeps disk
   n's queue full forever, making head 0 available again as fast as the device uses it, while
   the first vCPU reads another disk -- the device must not let that one queue hold the VMM's
   event loop (§2.7.13, "Supplying Buffers to The Device"). */
#include "runtime.h"

#include "ap_start.h"
#include "lapic.h"
#include "mptable.h"
#include "virtio/virtio_mmio.h"
#include "virtio/virtio_mmio_raw.h"

/* virtio 1.2 §5.2.6 (Device Operation). */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_ID_BYTES 20
#define VIRTIO_BLK_S_OK 0
#define VIRTQ_DESC_F_INDIRECT 4   /* §2.7.5.3 (Indirect Descriptors) */
#define SECTOR_SIZE 512

#define MAX_DISKS 4
/* Each poll reads the Status register (one MMIO exit, tens of µs when emulated): ~1 s at most,
   while a device that reacts at all does so within a few polls. */
#define REACTION_POLL_LIMIT 40000

struct virtio_blk_req_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

enum hostile_case {
    CASE_DESC_LOOP,
    CASE_HUGE_BUFFER,
    CASE_AVAIL_AHEAD,
    CASE_QUEUE_SIZE_0,
    CASE_QUEUE_SIZE_3,
    CASE_WRITE_BEFORE_READ,
    CASE_WRAP_BUFFER,
    CASE_BAD_NEXT,
    CASE_INDIRECT_UNNEGOTIATED,
    CASE_RESET_IN_FLIGHT,
    CASE_FLOOD,
    CASE_COUNT,
};

static const char* const case_names[CASE_COUNT] = {
    "desc-loop", "huge-buffer", "avail-ahead", "queue-size-0", "queue-size-3", "write-before-read",
    "wrap-buffer", "bad-next", "indirect-unnegotiated", "reset-in-flight", "flood",
};

static struct virtio_mmio_device disks[MAX_DISKS];
static struct virtqueue queue;
static struct virtio_blk_req_header header;
static uint8_t status;
static uint8_t data[SECTOR_SIZE] __attribute__((aligned(512)));
static const char* case_name;

static void say(const char* what)
{
    print("hostile: ");
    print(case_name);
    print(" ");
    print(what);
}

/* Reset, negotiate VERSION_1 only, queue 0 with the library's rings, DRIVER_OK. */
static bool init_device(struct virtio_mmio_device* device, struct virtqueue* q)
{
    if (!virtio_mmio_negotiate(device, 0))
        return false;
    if (!virtio_mmio_setup_queue(device, 0, q)) {
        virtio_mmio_fail(device);
        return false;
    }
    virtio_mmio_driver_ok(device);
    return true;
}

/* One well-formed read of sector 0; returns the status byte, 0xff if it never came back. */
static uint8_t clean_read(struct virtio_mmio_device* device, struct virtqueue* q)
{
    header = (struct virtio_blk_req_header){VIRTIO_BLK_T_IN, 0, 0};
    status = 0xff;
    struct virtq_buffer chain[3] = {
        {&header, sizeof header, false},
        {data, SECTOR_SIZE, true},
        {&status, 1, true},
    };
    uint32_t written;
    if (!virtio_mmio_transfer(device, 0, q, chain, 3, &written))
        return 0xff;
    return *(volatile uint8_t*)&status;
}

static void set_desc(uint16_t index, const void* buffer, uint64_t address, uint32_t length, uint16_t flags,
                     uint16_t next)
{
    struct virtq_desc* desc = &queue.desc[index];
    desc->addr = buffer ? (uint64_t)(uintptr_t)buffer : address;  /* a guest pointer, or a raw address */
    desc->len = length;
    desc->flags = flags;
    desc->next = next;
}

/* Waits for the device to react to a broken chain: DEVICE_NEEDS_RESET, or the chain coming
   back in the used ring. Returns the status register. */
static uint32_t wait_for_reaction(struct virtio_mmio_device* device, bool* used)
{
    uint32_t device_status = 0;
    *used = false;
    for (uint32_t i = 0; i < REACTION_POLL_LIMIT; i++) {
        device_status = virtio_mmio_status(device);
        if (device_status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)
            break;
        if (*(volatile uint16_t*)&queue.used.idx != queue.last_used) {
            *used = true;
            break;
        }
    }
    return device_status;
}

/* Breaks the rule of `which` on `device`. Returns false when the driver side itself could not
   get that far (printed). */
static bool break_device(enum hostile_case which, struct virtio_mmio_device* device)
{
    if (!virtio_mmio_negotiate(device, 0)) {
        say("setup FAILED (feature negotiation)\n");
        return false;
    }
    if (which == CASE_QUEUE_SIZE_0 || which == CASE_QUEUE_SIZE_3) {
        /* §2.7: "Queue Size value is always a power of 2"; 0 is no queue at all. */
        uint32_t size = which == CASE_QUEUE_SIZE_0 ? 0 : 3;
        virtqueue_init(&queue, 8);
        uint32_t ready = virtio_mmio_program_queue(device, 0, size, &queue);
        virtio_mmio_driver_ok(device);
        uint32_t device_status = virtio_mmio_status(device);
        say("queue-ready=");
        print_dec(ready);
        print(" status=0x");
        print_hex32(device_status);
        print("\n");
        say("needs-reset=");
        print_dec((device_status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) ? 1 : 0);
        print("\n");
        return true;
    }

    if (!virtio_mmio_setup_queue(device, 0, &queue)) {
        say("setup FAILED (queue 0)\n");
        return false;
    }
    virtio_mmio_driver_ok(device);
    header = (struct virtio_blk_req_header){VIRTIO_BLK_T_IN, 0, 0};
    status = 0xff;
    uint16_t advance = 1;
    switch (which) {
    case CASE_DESC_LOOP:
        /* §2.7.5.2: a chain that never ends (next points at itself). */
        set_desc(0, &header, 0, sizeof header, VIRTQ_DESC_F_NEXT, 0);
        break;
    case CASE_HUGE_BUFFER:
        /* §2.7.5.2 / §2.7.4: a 4 GiB - 1 buffer at the top of the 48-bit space, far outside RAM. */
        set_desc(0, &header, 0, sizeof header, VIRTQ_DESC_F_NEXT, 1);
        set_desc(1, NULL, 0xfffffffff000ull, 0xffffffffu, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
        set_desc(2, &status, 0, 1, VIRTQ_DESC_F_WRITE, 0);
        break;
    case CASE_AVAIL_AHEAD:
        /* §2.7.6: the ring holds Queue Size entries; idx 200 ahead claims more than exist. */
        set_desc(0, &header, 0, sizeof header, VIRTQ_DESC_F_NEXT, 1);
        set_desc(1, data, 0, SECTOR_SIZE, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
        set_desc(2, &status, 0, 1, VIRTQ_DESC_F_WRITE, 0);
        advance = 200;
        break;
    case CASE_WRITE_BEFORE_READ:
        /* §2.7.4.2: the device-writable data buffer before the device-readable header. */
        set_desc(0, data, 0, SECTOR_SIZE, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 1);
        set_desc(1, &header, 0, sizeof header, VIRTQ_DESC_F_NEXT, 2);
        set_desc(2, &status, 0, 1, VIRTQ_DESC_F_WRITE, 0);
        break;
    case CASE_WRAP_BUFFER:
        /* §2.7.5.2: a small buffer whose end wraps past 2^64 (start + length overflows). */
        set_desc(0, &header, 0, sizeof header, VIRTQ_DESC_F_NEXT, 1);
        set_desc(1, NULL, 0xfffffffffffffe00ull, SECTOR_SIZE * 2, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
        set_desc(2, &status, 0, 1, VIRTQ_DESC_F_WRITE, 0);
        break;
    case CASE_BAD_NEXT:
        /* §2.7.5: `next` indexes the descriptor table; 0xffff is far past Queue Size. */
        set_desc(0, &header, 0, sizeof header, VIRTQ_DESC_F_NEXT, 0xffff);
        break;
    case CASE_INDIRECT_UNNEGOTIATED:
        /* §2.7.5.3.1: VIRTQ_DESC_F_INDIRECT without VIRTIO_F_INDIRECT_DESC (we accepted only
           VERSION_1); the "table" is descriptors 1..3, a valid read. */
        set_desc(0, &queue.desc[1], 0, 3 * sizeof(struct virtq_desc), VIRTQ_DESC_F_INDIRECT, 0);
        set_desc(1, &header, 0, sizeof header, VIRTQ_DESC_F_NEXT, 1);
        set_desc(2, data, 0, SECTOR_SIZE, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
        set_desc(3, &status, 0, 1, VIRTQ_DESC_F_WRITE, 0);
        break;
    case CASE_RESET_IN_FLIGHT:
        /* Not a broken rule: a valid read, then a reset (§2.4) without waiting for it. The device
           must finish or drop it before the reset completes; no NEEDS_RESET is due. */
        set_desc(0, &header, 0, sizeof header, VIRTQ_DESC_F_NEXT, 1);
        set_desc(1, data, 0, SECTOR_SIZE, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
        set_desc(2, &status, 0, 1, VIRTQ_DESC_F_WRITE, 0);
        break;
    default:
        return false;
    }
    /* Publish head 0 (every ring slot names it) and notify (§2.7.13, "Supplying Buffers to The
       Device"); only avail-ahead moves idx by more than the one chain it adds. */
    for (uint16_t i = 0; i < queue.size; i++)
        queue.avail.ring[i] = 0;
    barrier();
    *(volatile uint16_t*)&queue.avail.idx = (uint16_t)(queue.avail.idx + advance);
    barrier();
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_NOTIFY, 0);

    if (which == CASE_RESET_IN_FLIGHT) {
        virtio_mmio_write_reg(device, VIRTIO_MMIO_STATUS, 0);
        uint32_t device_status = virtio_mmio_status(device);
        say("status after reset=0x");
        print_hex32(device_status);
        print("\n");
        say("needs-reset=");
        print_dec((device_status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) ? 1 : 0);
        print("\n");
        return true;
    }

    bool used;
    uint32_t device_status = wait_for_reaction(device, &used);
    if (used) {
        say("chain returned in the used ring, status byte ");
        print_dec(*(volatile uint8_t*)&status);
        print("\n");
    }
    say("needs-reset=");
    print_dec((device_status & VIRTIO_STATUS_DEVICE_NEEDS_RESET) ? 1 : 0);
    print("\n");
    return true;
}

/* ---- flood: the queue that never runs empty ---- */

/* The flood's own request (GET_ID: answered at once by the device, whatever its I/O engine),
   apart from the buffers clean_read() uses on the other disk. */
static struct virtio_blk_req_header flood_header;
static uint8_t flood_id[VIRTIO_BLK_ID_BYTES];
static uint8_t flood_status;
static struct virtio_mmio_device* flood_device;
static volatile uint32_t flood_cpu_running;

/* vCPU 1: keeps every ring slot available -- avail idx = used idx + Queue Size, at most what
   §2.7.6 allows -- and notifies each time it republishes, forever. */
void ap_main(void)
{
    __atomic_store_n(&flood_cpu_running, 1, __ATOMIC_RELEASE);
    for (;;) {
        uint16_t used = *(volatile uint16_t*)&queue.used.idx;
        uint16_t want = (uint16_t)(used + queue.size);
        if (*(volatile uint16_t*)&queue.avail.idx != want) {
            barrier();
            *(volatile uint16_t*)&queue.avail.idx = want;
            barrier();
            virtio_mmio_write_reg(flood_device, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
        }
    }
}

/* Starts the flood on `target` from vCPU 1, then reads disk `other` in a loop on vCPU 0 and
   reports each read; never returns while the reads work (the VMM is ended from outside). */
static bool flood(uint32_t target, uint32_t other)
{
    static struct virtqueue other_queue;
    static struct mp_info mp;
    flood_device = &disks[target];
    if (!init_device(flood_device, &queue)) {
        say("setup FAILED\n");
        return false;
    }
    flood_header = (struct virtio_blk_req_header){VIRTIO_BLK_T_GET_ID, 0, 0};
    set_desc(0, &flood_header, 0, sizeof flood_header, VIRTQ_DESC_F_NEXT, 1);
    set_desc(1, flood_id, 0, sizeof flood_id, VIRTQ_DESC_F_WRITE | VIRTQ_DESC_F_NEXT, 2);
    set_desc(2, &flood_status, 0, 1, VIRTQ_DESC_F_WRITE, 0);
    for (uint16_t i = 0; i < queue.size; i++)
        queue.avail.ring[i] = 0;
    if (!init_device(&disks[other], &other_queue)) {
        say("other disk init FAILED\n");
        return false;
    }
    if (mp_scan(&mp) != MP_OK || mp.cpu_count < 2) {
        say("needs 2 cpus in the MP table\n");
        return false;
    }
    uint8_t self = lapic_id();
    ap_start_prepare();
    for (uint32_t i = 0; i < mp.cpu_count && i < MP_MAX_CPUS; i++) {
        if (mp.cpus[i].apic_id != self) {
            ap_start(mp.cpus[i].apic_id);
            break;
        }
    }
    for (uint32_t i = 0; i < REACTION_POLL_LIMIT && !__atomic_load_n(&flood_cpu_running, __ATOMIC_ACQUIRE); i++)
        cpu_relax();
    if (!flood_cpu_running) {
        say("second cpu did not start\n");
        return false;
    }
    say("running on 2 cpus\n");
    for (uint32_t reads = 1;; reads++) {
        uint8_t result = clean_read(&disks[other], &other_queue);
        if (result != VIRTIO_BLK_S_OK) {
            say("other disk read FAILED (status ");
            print_dec(result);
            print(")\n");
            return false;
        }
        /* Every read at first, then every 100th: the serial port is slow when emulated. */
        if (reads <= 5 || reads % 100 == 0) {
            say("disk ");
            print_dec(other);
            print(" read ");
            print_dec(reads);
            print(" ok\n");
        }
    }
}

/* Bonus check while the target is broken: every other disk still serves a read. */
static bool check_other_disk(uint32_t index)
{
    static struct virtqueue other_queue;
    print("hostile: disk ");
    print_dec(index);
    if (!init_device(&disks[index], &other_queue)) {
        print(" init FAILED\n");
        return false;
    }
    uint8_t result = clean_read(&disks[index], &other_queue);
    if (result != VIRTIO_BLK_S_OK) {
        print(" read FAILED (status ");
        print_dec(result);
        print(")\n");
        return false;
    }
    print(" read ok first=");
    for (uint32_t i = 0; i < 16; i++)
        print_hex8(data[i]);
    print("\n");
    return true;
}

/* §2.4: writing 0 resets the device; it reads back 0 (NEEDS_RESET gone) once done. Then a
   fresh initialization and one clean read. */
static bool recover(struct virtio_mmio_device* device)
{
    virtio_mmio_write_reg(device, VIRTIO_MMIO_STATUS, 0);
    uint32_t after_reset = virtio_mmio_status(device);
    if (after_reset != 0) {
        say("recovery FAILED (status 0x");
        print_hex32(after_reset);
        print(" after reset)\n");
        return false;
    }
    if (!init_device(device, &queue)) {
        say("recovery FAILED (re-initialization, status 0x");
        print_hex32(virtio_mmio_status(device));
        print(")\n");
        return false;
    }
    uint8_t result = clean_read(device, &queue);
    uint32_t device_status = virtio_mmio_status(device);
    if (result != VIRTIO_BLK_S_OK || (device_status & VIRTIO_STATUS_DEVICE_NEEDS_RESET)) {
        say("recovery FAILED (read status ");
        print_dec(result);
        print(", device status 0x");
        print_hex32(device_status);
        print(")\n");
        return false;
    }
    say("recovered ok\n");
    return true;
}

static bool parse_case(const char* cmdline, enum hostile_case* which)
{
    uint32_t length;
    const char* value = cmdline_find(cmdline, "hostile.case", &length);
    if (!value) {
        print("hostile: no hostile.case=<name> on the command line\n");
        return false;
    }
    for (uint32_t i = 0; i < CASE_COUNT; i++) {
        if (strlen(case_names[i]) == length && memcmp(case_names[i], value, length) == 0) {
            *which = (enum hostile_case)i;
            case_name = case_names[i];
            return true;
        }
    }
    print("hostile: unknown hostile.case '");
    print_n(value, length);
    print("'\n");
    return false;
}

int main(const struct hvm_start_info* info)
{
    const char* cmdline = pvh_cmdline(info);
    enum hostile_case which;
    if (!parse_case(cmdline, &which))
        return 1;
    uint32_t target = 0;
    uint32_t length;
    const char* value = cmdline_find(cmdline, "hostile.disk", &length);
    if (value && !parse_decimal(value, length, &target)) {
        print("hostile: hostile.disk wants a decimal disk index\n");
        return 1;
    }
    uint32_t count = virtio_mmio_find_all(cmdline, VIRTIO_ID_BLOCK, disks, MAX_DISKS);
    if (target >= count) {
        print("hostile: no virtio-blk disk ");
        print_dec(target);
        print(" (found ");
        print_dec(count);
        print(")\n");
        return 1;
    }
    print("hostile: case ");
    print(case_name);
    print(" on disk ");
    print_dec(target);
    print(" at 0x");
    print_hex32(disks[target].base);
    print("\n");

    if (which == CASE_FLOOD) {
        if (count < 2) {
            print("hostile: flood needs a second virtio-blk disk\n");
            return 1;
        }
        flood(target, target == 0 ? 1 : 0);
        return 1;
    }
    bool ok = break_device(which, &disks[target]);
    for (uint32_t i = 0; i < count; i++)
        if (i != target && !check_other_disk(i))
            ok = false;
    if (!recover(&disks[target]))
        ok = false;
    print("hostile: done\n");
    return ok ? 0 : 1;
}
