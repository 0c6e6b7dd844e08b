/* Guest-side virtio-net over virtio-mmio, polled (virtio 1.2 §5.1, "Network Device": §5.1.3
   feature bits, §5.1.4 configuration layout, §5.1.6 "Device Operation"). One receive queue
   (queue 0) and one transmit queue (queue 1), rings and buffers in static memory that is never
   zeroed (`.noinit`), interrupts suppressed, every wait bounded.

   Header: with VIRTIO_F_VERSION_1 the header is always the 12-byte struct virtio_net_hdr_v1
   (num_buffers included, §5.1.6), with or without VIRTIO_NET_F_MRG_RXBUF; with MRG_RXBUF a
   received packet may span num_buffers receive buffers, which vnet_rx_next joins. */
#ifndef TESTGUEST_VIRTIO_NET_H
#define TESTGUEST_VIRTIO_NET_H

#include <stdbool.h>
#include <stdint.h>

#include "virtio_mmio.h"
#include "virtq_inflight.h"

/* §5.1.3 feature bits. */
#define VIRTIO_NET_F_CSUM 0
#define VIRTIO_NET_F_MAC 5
#define VIRTIO_NET_F_HOST_TSO4 11
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS 16

/* §5.1.6 header. */
#define VIRTIO_NET_HDR_F_NEEDS_CSUM 1
#define VIRTIO_NET_HDR_GSO_NONE 0
#define VIRTIO_NET_HDR_GSO_TCPV4 1

struct virtio_net_hdr_v1 {
    uint8_t flags;
    uint8_t gso_type;
    uint16_t hdr_len;
    uint16_t gso_size;
    uint16_t csum_start;
    uint16_t csum_offset;
    uint16_t num_buffers;
} __attribute__((packed));
_Static_assert(sizeof(struct virtio_net_hdr_v1) == 12, "virtio_net_hdr_v1 is 12 bytes");

#define VNET_HDR_SIZE 12
#define VNET_QUEUE_MAX 256           /* entries per queue (fewer if QueueNumMax is smaller) */
#define VNET_RXBUF_MAX 2048          /* bytes per receive buffer, header included */
#define VNET_RXBUF_MIN_NO_MRG 1526   /* §5.1.6.3.1: without MRG_RXBUF or GUEST_TSO/UFO */
#define VNET_FRAME_MAX 2048          /* largest received frame we keep (no GUEST_TSO): joined buffers */
#define VNET_TX_SLOTS 8              /* synchronous sends: slot k uses descriptors 2k, 2k+1 */
#define VNET_TX_SLOT_BYTES 2048

#define VIRTIO_NET_QUEUE_RX 0
#define VIRTIO_NET_QUEUE_TX 1

struct vnet {
    struct virtio_mmio_device mmio;
    struct virtq_inflight rx;
    struct virtq_inflight tx;
    uint8_t mac[6];
    uint64_t wanted;                  /* what vnet_start asked for (vnet_restart asks again) */
    bool mrg_rxbuf;                   /* VIRTIO_NET_F_MRG_RXBUF negotiated */
    uint32_t rxbuf_bytes;             /* size of each receive buffer */
    bool tx_busy[VNET_TX_SLOTS];      /* chain of slot k published, not yet back */
    uint32_t tx_slots;                /* min(VNET_TX_SLOTS, tx queue size / 2) */
    uint32_t tx_next_slot;
    uint32_t rx_frames;               /* frames handed out by vnet_rx_next */
    uint32_t rx_errors;               /* used elements that did not make a frame */
    uint32_t rx_unkicked;             /* receive buffers re-added since the last kick */
    int32_t rx_release;               /* buffer of the frame handed out last (-1: none) */
};

/* Finds the first virtio-net device in the cmdline's virtio_mmio.device= entries. */
bool vnet_find(struct vnet* net, const char* cmdline);

/* §3.1.1 + §5.1.5: negotiates VERSION_1 + MAC + (offered & wanted), reads the MAC (8-bit config
   accesses, §4.2.2.2), sets up both queues, posts every receive buffer and sets DRIVER_OK.
   `rxbuf_bytes` is the size of each receive buffer (<= VNET_RXBUF_MAX; >= 1526 unless MRG_RXBUF
   is negotiated). Prints `net: init FAILED (<why>)` and returns false on failure. */
bool vnet_start(struct vnet* net, uint64_t wanted, uint32_t rxbuf_bytes);

static inline bool vnet_has(const struct vnet* net, unsigned bit)
{
    return (net->mmio.features >> bit) & 1;
}

/* One look at the receive queue. True with *frame / *length (the frame after the 12-byte
   header, valid until the next call) and *hdr when a packet arrived; its buffers go back to
   the device at once (the frame is copied out first when it spans several buffers). Kicks the
   queue every `kick_every` re-posted buffers (1 = after each packet); call vnet_rx_flush to
   kick the rest. Malformed used elements (shorter than the header, bad id, a merged packet
   whose parts do not arrive) are counted in rx_errors and skipped. */
bool vnet_rx_next(struct vnet* net, const uint8_t** frame, uint32_t* length, struct virtio_net_hdr_v1* hdr,
                  uint32_t kick_every);
void vnet_rx_flush(struct vnet* net);

/* Synchronous transmit of one packet: header + frame copied into a slot buffer as one
   device-readable descriptor; waits (bounded) for the chain to come back. With
   `writable_tail` > 0 a device-writable descriptor of that many bytes is chained after it (a
   broken chain on purpose: the transmit queue only takes device-readable buffers, §5.1.6.2).
   `frame` may be NULL with `big` set: then the descriptor points at `big` (header included,
   `length` bytes in all) instead of copying. Returns 1 when the chain came back, 0 when it did
   not (the slot stays busy), -1 when no slot was free. */
int vnet_tx(struct vnet* net, const struct virtio_net_hdr_v1* hdr, const void* frame, uint32_t length,
            const void* big, uint32_t writable_tail);

/* Re-initializes the device after DEVICE_NEEDS_RESET (or anything else): reset, negotiate
   the same features again, fresh queues. */
bool vnet_restart(struct vnet* net);

/* Device status register (bit 0x40 = DEVICE_NEEDS_RESET). */
uint32_t vnet_status(const struct vnet* net);

/* Writes InterruptACK for whatever InterruptStatus shows (we poll; this drops the line). */
void vnet_ack_interrupts(struct vnet* net);

/* Polls needed for about one second on this project's emulated KVM (see the README). */
#define VNET_POLLS_PER_UNIT 30000u

#endif
