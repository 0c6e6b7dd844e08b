/* Polled virtio-net driver side over virtio-mmio (see virtio_net.h; virtio 1.2 §5.1). */
#include "virtio_net.h"

#include "io.h"
#include "serial.h"
#include "string.h"
#include "virtio_mmio_raw.h"

/* Rings and buffers: static, never zeroed (.noinit: zeroing half a MiB costs real time when
   every instruction is emulated). Only what the protocol reads is initialized. */
#define RING_BYTES (3 * 4096)   /* virtq_inflight_ring_bytes(256): one page each */
_Static_assert(VNET_QUEUE_MAX == 256, "RING_BYTES assumes 256 entries");

static uint8_t rx_ring[RING_BYTES] __attribute__((section(".noinit"), aligned(4096)));
static uint8_t tx_ring[RING_BYTES] __attribute__((section(".noinit"), aligned(4096)));
static uint8_t rx_buffers[VNET_QUEUE_MAX][VNET_RXBUF_MAX] __attribute__((section(".noinit"), aligned(4096)));
static uint8_t tx_slot_buffers[VNET_TX_SLOTS][VNET_TX_SLOT_BYTES] __attribute__((section(".noinit"), aligned(64)));
static uint8_t tx_sink[256] __attribute__((section(".noinit"), aligned(64)));
static uint8_t joined[VNET_FRAME_MAX + VNET_HDR_SIZE] __attribute__((section(".noinit"), aligned(64)));

/* Polls for the rest of a merged packet or a transmitted chain: generous (a device answers in
   microseconds) but bounded. */
#define TX_POLL_LIMIT 300000u
#define MERGE_POLL_LIMIT 200000u

static void init_failed(const char* why, uint32_t value)
{
    print("net: init FAILED (");
    print(why);
    print_dec(value);
    print(")\n");
}

bool vnet_find(struct vnet* net, const char* cmdline)
{
    return virtio_mmio_find(cmdline, VIRTIO_ID_NET, &net->mmio);
}

uint32_t vnet_status(const struct vnet* net)
{
    return virtio_mmio_read_reg(&net->mmio, VIRTIO_MMIO_STATUS);
}

void vnet_ack_interrupts(struct vnet* net)
{
    uint32_t pending = virtio_mmio_read_reg(&net->mmio, VIRTIO_MMIO_INTERRUPT_STATUS);
    if (pending)
        virtio_mmio_write_reg(&net->mmio, VIRTIO_MMIO_INTERRUPT_ACK, pending);
}

/* §4.2.2.2: 8-bit fields of the device configuration take 8-bit accesses; §2.5.1: retry while
   ConfigGeneration moves. */
static void read_mac(struct vnet* net)
{
    uint32_t before;
    do {
        before = virtio_mmio_read_reg(&net->mmio, VIRTIO_MMIO_CONFIG_GENERATION);
        for (uint32_t i = 0; i < 6; i++)
            net->mac[i] = *(volatile uint8_t*)(net->mmio.base + VIRTIO_MMIO_CONFIG + i);
    } while (virtio_mmio_read_reg(&net->mmio, VIRTIO_MMIO_CONFIG_GENERATION) != before);
}

/* The largest power of two <= min(VNET_QUEUE_MAX, QueueNumMax), or 0 without the queue. */
static uint16_t queue_size(struct vnet* net, uint32_t index)
{
    virtio_mmio_write_reg(&net->mmio, VIRTIO_MMIO_QUEUE_SEL, index);
    uint32_t max = virtio_mmio_read_reg(&net->mmio, VIRTIO_MMIO_QUEUE_NUM_MAX);
    if (virtio_mmio_read_reg(&net->mmio, VIRTIO_MMIO_QUEUE_READY) != 0)
        return 0;
    uint32_t size = VNET_QUEUE_MAX;
    while (size > max)
        size >>= 1;
    return (uint16_t)size;
}

static void rx_repost(struct vnet* net, uint16_t id)
{
    virtq_inflight_add(&net->rx, id);
    net->rx_unkicked++;
}

void vnet_rx_flush(struct vnet* net)
{
    if (net->rx_unkicked) {
        virtq_inflight_kick(&net->mmio, VIRTIO_NET_QUEUE_RX, &net->rx);
        net->rx_unkicked = 0;
    }
}

