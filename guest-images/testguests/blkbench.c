/* blkbench: a virtio-blk load generator for benchmarks (tools/bench/blk). It keeps `depth`
   requests of `bs` bytes in flight on one queue, polling the used ring and resubmitting each
   slot as it completes, with one QueueNotify per batch at most (virtio 1.2 §5.2 "Block
   Device", §2.7 split virtqueues, §2.7.10 VIRTIO_F_EVENT_IDX). It does as little CPU work per
   request as it can, because every guest instruction is expensive on software-emulated KVM.

   It cannot time itself: it prints `blkbench: start` just before the first submission and
   `blkbench: stop` just after the last completion, and the host timestamps those lines as
   they arrive on the serial console.

   Command line (all optional):
     blkbench.op=read|write|randread   default read
     blkbench.bs=<bytes>               power of two, 512..4M; default 1048576
     blkbench.depth=<n>                requests in flight, 1..64; default 32
     blkbench.bytes=<n>[K|M|G]         total bytes (a multiple of bs), or
     blkbench.count=<n>                total requests; default: one pass over the disk
     blkbench.seed=<n>                 randread LCG seed; default 1

   WARNING: op=write overwrites the disk (with whatever the buffers hold). */
#include "runtime.h"

#include "virtio/virtio_mmio.h"
#include "virtio/virtq_inflight.h"

#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_S_OK 0
#define SECTOR_SHIFT 9
#define VIRTIO_BLK_CONFIG_CAPACITY 0

#define MAX_DEPTH 64
#define DESCS_PER_SLOT 4               /* header, data, status, one spare: slot = id / 4 */
#define MAX_BS (4u << 20)

/* Guest-physical layout above the image (which ends well below 2 MiB): rings, headers and
   status bytes at 16 MiB, the data buffers from 17 MiB, one `bs` slot per request in flight.
   Checked against the PVH memory map before use. */
#define WORK_BASE 0x01000000u
#define HEADERS_OFFSET 0x00008000u     /* after the rings (<= 3 pages for 256 entries) */
#define STATUS_OFFSET 0x0000c000u
#define BUFFERS_BASE 0x01100000u

/* Every poll of an empty used ring is a few emulated instructions (µs each here): ~100 s. */
#define EMPTY_POLL_LIMIT 50000000u

enum op { OP_READ, OP_WRITE, OP_RANDREAD };

static struct virtio_mmio_device device;
static struct virtq_inflight queue;

static void failed(const char* why)
{
    print("blkbench: FAILED (");
    print(why);
    print(")\n");
}

static void failed_value(const char* why, uint32_t value)
{
    print("blkbench: FAILED (");
    print(why);
    print_dec(value);
    print(")\n");
}

/* Decimal with an optional K/M/G suffix, into 64 bits; false on anything else or overflow. */
static bool parse_size(const char* text, uint32_t length, uint64_t* value)
{
    uint64_t result = 0;
    uint32_t i = 0;
    for (; i < length && text[i] >= '0' && text[i] <= '9'; i++) {
        if (result >> 59)
            return false;
        result = result * 10 + (uint32_t)(text[i] - '0');
    }
    if (i == 0)
        return false;
    if (i + 1 == length) {
        unsigned shift = text[i] == 'K' ? 10 : text[i] == 'M' ? 20 : text[i] == 'G' ? 30 : 0;
        if (!shift || (result >> (63 - shift)))
            return false;
        result <<= shift;
    } else if (i != length) {
        return false;
    }
    *value = result;
    return true;
}

/* Looks up blkbench.<key>; false (with a FAILED line) when present but malformed. */
static bool option_size(const char* cmdline, const char* key, uint64_t* value, bool* present)
{
    uint32_t length;
    const char* text = cmdline_find(cmdline, key, &length);
    *present = text != NULL;
    if (!text)
        return true;
    if (parse_size(text, length, value))
        return true;
    print("blkbench: FAILED (bad ");
    print(key);
    print("=");
    print_n(text, length);
    print(")\n");
    return false;
}

