/* Keeps writing a virtio-blk disk in a pseudo-random block order, one synchronous request at a
   time, each block stamped with the write's sequence number, so the host can prove that a copy
   of the disk taken meanwhile (an online backup) equals the disk at a single instant (virtio 1.2
   §5.2.6, "Device Operation"). It also reports configuration changes (§2.5.1, §4.2.3.4: an
   online resize bumps ConfigGeneration, sets InterruptStatus bit 1 and changes capacity).
   WARNING: it overwrites the first `blocks * bs` bytes of the disk. The stamp layout and the
   block order are shared with tests/support/stamped_disk.hpp: change both together. */
#include "runtime.h"

#include "virtio/virtio_mmio.h"
#include "virtio/virtio_mmio_raw.h"

#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_CONFIG_CAPACITY 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_MMIO_INT_CONFIG 2 /* §4.2.2 InterruptStatus bit 1: configuration change */

#define SECTOR_SIZE 512
#define MAX_BS 65536
#define STAMP_MAGIC 0x5453564du /* "MVST" little-endian */

struct virtio_blk_req_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

/* At the start of every 512-byte sector of a stamped block; the rest of the sector is zero. */
struct sector_stamp {
    uint32_t magic;
    uint32_t sector_in_block;
    uint64_t sequence; /* the write's number, 1, 2, ... */
    uint64_t block;
    uint64_t seed;
};

static struct virtio_mmio_device device;
static struct virtqueue queue;
static struct virtio_blk_req_header header;
static uint8_t status;
static uint8_t block_data[MAX_BS] __attribute__((aligned(4096)));

struct settings {
    uint32_t bs;
    uint32_t blocks; /* 0: as many as fit */
    uint32_t seed;
    uint32_t count;  /* 0: forever */
    uint32_t every;
};

static bool parse_key(const char* cmdline, const char* key, uint32_t* value)
{
    uint32_t length;
    const char* text = cmdline_find(cmdline, key, &length);
    if (!text)
        return true;
    if (parse_decimal(text, length, value))
        return true;
    print("blkstamp: FAILED (bad ");
    print(key);
    print("='");
    print_n(text, length);
    print("', want a decimal number)\n");
    return false;
}

static bool parse_settings(const char* cmdline, struct settings* s)
{
    *s = (struct settings){4096, 0, 1, 0, 100};
    if (!parse_key(cmdline, "blkstamp.bs", &s->bs) || !parse_key(cmdline, "blkstamp.blocks", &s->blocks)
        || !parse_key(cmdline, "blkstamp.seed", &s->seed) || !parse_key(cmdline, "blkstamp.count", &s->count)
        || !parse_key(cmdline, "blkstamp.every", &s->every))
        return false;
    if (s->bs < SECTOR_SIZE || s->bs > MAX_BS || (s->bs & (s->bs - 1))) {
        print("blkstamp: FAILED (blkstamp.bs must be a power of two from 512 to 65536)\n");
        return false;
    }
    if (s->every == 0)
        s->every = 100;
    return true;
}

/* The block of write `n` comes from the 32-bit LCG x = 1664525 x + 1013904223, x0 = seed,
   stepped once per write: block = (x * blocks) >> 32. */
static uint32_t next_block(uint32_t* x, uint32_t blocks)
{
    *x = *x * 1664525u + 1013904223u;
    return (uint32_t)(((uint64_t)*x * blocks) >> 32);
}

static void stamp(uint32_t bs, uint64_t sequence, uint32_t block, uint32_t seed)
{
    for (uint32_t s = 0; s < bs / SECTOR_SIZE; s++) {
        struct sector_stamp* st = (struct sector_stamp*)(block_data + s * SECTOR_SIZE);
        st->magic = STAMP_MAGIC;
        st->sector_in_block = s;
        st->sequence = sequence;
        st->block = block;
        st->seed = seed;
    }
}

/* One write; returns the status byte (0xff: no answer). Leaves InterruptStatus to the caller. */
static uint8_t write_block(uint64_t sector, uint32_t bs)
{
    header = (struct virtio_blk_req_header){VIRTIO_BLK_T_OUT, 0, sector};
    status = 0xff;
    struct virtq_buffer chain[3] = {
        {&header, sizeof header, false},
        {block_data, bs, false},
        {&status, 1, true},
    };
    if (!virtqueue_publish(&queue, chain, 3))
        return 0xff;
    virtio_mmio_write_reg(&device, VIRTIO_MMIO_QUEUE_NOTIFY, 0);
    uint32_t written;
    if (!virtqueue_wait(&queue, &written))
        return 0xff;
    return *(volatile uint8_t*)&status;
}

