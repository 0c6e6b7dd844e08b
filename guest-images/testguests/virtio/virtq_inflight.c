/* Split virtqueue with many chains in flight, batched notifications (see virtq_inflight.h). */
#include "virtq_inflight.h"

#include "io.h"

#define PAGE 4096u

static uint32_t align_up(uint32_t value, uint32_t alignment)
{
    return (value + alignment - 1) & ~(alignment - 1);
}

/* §2.7: descriptor table 16*size (16-byte aligned), available ring 6+2*size (2-byte aligned),
   used ring 6+8*size (4-byte aligned). We start each on a page for simplicity. */
static uint32_t avail_offset(uint16_t size)
{
    return align_up(16u * size, PAGE);
}

static uint32_t used_offset(uint16_t size)
{
    return avail_offset(size) + align_up(6u + 2u * size, PAGE);
}

uint32_t virtq_inflight_ring_bytes(uint16_t size)
{
    return used_offset(size) + align_up(6u + 8u * size, PAGE);
}

static uint32_t reg_read(const struct virtio_mmio_device* device, uint32_t offset)
{
    return mmio_read32(device->base + offset);
}

static void reg_write(const struct virtio_mmio_device* device, uint32_t offset, uint32_t value)
{
    mmio_write32(device->base + offset, value);
}

bool virtq_inflight_size(struct virtio_mmio_device* device, uint32_t index, uint32_t wanted, uint16_t* size)
{
    reg_write(device, VIRTIO_MMIO_QUEUE_SEL, index);
    if (reg_read(device, VIRTIO_MMIO_QUEUE_READY) != 0)
        return false;
    uint32_t max = reg_read(device, VIRTIO_MMIO_QUEUE_NUM_MAX);
    uint32_t chosen = 1;
    while (chosen < wanted)
        chosen <<= 1;
    if (max == 0 || chosen > max || chosen > 32768)
        return false;
    *size = (uint16_t)chosen;
    return true;
}

bool virtq_inflight_setup(struct virtio_mmio_device* device, uint32_t index, struct virtq_inflight* queue,
                          void* memory, uint16_t size)
{
    uint8_t* base = memory;
    queue->desc = (struct virtq_desc*)base;
    queue->avail = (volatile uint16_t*)(base + avail_offset(size));
    queue->used = (volatile uint16_t*)(base + used_offset(size));
    queue->size = size;
    queue->event_idx = (device->features >> VIRTIO_F_EVENT_IDX) & 1;
    queue->avail_shadow = 0;
    queue->published = 0;
    queue->last_used = 0;
    queue->notifications = 0;
    /* Only what the protocol reads before we write it: the ring headers and the two event
       fields (the descriptor table and ring entries are written before they are published). */
    queue->avail[0] = queue->event_idx ? 0 : VIRTQ_AVAIL_F_NO_INTERRUPT;
    queue->avail[1] = 0;
    queue->avail[2 + size] = 0x8000;         /* used_event: far ahead (see virtq_inflight_quiet) */
    queue->used[0] = 0;
    queue->used[1] = 0;
    *(volatile uint16_t*)((volatile uint8_t*)queue->used + 4 + 8u * size) = 0;  /* avail_event */

    reg_write(device, VIRTIO_MMIO_QUEUE_SEL, index);
    reg_write(device, VIRTIO_MMIO_QUEUE_NUM, size);
    reg_write(device, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)queue->desc);
    reg_write(device, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    reg_write(device, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(uintptr_t)queue->avail);
    reg_write(device, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    reg_write(device, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(uintptr_t)queue->used);
    reg_write(device, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    reg_write(device, VIRTIO_MMIO_QUEUE_READY, 1);
    return reg_read(device, VIRTIO_MMIO_QUEUE_READY) == 1;
}

/* §2.7.10: notify iff the device's avail_event lies in [old, new) (Linux vring_need_event). */
static bool need_event(uint16_t event, uint16_t new_idx, uint16_t old_idx)
{
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old_idx);
}

void virtq_inflight_kick(struct virtio_mmio_device* device, uint32_t index, struct virtq_inflight* queue)
{
    uint16_t old_idx = queue->published;
    uint16_t new_idx = queue->avail_shadow;
    if (old_idx == new_idx)
        return;
    /* §2.7.13.3: descriptors and ring entries before idx. x86 keeps stores in order (TSO); the
       compiler barrier keeps gcc from sinking them past the idx store. */
    barrier();
    queue->avail[1] = new_idx;
    queue->published = new_idx;
    bool notify = true;
    if (queue->event_idx) {
        /* Full barrier between publishing idx and reading avail_event (store-load order is the
           one x86 does not keep); pairs with the device's fence after it writes avail_event. */
        __asm__ volatile("lock; addl $0, (%%esp)" ::: "memory");
        uint16_t avail_event = *(volatile uint16_t*)((volatile uint8_t*)queue->used + 4 + 8u * queue->size);
        notify = need_event(avail_event, new_idx, old_idx);
    }
    if (notify) {
        /* §4.2.3.3: write the queue index to QueueNotify. */
        reg_write(device, VIRTIO_MMIO_QUEUE_NOTIFY, index);
        queue->notifications++;
    }
}
