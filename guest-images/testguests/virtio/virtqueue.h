/* A split virtqueue in static guest memory, driven synchronously: place one descriptor chain,
   publish it in the available ring, poll the used ring (virtio 1.2 §2.7, "Split Virtqueues":
   §2.7.5 descriptor table, §2.7.6 available ring, §2.7.8 used ring; §2.7.13, "Supplying
   Buffers to The Device"). No interrupts: the guests have no IDT. */
#ifndef TESTGUEST_VIRTQUEUE_H
#define TESTGUEST_VIRTQUEUE_H

#include <stdbool.h>
#include <stdint.h>

#define VIRTQ_SIZE 8                 /* a power of two (§2.7); plenty for one request at a time */

#define VIRTQ_DESC_F_NEXT 1          /* the chain continues at `next` */
#define VIRTQ_DESC_F_WRITE 2         /* device writes this buffer (else it reads it) */

/* §2.7.5: 16-byte alignment for the table. */
struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

/* §2.7.6: 2-byte alignment. used_event is unused: we never negotiate EVENT_IDX. */
struct virtq_avail {
    uint16_t flags;
    uint16_t idx;
    uint16_t ring[VIRTQ_SIZE];
    uint16_t used_event;
};

struct virtq_used_elem {
    uint32_t id;                     /* head descriptor index of the finished chain */
    uint32_t len;                    /* bytes the device wrote into the chain */
};

/* §2.7.8: 4-byte alignment. */
struct virtq_used {
    uint16_t flags;
    uint16_t idx;
    struct virtq_used_elem ring[VIRTQ_SIZE];
    uint16_t avail_event;
};

struct virtqueue {
    struct virtq_desc desc[VIRTQ_SIZE] __attribute__((aligned(16)));
    struct virtq_avail avail __attribute__((aligned(2)));
    struct virtq_used used __attribute__((aligned(4)));
    uint16_t size;                   /* negotiated: min(VIRTQ_SIZE, QueueNumMax) */
    uint16_t last_used;              /* used.idx value we have consumed up to */
};

/* One buffer of a chain. */
struct virtq_buffer {
    void* data;
    uint32_t length;
    bool device_writes;
};

void virtqueue_init(struct virtqueue* queue, uint16_t size);

/* Writes the chain into descriptors 0..count-1 and makes it available (one request in flight
   at a time, so the descriptors are always free). False if count is 0 or exceeds the size. */
bool virtqueue_publish(struct virtqueue* queue, const struct virtq_buffer* buffers, uint32_t count);

/* Polls the used ring a bounded number of times; true with *written set once the chain is back. */
bool virtqueue_wait(struct virtqueue* queue, uint32_t* written);

#endif