static bool bring_up(struct vnet* net)
{
    if (!virtio_mmio_negotiate(&net->mmio, net->wanted | (1ull << VIRTIO_NET_F_MAC))) {
        init_failed("feature negotiation refused, status ", vnet_status(net));
        return false;
    }
    net->mrg_rxbuf = vnet_has(net, VIRTIO_NET_F_MRG_RXBUF);
    if (!net->mrg_rxbuf && net->rxbuf_bytes < VNET_RXBUF_MIN_NO_MRG) {
        virtio_mmio_fail(&net->mmio);
        init_failed("receive buffers under 1526 bytes need VIRTIO_NET_F_MRG_RXBUF, have ", net->rxbuf_bytes);
        return false;
    }
    if (vnet_has(net, VIRTIO_NET_F_MAC)) {
        read_mac(net);
    } else {
        /* §5.1.5: without a MAC from the device the driver picks one (locally administered). */
        static const uint8_t fallback[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};
        memcpy(net->mac, fallback, 6);
    }

    uint16_t rx_size = queue_size(net, VIRTIO_NET_QUEUE_RX);
    uint16_t tx_size = queue_size(net, VIRTIO_NET_QUEUE_TX);
    if (rx_size == 0 || tx_size < 2) {
        virtio_mmio_fail(&net->mmio);
        init_failed("queue sizes rx/tx too small or queue in use: tx ", tx_size);
        return false;
    }
    if (!virtq_inflight_setup(&net->mmio, VIRTIO_NET_QUEUE_RX, &net->rx, rx_ring, rx_size) ||
        !virtq_inflight_setup(&net->mmio, VIRTIO_NET_QUEUE_TX, &net->tx, tx_ring, tx_size)) {
        virtio_mmio_fail(&net->mmio);
        init_failed("QueueReady did not stick, status ", vnet_status(net));
        return false;
    }
    net->tx_slots = tx_size / 2 < VNET_TX_SLOTS ? tx_size / 2 : VNET_TX_SLOTS;
    for (uint32_t k = 0; k < VNET_TX_SLOTS; k++)
        net->tx_busy[k] = false;
    net->tx_next_slot = 0;
    net->rx_unkicked = 0;
    net->rx_release = -1;

    /* §5.1.6.3: fill the receive queue before DRIVER_OK. One device-writable buffer per entry. */
    for (uint16_t i = 0; i < rx_size; i++) {
        net->rx.desc[i] = (struct virtq_desc){(uint32_t)(uintptr_t)rx_buffers[i], net->rxbuf_bytes,
                                              VIRTQ_DESC_F_WRITE, 0};
        virtq_inflight_add(&net->rx, i);
    }
    virtio_mmio_driver_ok(&net->mmio);
    /* After DRIVER_OK: a device may only look at the rings once it is live. */
    virtq_inflight_kick(&net->mmio, VIRTIO_NET_QUEUE_RX, &net->rx);
    return true;
}

bool vnet_start(struct vnet* net, uint64_t wanted, uint32_t rxbuf_bytes)
{
    net->wanted = wanted;
    net->rxbuf_bytes = rxbuf_bytes;
    net->rx_frames = 0;
    net->rx_errors = 0;
    if (rxbuf_bytes < VNET_HDR_SIZE || rxbuf_bytes > VNET_RXBUF_MAX) {
        init_failed("receive buffer size out of range: ", rxbuf_bytes);
        return false;
    }
    return bring_up(net);
}

bool vnet_restart(struct vnet* net)
{
    return bring_up(net);
}

