/* Exercises a virtio-blk device over virtio-mmio, one synchronous request at a time: read,
   write, flush, discard, write-zeroes, GET_ID and the error paths (virtio 1.2 §5.2, "Block
   Device": §5.2.3 feature bits, §5.2.4 configuration layout, §5.2.6 "Device Operation").
   `blk.mode=keep` leaves the written pattern on disk; `blk.mode=durability` writes it, flushes
   (§5.2.6.2: a completed flush makes completed writes durable), says so and spins until killed.
   WARNING: it overwrites sectors 1..8 of the disk. */
#include "runtime.h"

#include "virtio/virtio_mmio.h"

/* §5.2.3 feature bits. */
#define VIRTIO_BLK_F_RO 5
#define VIRTIO_BLK_F_FLUSH 9
#define VIRTIO_BLK_F_DISCARD 13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

/* §5.2.4: capacity is the first field of the configuration space, in 512-byte sectors. */
#define VIRTIO_BLK_CONFIG_CAPACITY 0

/* §5.2.6 request types and status values. */
#define VIRTIO_BLK_T_IN 0
#define VIRTIO_BLK_T_OUT 1
#define VIRTIO_BLK_T_FLUSH 4
#define VIRTIO_BLK_T_GET_ID 8
#define VIRTIO_BLK_T_DISCARD 11
#define VIRTIO_BLK_T_WRITE_ZEROES 13
#define VIRTIO_BLK_S_OK 0
#define VIRTIO_BLK_S_IOERR 1
#define VIRTIO_BLK_S_UNSUPP 2
#define VIRTIO_BLK_ID_BYTES 20

#define SECTOR_SIZE 512
#define TEST_FIRST_SECTOR 1
#define TEST_SECTORS 8
#define TEST_BYTES (TEST_SECTORS * SECTOR_SIZE)

/* The request header the device reads first (§5.2.6). */
struct virtio_blk_req_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

/* Payload of DISCARD and WRITE_ZEROES (§5.2.6, struct virtio_blk_discard_write_zeroes). */
struct virtio_blk_range {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;          /* bit 0: unmap (write-zeroes only) */
};

static struct virtio_mmio_device device;
static struct virtqueue queue;
static struct virtio_blk_req_header header;
static struct virtio_blk_range range;
static uint8_t status;
static uint8_t data[TEST_BYTES] __attribute__((aligned(4096)));
static uint8_t pattern[TEST_BYTES];
static uint32_t failures;

/* What the run does after the capacity check (cmdline `blk.mode=`). */
enum mode {
    MODE_ALL,          /* no key: every step */
    MODE_KEEP,         /* write + flush + read-back; no discard/write-zeroes, the pattern stays */
    MODE_DURABILITY,   /* write + flush, print `blk: flushed`, spin forever */
};

static bool has_feature(unsigned bit)
{
    return (device.features >> bit) & 1;
}

/* One request: header (device reads), optional payload, status byte (device writes). Returns
   the status byte, or 0xff when the device never answered or left it untouched. */
static uint8_t request(uint32_t type, uint64_t sector, void* payload, uint32_t length, bool device_writes)
{
    header.type = type;
    header.reserved = 0;
    header.sector = sector;
    status = 0xff;
    struct virtq_buffer chain[3];
    uint32_t count = 0;
    chain[count++] = (struct virtq_buffer){&header, sizeof header, false};
    if (length)
        chain[count++] = (struct virtq_buffer){payload, length, device_writes};
    chain[count++] = (struct virtq_buffer){&status, 1, true};
    uint32_t written;
    if (!virtio_mmio_transfer(&device, 0, &queue, chain, count, &written))
        return 0xff;
    return *(volatile uint8_t*)&status;
}

static void pass(const char* step)
{
    print("blk: ");
    print(step);
    print(" ok\n");
}

static void fail(const char* step, const char* why, uint32_t value)
{
    print("blk: ");
    print(step);
    print(" FAILED (");
    print(why);
    print_dec(value);
    print(")\n");
    failures++;
}

static void skip(const char* step, const char* why)
{
    print("blk: ");
    print(step);
    print(" skipped (");
    print(why);
    print(")\n");
}