/* Acknowledges pending interrupts; on a configuration change (the InterruptStatus bit, or a new
   ConfigGeneration) prints the generation and the capacity the driver now sees. */
static void check_interrupts(uint32_t* generation)
{
    uint32_t pending = virtio_mmio_read_reg(&device, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (pending)
        virtio_mmio_write_reg(&device, VIRTIO_MMIO_INTERRUPT_ACK, pending);
    uint32_t now = virtio_mmio_read_reg(&device, VIRTIO_MMIO_CONFIG_GENERATION);
    if (!(pending & VIRTIO_MMIO_INT_CONFIG) && now == *generation)
        return;
    *generation = now;
    print("blkstamp: config change interrupt=");
    print_dec((pending & VIRTIO_MMIO_INT_CONFIG) ? 1 : 0);
    print(" generation ");
    print_dec(now);
    print(" capacity ");
    print_dec64(virtio_mmio_config_read64(&device, VIRTIO_BLK_CONFIG_CAPACITY));
    print(" sectors\n");
}

int main(const struct hvm_start_info* info)
{
    const char* cmdline = pvh_cmdline(info);
    struct settings s;
    if (!parse_settings(cmdline, &s))
        return 1;
    if (!virtio_mmio_find(cmdline, VIRTIO_ID_BLOCK, &device)) {
        print("blkstamp: FAILED (no virtio-blk device in the virtio_mmio.device= entries)\n");
        return 1;
    }
    print("blkstamp: device at 0x");
    print_hex32(device.base);
    print(" irq ");
    print_dec(device.irq);
    print("\n");
    if (!virtio_mmio_negotiate(&device, 1ull << VIRTIO_BLK_F_RO) || !virtio_mmio_setup_queue(&device, 0, &queue)) {
        print("blkstamp: FAILED (device setup)\n");
        return 1;
    }
    if (device.features & (1ull << VIRTIO_BLK_F_RO)) {
        print("blkstamp: FAILED (read-only device)\n");
        return 1;
    }
    virtio_mmio_driver_ok(&device);
    uint32_t generation = virtio_mmio_read_reg(&device, VIRTIO_MMIO_CONFIG_GENERATION);
    uint64_t capacity = virtio_mmio_config_read64(&device, VIRTIO_BLK_CONFIG_CAPACITY);
    uint32_t shift = 0; /* bs = 512 << shift: no 64-bit division (no libgcc here) */
    while (((uint32_t)SECTOR_SIZE << shift) < s.bs)
        shift++;
    uint64_t fit = capacity >> shift;
    if (fit > 0xffffffffu)
        fit = 0xffffffffu;
    if (s.blocks == 0)
        s.blocks = (uint32_t)fit;
    if (s.blocks == 0 || s.blocks > fit) {
        print("blkstamp: FAILED (blkstamp.blocks=");
        print_dec(s.blocks);
        print(" but the disk holds ");
        print_dec64(fit);
        print(" blocks)\n");
        return 1;
    }
    print("blkstamp: bs=");
    print_dec(s.bs);
    print(" blocks=");
    print_dec(s.blocks);
    print(" seed=");
    print_dec(s.seed);
    print(" count=");
    print_dec(s.count);
    print(" capacity=");
    print_dec64(capacity);
    print("\n");
    print("blkstamp: start\n");

    memset(block_data, 0, s.bs);
    uint32_t x = s.seed;
    uint32_t since_marker = 0;
    for (uint64_t n = 1; s.count == 0 || n <= s.count; n++) {
        uint32_t block = next_block(&x, s.blocks);
        stamp(s.bs, n, block, s.seed);
        uint8_t result = write_block((uint64_t)block << shift, s.bs);
        if (result != VIRTIO_BLK_S_OK) {
            print("blkstamp: FAILED (write ");
            print_dec64(n);
            print(" block ");
            print_dec(block);
            print(" status ");
            print_dec(result);
            print(")\n");
            return 1;
        }
        check_interrupts(&generation);
        if (++since_marker == s.every) {
            since_marker = 0;
            print("blkstamp: wrote ");
            print_dec64(n);
            print("\n");
        }
    }
    print("blkstamp: done ");
    print_dec(s.count);
    print(" writes\n");
    return 0;
}
