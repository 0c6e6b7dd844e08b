/* Raw virtio-mmio register access and multi-device discovery (virtio 1.2 §4.2.2, "MMIO Device
   Register Layout"; §4.2.3.2, "Virtqueue Configuration"): the pieces virtio_mmio.c keeps
   private, for guests that must break the rules on purpose. */
#include "virtio_mmio_raw.h"

#include "cmdline.h"
#include "io.h"

uint32_t virtio_mmio_read_reg(const struct virtio_mmio_device* device, uint32_t offset)
{
    return mmio_read32(device->base + offset);
}

void virtio_mmio_write_reg(const struct virtio_mmio_device* device, uint32_t offset, uint32_t value)
{
    mmio_write32(device->base + offset, value);
}

uint32_t virtio_mmio_find_all(const char* cmdline, uint32_t device_id, struct virtio_mmio_device* devices,
                              uint32_t max)
{
    uint32_t found = 0;
    uint32_t length;
    for (const char* value = cmdline_find(cmdline, "virtio_mmio.device", &length); value && found < max;
         value = cmdline_find(value + length, "virtio_mmio.device", &length)) {
        struct virtio_mmio_device* device = &devices[found];
        if (!virtio_mmio_parse(value, length, device))
            continue;
        if (virtio_mmio_read_reg(device, VIRTIO_MMIO_MAGIC_VALUE) != VIRTIO_MMIO_MAGIC ||
            virtio_mmio_read_reg(device, VIRTIO_MMIO_DEVICE_ID) != device_id ||
            virtio_mmio_read_reg(device, VIRTIO_MMIO_VERSION) != 2)
            continue;
        device->device_id = device_id;
        found++;
    }
    return found;
}

uint32_t virtio_mmio_program_queue(struct virtio_mmio_device* device, uint32_t index, uint32_t size,
                                   struct virtqueue* queue)
{
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_SEL, index);
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_NUM, size);
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_DESC_LOW, (uint32_t)(uintptr_t)queue->desc);
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_DESC_HIGH, 0);
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_DRIVER_LOW, (uint32_t)(uintptr_t)&queue->avail);
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_DRIVER_HIGH, 0);
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_DEVICE_LOW, (uint32_t)(uintptr_t)&queue->used);
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_DEVICE_HIGH, 0);
    virtio_mmio_write_reg(device, VIRTIO_MMIO_QUEUE_READY, 1);
    return virtio_mmio_read_reg(device, VIRTIO_MMIO_QUEUE_READY);
}
