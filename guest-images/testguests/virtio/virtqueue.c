/* Split virtqueue driver side (virtio 1.2 §2.7, "Split Virtqueues"; §2.7.13, "Supplying Buffers
   to The Device"; §2.7.14, "Receiving Used Buffers From The Device"). */
#include "virtqueue.h"

#include "io.h"
#include "string.h"

/* Each poll is a few emulated instructions (~µs on this project's machines): a few seconds in
   all, far longer than a VMM needs for one request, short enough to fail a test visibly. */
#define USED_POLL_LIMIT 4000000

void virtqueue_init(struct virtqueue* queue, uint16_t size)
{
    memset(queue, 0, sizeof *queue);
    queue->size = size;
}

bool virtqueue_publish(struct virtqueue* queue, const struct virtq_buffer* buffers, uint32_t count)
{
    if (count == 0 || count > queue->size)
        return false;
    for (uint32_t i = 0; i < count; i++) {
        struct virtq_desc* desc = &queue->desc[i];
        desc->addr = (uint32_t)(uintptr_t)buffers[i].data;  /* paging off: pointer = address */
        desc->len = buffers[i].length;
        desc->flags = (uint16_t)((buffers[i].device_writes ? VIRTQ_DESC_F_WRITE : 0) |
                                 (i + 1 < count ? VIRTQ_DESC_F_NEXT : 0));
        desc->next = (uint16_t)(i + 1 < count ? i + 1 : 0);
    }
    /* §2.7.13.2: the ring entry first, then idx. x86 keeps stores in order (TSO), so only the
       compiler must not reorder: the barrier makes the descriptors and ring entry visible
       before the device can see the new idx. */
    queue->avail.ring[queue->avail.idx % queue->size] = 0;  /* head descriptor */
    barrier();
    *(volatile uint16_t*)&queue->avail.idx = (uint16_t)(queue->avail.idx + 1);
    barrier();
    return true;
}

bool virtqueue_wait(struct virtqueue* queue, uint32_t* written)
{
    for (uint32_t i = 0; i < USED_POLL_LIMIT; i++) {
        /* Pairs with the device's release of used.idx after writing the element: x86 does not
           reorder loads, so once idx moves the element below it is complete. */
        uint16_t used_idx = *(volatile uint16_t*)&queue->used.idx;
        if (used_idx != queue->last_used) {
            barrier();
            const volatile struct virtq_used_elem* elem = &queue->used.ring[queue->last_used % queue->size];
            *written = elem->len;
            queue->last_used = (uint16_t)(queue->last_used + 1);
            return true;
        }
        cpu_relax();
    }
    return false;
}
