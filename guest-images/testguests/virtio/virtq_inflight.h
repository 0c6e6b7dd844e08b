/* A split virtqueue with many requests in flight, driven by polling (virtio 1.2 §2.7, "Split
   Virtqueues"; §2.7.10 notification suppression with VIRTIO_F_EVENT_IDX; §2.7.13 "Supplying
   Buffers to The Device"; §2.7.14 "Receiving Used Buffers From The Device").

   Unlike `virtqueue.h` (one chain at a time, rings in static memory), the rings live in memory
   the caller hands over (paging is off: pointer = guest-physical address), the queue can be as
   large as the device allows, the caller owns the descriptor table (it writes its chains once
   and re-publishes their heads), and notifications are batched: `virtq_inflight_add` only
   queues a head, `virtq_inflight_kick` publishes every queued head with one idx store and
   writes QueueNotify only when the device asked for it (EVENT_IDX) or always (without it).
   Used-buffer notifications are suppressed (used_event kept far ahead, or
   VIRTQ_AVAIL_F_NO_INTERRUPT): the guests have no IDT. */
#ifndef TESTGUEST_VIRTQ_INFLIGHT_H
#define TESTGUEST_VIRTQ_INFLIGHT_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_mmio.h"
#include "virtqueue.h"

#define VIRTIO_F_INDIRECT_DESC 28
#define VIRTIO_F_EVENT_IDX 29
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1

/* Bytes of ring memory virtq_inflight_setup needs for a queue of `size` entries (4 KiB aligned
   start; descriptor table, then the available ring, then the used ring on its own page). */
uint32_t virtq_inflight_ring_bytes(uint16_t size);

struct virtq_inflight {
    struct virtq_desc* desc;                 /* size entries; the caller fills them */
    volatile uint16_t* avail;                /* flags, idx, ring[size], used_event */
    volatile uint16_t* used;                 /* flags, idx, then struct virtq_used_elem[size], avail_event */
    uint16_t size;                           /* a power of two */
    bool event_idx;                          /* VIRTIO_F_EVENT_IDX negotiated */
    uint16_t avail_shadow;                   /* next avail idx (not yet published past `published`) */
    uint16_t published;                      /* avail idx the device can see */
    uint16_t last_used;                      /* used idx consumed up to */
    uint32_t notifications;                  /* QueueNotify writes done */
};

/* Picks the queue size: the smallest power of two >= `wanted`, which must not exceed the
   device's QueueNumMax (false if it does, or if the queue does not exist or is in use). */
bool virtq_inflight_size(struct virtio_mmio_device* device, uint32_t index, uint32_t wanted, uint16_t* size);

/* §4.2.3.2: programs queue `index` with rings placed at `memory` (4 KiB aligned,
   virtq_inflight_ring_bytes(size) long; only the fields the protocol reads are zeroed). The
   device's negotiated features decide event_idx. Sets QueueReady; true once it reads back 1. */
bool virtq_inflight_setup(struct virtio_mmio_device* device, uint32_t index, struct virtq_inflight* queue,
                          void* memory, uint16_t size);

/* Queues the chain starting at descriptor `head` (not visible to the device until kicked). */
static inline void virtq_inflight_add(struct virtq_inflight* queue, uint16_t head)
{
    queue->avail[2 + (queue->avail_shadow & (queue->size - 1))] = head;
    queue->avail_shadow++;
}

/* Publishes the queued heads (one avail->idx store) and notifies queue `index` if needed. */
void virtq_inflight_kick(struct virtio_mmio_device* device, uint32_t index, struct virtq_inflight* queue);

/* One look at the used ring: true with *id and *len of the next used element, if any. Also keeps
   used_event ahead so that the device never interrupts. */
static inline bool virtq_inflight_poll(struct virtq_inflight* queue, uint32_t* id, uint32_t* len)
{
    uint16_t used_idx = queue->used[1];
    if (used_idx == queue->last_used)
        return false;
    /* x86 does not reorder loads: the element is complete once idx covers it. */
    __asm__ volatile("" ::: "memory");
    const volatile uint32_t* elem = (const volatile uint32_t*)(queue->used + 2) + 2 * (queue->last_used & (queue->size - 1));
    *id = elem[0];
    *len = elem[1];
    queue->last_used++;
    return true;
}

/* The used index as the device last published it (for draining a batch). */
static inline uint16_t virtq_inflight_used_idx(const struct virtq_inflight* queue)
{
    return queue->used[1];
}

/* Moves used_event half the index space ahead of what we consumed (EVENT_IDX only), so the
   device never finds a reason to interrupt. Call once per batch of consumed elements. */
static inline void virtq_inflight_quiet(struct virtq_inflight* queue)
{
    if (queue->event_idx)
        queue->avail[2 + queue->size] = (uint16_t)(queue->last_used + 0x8000);
}

#endif