static bool option_equals(const char* text, uint32_t length, const char* word)
{
    uint32_t i = 0;
    for (; i < length && word[i]; i++) {
        if (text[i] != word[i])
            return false;
    }
    return i == length && !word[i];
}

static uint32_t log2_exact(uint64_t value)
{
    uint32_t shift = 0;
    while (((uint64_t)1 << shift) < value)
        shift++;
    return shift;
}

/* Is [start, end) inside one RAM entry of the PVH memory map? */

/* The block of the next request: the next one in order (wrapping), or a uniform pick from a
   cheap LCG (Numerical Recipes constants) scaled to `blocks` without a division. */
static uint32_t next_request_block(bool random, uint32_t* lcg, uint32_t* next_block, uint32_t blocks)
{
    if (random) {
        *lcg = *lcg * 1664525u + 1013904223u;
        return (uint32_t)(((uint64_t)*lcg * blocks) >> 32);
    }
    const uint32_t block = *next_block;
    if (++*next_block == blocks)
        *next_block = 0;
    return block;
}

static bool ram_covers(const struct hvm_start_info* info, uint64_t start, uint64_t end)
{
    uint32_t count;
    const struct hvm_memmap_table_entry* map = pvh_memmap(info, &count);
    for (uint32_t i = 0; i < count; i++) {
        if (map[i].type == 1 && map[i].addr <= start && end <= map[i].addr + map[i].size)
            return true;
    }
    return false;
}