/* Expects a request to end with `expected`; reports the step either way. */
static bool check_status(const char* step, uint8_t got, uint8_t expected)
{
    if (got == expected) {
        pass(step);
        return true;
    }
    fail(step, "status ", got);
    return false;
}

static void fill_pattern(void)
{
    for (uint32_t i = 0; i < TEST_BYTES; i++)
        pattern[i] = (uint8_t)(i * 7 + i / SECTOR_SIZE + 0x5a);
}

static void step_read_back(const char* step, const uint8_t* expected)
{
    memset(data, 0xee, TEST_BYTES);
    uint8_t result = request(VIRTIO_BLK_T_IN, TEST_FIRST_SECTOR, data, TEST_BYTES, true);
    if (result != VIRTIO_BLK_S_OK) {
        fail(step, "status ", result);
        return;
    }
    for (uint32_t i = 0; i < TEST_BYTES; i++) {
        if (data[i] != expected[i]) {
            fail(step, "mismatch at byte ", i);
            return;
        }
    }
    pass(step);
}

static bool set_up(const struct hvm_start_info* info)
{
    if (!virtio_mmio_find(pvh_cmdline(info), VIRTIO_ID_BLOCK, &device)) {
        print("blk: no virtio-blk device in the virtio_mmio.device= entries\n");
        return false;
    }
    print("blk: device at 0x");
    print_hex32(device.base);
    print(" irq ");
    print_dec(device.irq);
    print("\n");
    uint64_t wanted = (1ull << VIRTIO_BLK_F_RO) | (1ull << VIRTIO_BLK_F_FLUSH) |
                      (1ull << VIRTIO_BLK_F_DISCARD) | (1ull << VIRTIO_BLK_F_WRITE_ZEROES);
    if (!virtio_mmio_negotiate(&device, wanted)) {
        fail("init", "feature negotiation refused, status ", virtio_mmio_status(&device));
        return false;
    }
    print("blk: features 0x");
    print_hex64(device.features);
    print("\n");
    if (!virtio_mmio_setup_queue(&device, 0, &queue)) {
        virtio_mmio_fail(&device);
        fail("init", "queue 0 setup, status ", virtio_mmio_status(&device));
        return false;
    }
    virtio_mmio_driver_ok(&device);
    pass("init");
    return true;
}

/* Parses `blk.mode=`; false (with a message) for a value it does not know. */
static bool parse_mode(const char* cmdline, enum mode* mode)
{
    uint32_t length;
    const char* value = cmdline_find(cmdline, "blk.mode", &length);
    *mode = MODE_ALL;
    if (!value)
        return true;
    if (length == 4 && memcmp(value, "keep", 4) == 0) {
        *mode = MODE_KEEP;
        return true;
    }
    if (length == 10 && memcmp(value, "durability", 10) == 0) {
        *mode = MODE_DURABILITY;
        return true;
    }
    print("blk: unknown blk.mode '");
    print_n(value, length);
    print("' (want keep or durability)\n");
    return false;
}

/* blk.mode=durability: the pattern is on stable storage once the flush completes (§5.2.6.2);
   the host kills the VMM after `blk: flushed` and checks the file. Returns only on failure. */
static int run_durability(void)
{
    if (has_feature(VIRTIO_BLK_F_RO) || !has_feature(VIRTIO_BLK_F_FLUSH)) {
        fail("durability", "read-only, or no VIRTIO_BLK_F_FLUSH; low feature bits ",
             (uint32_t)device.features);
        return 1;
    }
    fill_pattern();
    memcpy(data, pattern, TEST_BYTES);
    if (!check_status("write", request(VIRTIO_BLK_T_OUT, TEST_FIRST_SECTOR, data, TEST_BYTES, false),
                      VIRTIO_BLK_S_OK))
        return 1;
    if (!check_status("flush", request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false), VIRTIO_BLK_S_OK))
        return 1;
    print("blk: flushed\n");
    for (;;)
        __asm__ volatile("1: jmp 1b");
}

