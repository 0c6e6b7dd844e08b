/* Raw virtio-mmio register access and discovery of every device of one type, for guests that
   drive the transport by hand, rule-breaking included (virtio 1.2 §4.2.2, "MMIO Device Register
   Layout"; §4.2.3.2, "Virtqueue Configuration"). */
#ifndef TESTGUEST_VIRTIO_MMIO_RAW_H
#define TESTGUEST_VIRTIO_MMIO_RAW_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_mmio.h"

/* 32-bit aligned register accesses (§4.2.2.2) at `offset` in the device's window. */
uint32_t virtio_mmio_read_reg(const struct virtio_mmio_device* device, uint32_t offset);
void virtio_mmio_write_reg(const struct virtio_mmio_device* device, uint32_t offset, uint32_t value);

/* Fills devices[0..max-1] with the version-2 devices of `device_id` found in the cmdline's
   `virtio_mmio.device=` entries, in cmdline order; returns how many were found. Entries that do
   not parse or hold something else are skipped silently. */
uint32_t virtio_mmio_find_all(const char* cmdline, uint32_t device_id, struct virtio_mmio_device* devices,
                              uint32_t max);

/* §4.2.3.2 by hand: selects queue `index` and writes QueueNum = `size` (any value, even one the
   spec forbids), the three ring addresses of `queue` and QueueReady = 1. Returns QueueReady as
   read back. The caller sets queue->size itself. */
uint32_t virtio_mmio_program_queue(struct virtio_mmio_device* device, uint32_t index, uint32_t size,
                                   struct virtqueue* queue);

#endif