int main(const struct hvm_start_info* info)
{
    const char* cmdline = pvh_cmdline(info);

    /* Options. */
    enum op op = OP_READ;
    uint32_t length;
    const char* text = cmdline_find(cmdline, "blkbench.op", &length);
    if (text) {
        if (option_equals(text, length, "read"))
            op = OP_READ;
        else if (option_equals(text, length, "write"))
            op = OP_WRITE;
        else if (option_equals(text, length, "randread"))
            op = OP_RANDREAD;
        else {
            failed("blkbench.op must be read, write or randread");
            return 1;
        }
    }
    uint64_t bs = 1048576, depth = 32, bytes = 0, count = 0, seed = 1;
    bool has_bs, has_depth, has_bytes, has_count, has_seed;
    if (!option_size(cmdline, "blkbench.bs", &bs, &has_bs) ||
        !option_size(cmdline, "blkbench.depth", &depth, &has_depth) ||
        !option_size(cmdline, "blkbench.bytes", &bytes, &has_bytes) ||
        !option_size(cmdline, "blkbench.count", &count, &has_count) ||
        !option_size(cmdline, "blkbench.seed", &seed, &has_seed))
        return 1;
    const uint32_t bs_shift = log2_exact(bs);
    if (bs < 512 || bs > MAX_BS || ((uint64_t)1 << bs_shift) != bs) {
        failed("blkbench.bs must be a power of two from 512 to 4194304");
        return 1;
    }
    if (depth < 1 || depth > MAX_DEPTH) {
        failed("blkbench.depth must be 1..64");
        return 1;
    }
    if (has_bytes && has_count) {
        failed("give blkbench.bytes or blkbench.count, not both");
        return 1;
    }
    if (has_bytes) {
        if (bytes & (bs - 1)) {
            failed("blkbench.bytes must be a multiple of blkbench.bs");
            return 1;
        }
        count = bytes >> bs_shift;
        has_count = true;
    }
    if (count > 0xffffffffu) {
        failed("more than 2^32-1 requests");
        return 1;
    }

    /* Memory: work area and buffers must be RAM. */
    const uint64_t buffers_end = BUFFERS_BASE + depth * bs;
    if (!ram_covers(info, WORK_BASE, buffers_end)) {
        print("blkbench: FAILED (guest RAM must cover 0x01000000-0x");
        print_hex32((uint32_t)buffers_end);
        print(" per the PVH memory map: give the guest at least ");
        print_dec((uint32_t)(buffers_end >> 20) + 1);
        print(" MiB)\n");
        return 1;
    }

    /* Device. */
    if (!virtio_mmio_find(cmdline, VIRTIO_ID_BLOCK, &device)) {
        failed("no virtio-blk device in the virtio_mmio.device= entries");
        return 1;
    }
    print("blkbench: device at 0x");
    print_hex32(device.base);
    print(" irq ");
    print_dec(device.irq);
    print("\n");
    if (!virtio_mmio_negotiate(&device, (1ull << VIRTIO_F_EVENT_IDX) | (1ull << VIRTIO_BLK_F_RO))) {
        failed_value("feature negotiation refused, status ", virtio_mmio_status(&device));
        return 1;
    }
    if (op == OP_WRITE && ((device.features >> VIRTIO_BLK_F_RO) & 1)) {
        virtio_mmio_fail(&device);
        failed("op=write on a read-only device");
        return 1;
    }
    uint16_t size;
    if (!virtq_inflight_size(&device, 0, (uint32_t)depth * DESCS_PER_SLOT, &size)) {
        virtio_mmio_fail(&device);
        failed_value("queue 0 cannot hold this many descriptors: ", (uint32_t)depth * DESCS_PER_SLOT);
        return 1;
    }
    if (!virtq_inflight_setup(&device, 0, &queue, (void*)WORK_BASE, size)) {
        virtio_mmio_fail(&device);
        failed_value("queue 0 setup, status ", virtio_mmio_status(&device));
        return 1;
    }
    virtio_mmio_driver_ok(&device);

    const uint64_t capacity = virtio_mmio_config_read64(&device, VIRTIO_BLK_CONFIG_CAPACITY);
    const uint32_t sector_shift = bs_shift - SECTOR_SHIFT;   /* sectors per block, as a shift */
    const uint64_t blocks64 = capacity >> sector_shift;
    if (blocks64 == 0 || capacity > 0xffffffffu) {
        failed("disk smaller than one block, or 2 TiB or more (2^32 sectors)");
        return 1;
    }
    const uint32_t blocks = (uint32_t)blocks64;
    if (!has_count)
        count = blocks;  /* one pass over the disk */
    const uint32_t total = (uint32_t)count;

    print("blkbench: op=");
    print(op == OP_READ ? "read" : op == OP_WRITE ? "write" : "randread");
    print(" bs=");
    print_dec((uint32_t)bs);
    print(" depth=");
    print_dec((uint32_t)depth);
    print(" count=");
    print_dec(total);
    print(" capacity=");
    print_dec64(capacity);
    print(" queue=");
    print_dec(size);
    print(" event_idx=");
    print_dec(queue.event_idx);
    print("\n");

    /* Fixed chains: slot i owns descriptors 4i (header), 4i+1 (data), 4i+2 (status); 4i+3 is
       unused so that a used element's id gives the slot with a shift. */
    uint32_t* headers = (uint32_t*)(WORK_BASE + HEADERS_OFFSET);  /* 4 words per slot: type, reserved, sector */
    volatile uint8_t* status = (volatile uint8_t*)(WORK_BASE + STATUS_OFFSET);
    const uint32_t type = op == OP_WRITE ? VIRTIO_BLK_T_OUT : VIRTIO_BLK_T_IN;
    const uint16_t data_flags = op == OP_WRITE ? 0 : VIRTQ_DESC_F_WRITE;
    const uint32_t slots = (uint32_t)depth;
    for (uint32_t slot = 0; slot < slots; slot++) {
        struct virtq_desc* d = &queue.desc[slot * DESCS_PER_SLOT];
        uint32_t* header = &headers[slot * 4];
        header[0] = type;
        header[1] = 0;
        header[2] = 0;
        header[3] = 0;   /* sector high word: capacity < 2^32 sectors was checked */
        d[0] = (struct virtq_desc){(uint32_t)(uintptr_t)header, 16, VIRTQ_DESC_F_NEXT,
                                   (uint16_t)(slot * DESCS_PER_SLOT + 1)};
        d[1] = (struct virtq_desc){BUFFERS_BASE + slot * (uint32_t)bs, (uint32_t)bs,
                                   (uint16_t)(data_flags | VIRTQ_DESC_F_NEXT), (uint16_t)(slot * DESCS_PER_SLOT + 2)};
        d[2] = (struct virtq_desc){(uint32_t)(uintptr_t)&status[slot], 1, VIRTQ_DESC_F_WRITE, 0};
    }

    /* The hot loop works on local copies of the ring pointers and indices: every instruction
       counts when each one is emulated. Per request it reads one used element and one status
       byte, and writes one sector word, one status byte and one avail entry. */
    volatile uint16_t* const used_idx = &queue.used[1];
    const volatile uint32_t* const used_ring = (const volatile uint32_t*)(queue.used + 2);  /* id, len pairs */
    volatile uint16_t* const avail_ring = queue.avail + 2;
    const uint32_t mask = queue.size - 1u;
    uint16_t last_used = 0, avail_idx = 0;
    uint32_t next_block = 0;        /* sequential position */
    uint32_t lcg = (uint32_t)seed;  /* randread state */
    uint32_t submitted = 0, completed = 0, empty_polls = 0, batches = 0;
    const bool random = op == OP_RANDREAD;

    print("blkbench: start\n");
    /* Fill the pipeline, one notification. */
    for (uint32_t slot = 0; slot < slots && submitted < total; slot++, submitted++) {
        headers[slot * 4 + 2] = next_request_block(random, &lcg, &next_block, blocks) << sector_shift;
        status[slot] = 0xff;
        avail_ring[avail_idx & mask] = (uint16_t)(slot * DESCS_PER_SLOT);
        avail_idx++;
    }
    queue.avail_shadow = avail_idx;
    virtq_inflight_kick(&device, 0, &queue);

    while (completed < total) {
        const uint16_t seen = *used_idx;
        if (seen == last_used) {
            if (++empty_polls > EMPTY_POLL_LIMIT) {
                print("blkbench: FAILED (no completion after ");
                print_dec(EMPTY_POLL_LIMIT);
                print(" polls; ");
                print_dec(completed);
                print(" of ");
                print_dec(total);
                print(" requests done)\n");
                return 1;
            }
            cpu_relax();
            continue;
        }
        empty_polls = 0;
        batches++;
        /* x86 does not reorder loads: the elements up to `seen` are complete. Drain them,
           resubmitting each slot, then one kick for the batch. */
        barrier();
        do {
            const uint32_t id = used_ring[2 * (last_used & mask)];
            last_used++;
            const uint32_t slot = id / DESCS_PER_SLOT;
            if (slot >= slots || id % DESCS_PER_SLOT) {
                failed_value("used element with unknown head ", id);
                return 1;
            }
            if (status[slot] != VIRTIO_BLK_S_OK) {
                print("blkbench: FAILED (request ");
                print_dec(completed);
                print(" sector ");
                print_dec(headers[slot * 4 + 2]);
                print(" status ");
                print_dec(status[slot]);
                print(")\n");
                return 1;
            }
            completed++;
            if (submitted < total) {
                headers[slot * 4 + 2] = next_request_block(random, &lcg, &next_block, blocks) << sector_shift;
                status[slot] = 0xff;
                avail_ring[avail_idx & mask] = (uint16_t)id;
                avail_idx++;
                submitted++;
            }
        } while (last_used != seen);
        queue.last_used = last_used;
        queue.avail_shadow = avail_idx;
        virtq_inflight_quiet(&queue);
        virtq_inflight_kick(&device, 0, &queue);
    }
    print("blkbench: stop\n");

    /* We polled; drop any interrupt the device raised anyway. */
    uint32_t pending = mmio_read32(device.base + VIRTIO_MMIO_INTERRUPT_STATUS);
    if (pending)
        mmio_write32(device.base + VIRTIO_MMIO_INTERRUPT_ACK, pending);
    print("blkbench: notifications ");
    print_dec(queue.notifications);
    print(" batches ");
    print_dec(batches);
    print("\n");
    print("blkbench: done ");
    print_dec(completed);
    print(" requests ");
    print_dec64((uint64_t)completed << bs_shift);
    print(" bytes\n");
    return 0;
}