int main(const struct hvm_start_info* info)
{
    enum mode mode;
    if (!parse_mode(pvh_cmdline(info), &mode))
        return 1;
    if (!set_up(info))
        return 1;

    uint64_t capacity = virtio_mmio_config_read64(&device, VIRTIO_BLK_CONFIG_CAPACITY);
    print("blk: capacity ");
    print_dec64(capacity);
    print(" sectors\n");
    if (capacity < TEST_FIRST_SECTOR + TEST_SECTORS) {
        fail("capacity", "need 9 sectors, have ", (uint32_t)capacity);
        print("blk: done\n");
        return 1;
    }
    pass("capacity");

    if (mode == MODE_DURABILITY)
        return run_durability();

    check_status("read", request(VIRTIO_BLK_T_IN, 0, data, SECTOR_SIZE, true), VIRTIO_BLK_S_OK);

    bool read_only = has_feature(VIRTIO_BLK_F_RO);
    if (read_only) {
        const char* why = "read-only device";
        skip("write", why);
        skip("flush", why);
        skip("read-back", why);
        skip("discard", why);
        skip("write-zeroes", why);
    } else {
        fill_pattern();
        memcpy(data, pattern, TEST_BYTES);
        check_status("write", request(VIRTIO_BLK_T_OUT, TEST_FIRST_SECTOR, data, TEST_BYTES, false),
                     VIRTIO_BLK_S_OK);
        if (has_feature(VIRTIO_BLK_F_FLUSH))
            check_status("flush", request(VIRTIO_BLK_T_FLUSH, 0, NULL, 0, false), VIRTIO_BLK_S_OK);
        else
            skip("flush", "VIRTIO_BLK_F_FLUSH not offered");
        step_read_back("read-back", pattern);

        range = (struct virtio_blk_range){TEST_FIRST_SECTOR, TEST_SECTORS, 0};
        if (mode == MODE_KEEP)
            skip("discard", "blk.mode=keep");
        else if (has_feature(VIRTIO_BLK_F_DISCARD))
            check_status("discard", request(VIRTIO_BLK_T_DISCARD, 0, &range, sizeof range, false),
                         VIRTIO_BLK_S_OK);
        else
            skip("discard", "VIRTIO_BLK_F_DISCARD not offered");

        if (mode == MODE_KEEP) {
            skip("write-zeroes", "blk.mode=keep");
        } else if (has_feature(VIRTIO_BLK_F_WRITE_ZEROES)) {
            range = (struct virtio_blk_range){TEST_FIRST_SECTOR, TEST_SECTORS, 0};
            if (check_status("write-zeroes",
                             request(VIRTIO_BLK_T_WRITE_ZEROES, 0, &range, sizeof range, false),
                             VIRTIO_BLK_S_OK)) {
                memset(pattern, 0, TEST_BYTES);
                step_read_back("read-zeroes", pattern);
            }
        } else {
            skip("write-zeroes", "VIRTIO_BLK_F_WRITE_ZEROES not offered");
        }
    }

    /* GET_ID: up to 20 bytes, NUL-terminated only when shorter (§5.2.6). */
    char id[VIRTIO_BLK_ID_BYTES + 1];
    memset(id, 0, sizeof id);
    if (check_status("get-id", request(VIRTIO_BLK_T_GET_ID, 0, id, VIRTIO_BLK_ID_BYTES, true),
                     VIRTIO_BLK_S_OK)) {
        print("blk: id '");
        for (uint32_t i = 0; id[i]; i++)
            serial_putc(id[i] >= 0x20 && id[i] < 0x7f ? id[i] : '?');
        print("'\n");
    }

    /* §5.2.6.1: a request past the end must fail with IOERR. */
    check_status("read-beyond-capacity", request(VIRTIO_BLK_T_IN, capacity, data, SECTOR_SIZE, true),
                 VIRTIO_BLK_S_IOERR);

    /* §5.2.6.2: a device offering RO fails writes with IOERR. */
    if (read_only)
        check_status("write-read-only", request(VIRTIO_BLK_T_OUT, 0, data, SECTOR_SIZE, false),
                     VIRTIO_BLK_S_IOERR);

    print("blk: done\n");
    return failures ? 1 : 0;
}