bool vnet_rx_next(struct vnet* net, const uint8_t** frame, uint32_t* length, struct virtio_net_hdr_v1* hdr,
                  uint32_t kick_every)
{
    if (net->rx_release >= 0) {
        rx_repost(net, (uint16_t)net->rx_release);
        net->rx_release = -1;
    }
    if (net->rx_unkicked >= kick_every)
        vnet_rx_flush(net);
    uint32_t id, len;
    while (virtq_inflight_poll(&net->rx, &id, &len)) {
        virtq_inflight_quiet(&net->rx);
        if (id >= net->rx.size) {
            net->rx_errors++;  /* not a buffer we gave: nothing to re-post */
            continue;
        }
        const uint8_t* buffer = rx_buffers[id];
        if (len < VNET_HDR_SIZE || len > net->rxbuf_bytes) {
            net->rx_errors++;
            rx_repost(net, (uint16_t)id);
            continue;
        }
        memcpy(hdr, buffer, VNET_HDR_SIZE);
        uint32_t parts = net->mrg_rxbuf ? hdr->num_buffers : 1;
        if (parts == 1) {
            net->rx_release = (int32_t)id;
            *frame = buffer + VNET_HDR_SIZE;
            *length = len - VNET_HDR_SIZE;
            net->rx_frames++;
            return true;
        }
        if (parts == 0) {
            /* §5.1.6.4: with MRG_RXBUF the device sets num_buffers (>= 1). */
            net->rx_errors++;
            rx_repost(net, (uint16_t)id);
            continue;
        }
        /* §5.1.6.4.2: a packet spread over `parts` buffers, the header in the first. */
        uint32_t total = len;
        bool fits = total <= sizeof joined;
        if (fits)
            memcpy(joined, buffer, len);
        rx_repost(net, (uint16_t)id);
        bool complete = true;
        for (uint32_t part = 1; part < parts; part++) {
            uint32_t polls = 0;
            while (!virtq_inflight_poll(&net->rx, &id, &len)) {
                if (++polls == MERGE_POLL_LIMIT) {
                    complete = false;
                    break;
                }
                cpu_relax();
            }
            if (!complete)
                break;
            if (id >= net->rx.size || len > net->rxbuf_bytes) {
                complete = false;
                if (id < net->rx.size)
                    rx_repost(net, (uint16_t)id);
                break;
            }
            if (fits && total + len <= sizeof joined)
                memcpy(joined + total, rx_buffers[id], len);
            else
                fits = false;
            total += len;
            rx_repost(net, (uint16_t)id);
        }
        virtq_inflight_quiet(&net->rx);
        if (!complete || !fits) {
            net->rx_errors++;
            continue;
        }
        *frame = joined + VNET_HDR_SIZE;
        *length = total - VNET_HDR_SIZE;
        net->rx_frames++;
        return true;
    }
    return false;
}

/* Marks every chain the device has returned as free. */
static void tx_reclaim(struct vnet* net, uint32_t wanted_head, bool* seen)
{
    uint32_t id, len;
    while (virtq_inflight_poll(&net->tx, &id, &len)) {
        if (id / 2 < net->tx_slots && id % 2 == 0)
            net->tx_busy[id / 2] = false;
        if (id == wanted_head)
            *seen = true;
    }
    virtq_inflight_quiet(&net->tx);
}

int vnet_tx(struct vnet* net, const struct virtio_net_hdr_v1* hdr, const void* frame, uint32_t length,
            const void* big, uint32_t writable_tail)
{
    bool unused = false;
    tx_reclaim(net, 0xffffffffu, &unused);
    uint32_t slot = net->tx_slots;
    for (uint32_t i = 0; i < net->tx_slots; i++) {
        uint32_t k = (net->tx_next_slot + i) % net->tx_slots;
        if (!net->tx_busy[k]) {
            slot = k;
            break;
        }
    }
    if (slot == net->tx_slots)
        return -1;
    net->tx_next_slot = (slot + 1) % net->tx_slots;

    uint16_t head = (uint16_t)(2 * slot);
    struct virtq_desc* desc = &net->tx.desc[head];
    if (big) {
        desc->addr = (uint32_t)(uintptr_t)big;
        desc->len = length;
    } else {
        if (length > VNET_TX_SLOT_BYTES - VNET_HDR_SIZE)
            length = VNET_TX_SLOT_BYTES - VNET_HDR_SIZE;
        memcpy(tx_slot_buffers[slot], hdr, VNET_HDR_SIZE);
        memcpy(tx_slot_buffers[slot] + VNET_HDR_SIZE, frame, length);
        desc->addr = (uint32_t)(uintptr_t)tx_slot_buffers[slot];
        desc->len = VNET_HDR_SIZE + length;
    }
    desc->flags = 0;
    desc->next = 0;
    if (writable_tail) {
        desc->flags = VIRTQ_DESC_F_NEXT;
        desc->next = (uint16_t)(head + 1);
        net->tx.desc[head + 1] = (struct virtq_desc){(uint32_t)(uintptr_t)tx_sink,
                                                     writable_tail > sizeof tx_sink ? sizeof tx_sink : writable_tail,
                                                     VIRTQ_DESC_F_WRITE, 0};
    }
    net->tx_busy[slot] = true;
    virtq_inflight_add(&net->tx, head);
    virtq_inflight_kick(&net->mmio, VIRTIO_NET_QUEUE_TX, &net->tx);

    bool seen = false;
    for (uint32_t polls = 0; polls < TX_POLL_LIMIT; polls++) {
        tx_reclaim(net, head, &seen);
        if (seen)
            return 1;
        cpu_relax();
    }
    return 0;
}
