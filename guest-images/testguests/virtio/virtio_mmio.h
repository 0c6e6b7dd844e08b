/* Guest-side virtio-mmio transport, version 2 only: device discovery from the kernel-style
   `virtio_mmio.device=` cmdline entries, feature negotiation and queue setup (virtio 1.2
   §4.2.2, "MMIO Device Register Layout"; §4.2.3, "MMIO-specific Initialization And Device
   Operation"; §3.1, "Device Initialization"). */
#ifndef TESTGUEST_VIRTIO_MMIO_H
#define TESTGUEST_VIRTIO_MMIO_H

#include <stdbool.h>
#include <stdint.h>

#include "virtqueue.h"

/* §4.2.2 register offsets. */
#define VIRTIO_MMIO_MAGIC_VALUE 0x000        /* "virt" = 0x74726976 */
#define VIRTIO_MMIO_VERSION 0x004            /* 2 (1 is the legacy interface, not supported) */
#define VIRTIO_MMIO_DEVICE_ID 0x008          /* 0 = empty slot */
#define VIRTIO_MMIO_VENDOR_ID 0x00c
#define VIRTIO_MMIO_DEVICE_FEATURES 0x010    /* 32 bits selected by DEVICE_FEATURES_SEL */
#define VIRTIO_MMIO_DEVICE_FEATURES_SEL 0x014
#define VIRTIO_MMIO_DRIVER_FEATURES 0x020
#define VIRTIO_MMIO_DRIVER_FEATURES_SEL 0x024
#define VIRTIO_MMIO_QUEUE_SEL 0x030
#define VIRTIO_MMIO_QUEUE_NUM_MAX 0x034
#define VIRTIO_MMIO_QUEUE_NUM 0x038
#define VIRTIO_MMIO_QUEUE_READY 0x044
#define VIRTIO_MMIO_QUEUE_NOTIFY 0x050
#define VIRTIO_MMIO_INTERRUPT_STATUS 0x060
#define VIRTIO_MMIO_INTERRUPT_ACK 0x064
#define VIRTIO_MMIO_STATUS 0x070
#define VIRTIO_MMIO_QUEUE_DESC_LOW 0x080
#define VIRTIO_MMIO_QUEUE_DESC_HIGH 0x084
#define VIRTIO_MMIO_QUEUE_DRIVER_LOW 0x090   /* the available ring */
#define VIRTIO_MMIO_QUEUE_DRIVER_HIGH 0x094
#define VIRTIO_MMIO_QUEUE_DEVICE_LOW 0x0a0   /* the used ring */
#define VIRTIO_MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define VIRTIO_MMIO_CONFIG_GENERATION 0x0fc
#define VIRTIO_MMIO_CONFIG 0x100             /* device-specific configuration space */

#define VIRTIO_MMIO_MAGIC 0x74726976u

/* §2.1, "Device Status Field". */
#define VIRTIO_STATUS_ACKNOWLEDGE 1
#define VIRTIO_STATUS_DRIVER 2
#define VIRTIO_STATUS_DRIVER_OK 4
#define VIRTIO_STATUS_FEATURES_OK 8
#define VIRTIO_STATUS_DEVICE_NEEDS_RESET 64
#define VIRTIO_STATUS_FAILED 128

/* §6, "Reserved Feature Bits". */
#define VIRTIO_F_VERSION_1 32

#define VIRTIO_ID_NET 1
#define VIRTIO_ID_BLOCK 2

struct virtio_mmio_device {
    uintptr_t base;
    uint32_t size;           /* of the register window, from the cmdline */
    uint32_t irq;
    uint32_t device_id;      /* read from the device */
    uint64_t features;       /* what the device offers, then what was negotiated */
};

/* Parses one `<size>@<base>:<irq>[:<id>]` value (the Linux virtio_mmio.device syntax; size and
   base take 0x-hex or decimal, size also a K/M/G suffix). False when malformed or when the
   window lies above 4 GiB (unreachable with paging off). */
bool virtio_mmio_parse(const char* text, uint32_t length, struct virtio_mmio_device* device);

/* Finds the first `virtio_mmio.device=` entry whose window holds a version-2 device with the
   given device id. Prints one line per entry it rejects. */
bool virtio_mmio_find(const char* cmdline, uint32_t device_id, struct virtio_mmio_device* device);

/* §3.1.1 steps 1-6: reset, ACKNOWLEDGE, DRIVER, read the offered features, accept
   offered & wanted (VIRTIO_F_VERSION_1 is required), FEATURES_OK and check it stuck.
   On success device->features holds the negotiated set. */
bool virtio_mmio_negotiate(struct virtio_mmio_device* device, uint64_t wanted);

/* §4.2.3.2, "Virtqueue Configuration": program queue `index` with `queue`'s rings. */
bool virtio_mmio_setup_queue(struct virtio_mmio_device* device, uint32_t index, struct virtqueue* queue);

/* §3.1.1 step 8: DRIVER_OK. The device is live after this. */
void virtio_mmio_driver_ok(struct virtio_mmio_device* device);

/* Marks the device FAILED (§3.1.1: the driver gave up). */
void virtio_mmio_fail(struct virtio_mmio_device* device);

uint32_t virtio_mmio_status(const struct virtio_mmio_device* device);

/* Device-specific configuration reads at `offset` in the config space, retried while
   ConfigGeneration changes (§2.5.1, "Driver Requirements: Device Configuration Space"). */
uint32_t virtio_mmio_config_read32(const struct virtio_mmio_device* device, uint32_t offset);
uint64_t virtio_mmio_config_read64(const struct virtio_mmio_device* device, uint32_t offset);

/* Submits the chain on queue `index`, notifies the device and polls for completion. */
bool virtio_mmio_transfer(struct virtio_mmio_device* device, uint32_t index, struct virtqueue* queue,
                          const struct virtq_buffer* buffers, uint32_t count, uint32_t* written);

#endif
