/* virtio-mmio version 2 driver side: cmdline discovery, feature negotiation, queue setup and
   synchronous transfers (virtio 1.2 §4.2.2, "MMIO Device Register Layout"; §4.2.3,
   "MMIO-specific Initialization And Device Operation"; §3.1.1, "Driver Requirements: Device
   Initialization"). Every register access is 32-bit and aligned, as §4.2.2.2 requires. */
#include "virtio_mmio.h"

#include "cmdline.h"
#include "io.h"
#include "serial.h"

#include <stddef.h>

static uint32_t reg_read(const struct virtio_mmio_device* device, uint32_t offset)
{
    return mmio_read32(device->base + offset);
}

static void reg_write(const struct virtio_mmio_device* device, uint32_t offset, uint32_t value)
{
    mmio_write32(device->base + offset, value);
}

/* Parses a 0x-hex or decimal number at *p (not past end); advances *p. */
static bool parse_number(const char** p, const char* end, uint64_t* value)
{
    const char* s = *p;
    uint64_t result = 0;
    unsigned base = 10;
    if (end - s > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    const char* digits = s;
    for (; s < end; s++) {
        unsigned digit;
        if (*s >= '0' && *s <= '9')
            digit = (unsigned)(*s - '0');
        else if (base == 16 && *s >= 'a' && *s <= 'f')
            digit = (unsigned)(*s - 'a' + 10);
        else if (base == 16 && *s >= 'A' && *s <= 'F')
            digit = (unsigned)(*s - 'A' + 10);
        else
            break;
        if (result >> 56)
            return false;  /* would overflow */
        result = result * base + digit;
    }
    if (s == digits)
        return false;
    *p = s;
    *value = result;
    return true;
}

bool virtio_mmio_parse(const char* text, uint32_t length, struct virtio_mmio_device* device)
{
    const char* p = text;
    const char* end = text + length;
    uint64_t size, base, irq;
    if (!parse_number(&p, end, &size))
        return false;
    if (p < end && (*p == 'K' || *p == 'k' || *p == 'M' || *p == 'm' || *p == 'G' || *p == 'g')) {
        unsigned shift = (*p == 'K' || *p == 'k') ? 10 : (*p == 'M' || *p == 'm') ? 20 : 30;
        if (size >> (64 - shift))
            return false;
        size <<= shift;
        p++;
    }
    if (p >= end || *p++ != '@' || !parse_number(&p, end, &base))
        return false;
    if (p >= end || *p++ != ':' || !parse_number(&p, end, &irq))
        return false;
    /* An optional ":<platform device id>" may follow; it means nothing to us. */
    if (p < end && *p != ':')
        return false;
    if (size < VIRTIO_MMIO_CONFIG || size > 0xffffffffu || base > 0xffffffffu - size + 1 || irq > 0xffffffffu)
        return false;
    device->base = (uintptr_t)base;
    device->size = (uint32_t)size;
    device->irq = (uint32_t)irq;
    device->device_id = 0;
    device->features = 0;
    return true;
}

bool virtio_mmio_find(const char* cmdline, uint32_t device_id, struct virtio_mmio_device* device)
{
    uint32_t length;
    for (const char* value = cmdline_find(cmdline, "virtio_mmio.device", &length); value;
         value = cmdline_find(value + length, "virtio_mmio.device", &length)) {
        if (!virtio_mmio_parse(value, length, device)) {
            print("virtio: cannot parse virtio_mmio.device=");
            print_n(value, length);
            print("\n");
            continue;
        }
        if (reg_read(device, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC)
            continue;  /* nothing there */
        uint32_t id = reg_read(device, VIRTIO_MMIO_DEVICE_ID);
        if (id != device_id)
            continue;  /* an empty slot (id 0) or another kind of device */
        uint32_t version = reg_read(device, VIRTIO_MMIO_VERSION);
        if (version != 2) {
            print("virtio: device at 0x");
            print_hex32(device->base);
            print(" is virtio-mmio version ");
            print_dec(version);
            print(", need 2\n");
            continue;
        }
        device->device_id = id;
        return true;
    }
    return false;
}

uint32_t virtio_mmio_status(const struct virtio_mmio_device* device)
{
    return reg_read(device, VIRTIO_MMIO_STATUS);
}

static void add_status(struct virtio_mmio_device* device, uint32_t bits)
{
    reg_write(device, VIRTIO_MMIO_STATUS, reg_read(device, VIRTIO_MMIO_STATUS) | bits);
}

bool virtio_mmio_negotiate(struct virtio_mmio_device* device, uint64_t wanted)
{
    /* §4.2.3.1.1: writing 0 resets; the device reads back 0 once the reset is done. */
    reg_write(device, VIRTIO_MMIO_STATUS, 0);
    for (unsigned i = 0; i < 1000 && reg_read(device, VIRTIO_MMIO_STATUS) != 0; i++)
        cpu_relax();
    if (reg_read(device, VIRTIO_MMIO_STATUS) != 0)
        return false;
    add_status(device, VIRTIO_STATUS_ACKNOWLEDGE);
    add_status(device, VIRTIO_STATUS_DRIVER);

    uint64_t offered = 0;
    for (uint32_t word = 0; word < 2; word++) {
        reg_write(device, VIRTIO_MMIO_DEVICE_FEATURES_SEL, word);
        offered |= (uint64_t)reg_read(device, VIRTIO_MMIO_DEVICE_FEATURES) << (32 * word);
    }
    device->features = offered;
    /* §6.1: a driver for the non-legacy interface must accept VERSION_1. */
    if (!(offered & (1ull << VIRTIO_F_VERSION_1))) {
        virtio_mmio_fail(device);
        return false;
    }
    uint64_t accepted = offered & (wanted | (1ull << VIRTIO_F_VERSION_1));
    for (uint32_t word = 0; word < 2; word++) {
        reg_write(device, VIRTIO_MMIO_DRIVER_FEATURES_SEL, word);
        reg_write(device, VIRTIO_MMIO_DRIVER_FEATURES, (uint32_t)(accepted >> (32 * word)));
    }
    add_status(device, VIRTIO_STATUS_FEATURES_OK);
    /* §3.1.1 step 6: the device may refuse the subset by clearing FEATURES_OK. */
    if (!(reg_read(device, VIRTIO_MMIO_STATUS) & VIRTIO_STATUS_FEATURES_OK)) {
        virtio_mmio_fail(device);
        return false;
    }
    device->features = accepted;
    return true;
}

static void write_address(struct virtio_mmio_device* device, uint32_t low_register, const void* pointer)
{
    reg_write(device, low_register, (uint32_t)(uintptr_t)pointer);
    reg_write(device, low_register + 4, 0);
}

bool virtio_mmio_setup_queue(struct virtio_mmio_device* device, uint32_t index, struct virtqueue* queue)
{
    reg_write(device, VIRTIO_MMIO_QUEUE_SEL, index);
    /* §4.2.3.2: the queue must not be in use (QueueReady 0); QueueNumMax 0 = no such queue. */
    if (reg_read(device, VIRTIO_MMIO_QUEUE_READY) != 0)
        return false;
    uint32_t max = reg_read(device, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (max == 0)
        return false;
    uint16_t size = VIRTQ_SIZE;
    while (size > max)
        size /= 2;  /* stays a power of two */
    virtqueue_init(queue, size);
    reg_write(device, VIRTIO_MMIO_QUEUE_NUM, size);
    write_address(device, VIRTIO_MMIO_QUEUE_DESC_LOW, queue->desc);
    write_address(device, VIRTIO_MMIO_QUEUE_DRIVER_LOW, &queue->avail);
    write_address(device, VIRTIO_MMIO_QUEUE_DEVICE_LOW, &queue->used);
    reg_write(device, VIRTIO_MMIO_QUEUE_READY, 1);
    return reg_read(device, VIRTIO_MMIO_QUEUE_READY) == 1;
}

void virtio_mmio_driver_ok(struct virtio_mmio_device* device)
{
    add_status(device, VIRTIO_STATUS_DRIVER_OK);
}

void virtio_mmio_fail(struct virtio_mmio_device* device)
{
    add_status(device, VIRTIO_STATUS_FAILED);
}

uint32_t virtio_mmio_config_read32(const struct virtio_mmio_device* device, uint32_t offset)
{
    uint32_t before, value;
    do {
        before = reg_read(device, VIRTIO_MMIO_CONFIG_GENERATION);
        value = reg_read(device, VIRTIO_MMIO_CONFIG + offset);
    } while (reg_read(device, VIRTIO_MMIO_CONFIG_GENERATION) != before);
    return value;
}

uint64_t virtio_mmio_config_read64(const struct virtio_mmio_device* device, uint32_t offset)
{
    /* Two 32-bit halves (§4.2.2.2), consistent only if the generation did not move between. */
    uint32_t before, low, high;
    do {
        before = reg_read(device, VIRTIO_MMIO_CONFIG_GENERATION);
        low = reg_read(device, VIRTIO_MMIO_CONFIG + offset);
        high = reg_read(device, VIRTIO_MMIO_CONFIG + offset + 4);
    } while (reg_read(device, VIRTIO_MMIO_CONFIG_GENERATION) != before);
    return ((uint64_t)high << 32) | low;
}

bool virtio_mmio_transfer(struct virtio_mmio_device* device, uint32_t index, struct virtqueue* queue,
                          const struct virtq_buffer* buffers, uint32_t count, uint32_t* written)
{
    if (!virtqueue_publish(queue, buffers, count))
        return false;
    /* §4.2.3.3, "Available Buffer Notifications": write the queue index to QueueNotify. */
    reg_write(device, VIRTIO_MMIO_QUEUE_NOTIFY, index);
    bool done = virtqueue_wait(queue, written);
    /* We poll instead of taking the interrupt, but acknowledge it so the line drops. */
    uint32_t pending = reg_read(device, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (pending)
        reg_write(device, VIRTIO_MMIO_INTERRUPT_ACK, pending);
    return done;
}
