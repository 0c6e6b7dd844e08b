/* net: a polled virtio-net guest (virtio 1.2 §5.1, "Network Device") that ARPs for a peer, pings
   it and answers ARP and ICMP echo requests for its own address, over virtio-mmio with no
   interrupts. Modes (cmdline `net.mode=`):

     ping       (default) ARP for net.peer, one ICMP echo round trip, exit 0
     malformed  first four broken transmit packets (too short, gso_type without TSO negotiated,
                longer than 65550 bytes, a device-writable descriptor in a transmit chain), then
                the same as ping: the device must drop them and keep working
     pair       two guests on one L2 segment: net.role=a pings net.peer like `ping`;
                net.role=b answers until it has answered one echo request (exit 0) or times out
                (exit 2)
     stream     benchmark load: net.dir=tx sends net.frames frames of UDP (or 64 KiB TCP TSO
                frames when VIRTIO_NET_F_HOST_TSO4 is negotiated) to net.peer; net.dir=rx counts
                UDP frames arriving on net.port; `net: start` / `net: stop ...` frame the timed part

   See README.md for the keys and the exact output. */
#include "runtime.h"

#include "net_proto.h"
#include "virtio/virtio_net.h"

#define PING_ID 0x4e54              /* "NT" */
#define PING_DATA 56
#define PROBE_GSO_ID 0xbad1         /* echo ids of the malformed probes: a reply means forwarded */
#define PROBE_WRITABLE_ID 0xbad4
#define ARP_TRIES 8                 /* one request per wait unit */
#define PING_TRIES 3                /* two wait units each */
#define STREAM_PORT 5001
#define STREAM_SRC_PORT 40000
#define TSO_MSS 1460                /* 1500-byte MTU - IPv4 and TCP headers */
#define TSO_FRAME 65536             /* Ethernet frame bytes of one TSO frame */
#define UDP_FRAME 1514              /* one MTU-sized UDP frame */
#define OVERSIZED_FRAME 65551       /* "longer than 65550" */

enum mode { MODE_PING, MODE_MALFORMED, MODE_PAIR, MODE_STREAM };

static struct vnet net;
static uint32_t my_ip = 0x0a000002;       /* 10.0.0.2 */
static uint32_t peer_ip = 0x0a000001;     /* 10.0.0.1 */
static uint8_t peer_mac[6];
static bool arp_reply_seen;
static uint32_t wait_units = 30;          /* net.wait: the responder's patience, in wait units */

/* Ping state. */
static uint16_t ping_seq;
static uint8_t ping_data[PING_DATA];
enum reply_state { REPLY_NONE, REPLY_OK, REPLY_BAD };
static enum reply_state reply_state;
static uint32_t reply_bad_at;             /* payload byte that differed, or the length */
static bool reply_bad_length;

/* Responder state. */
static uint32_t answered_pings;
static uint32_t answered_from;

/* Stream state. */
static uint16_t stream_port = STREAM_PORT;
static uint32_t stream_frames;
static uint64_t stream_bytes;

static uint8_t tx_frame[VNET_TX_SLOT_BYTES] __attribute__((aligned(64)));
/* Stream frames and the oversized probe, header included. Never zeroed (.noinit). */
static uint8_t big[VNET_HDR_SIZE + TSO_FRAME + 64] __attribute__((section(".noinit"), aligned(4096)));
static const struct virtio_net_hdr_v1 plain_hdr;  /* all zero: no offloads */

static void say(const char* text)
{
    print("net: ");
    print(text);
    print("\n");
}

static void failed(const char* step, const char* why)
{
    print("net: ");
    print(step);
    print(" FAILED (");
    print(why);
    print(")\n");
}

/* Sends one frame with a zero header; false (with a line) when the device never took it. */
static uint32_t frames_sent; /* well-formed frames the device took: its "tx N frames" */

static bool send_frame(const uint8_t* frame, uint32_t length)
{
    int result = vnet_tx(&net, &plain_hdr, frame, length, NULL, 0);
    if (result == 1) {
        frames_sent++;
        return true;
    }
    failed("transmit", result < 0 ? "no free transmit slot" : "the device did not return the chain");
    return false;
}

static void probe_forwarded(const char* name, uint16_t id)
{
    print("net: malformed ");
    print(name);
    print(" forwarded (the host answered echo id 0x");
    print_hex8((uint8_t)(id >> 8));
    print_hex8((uint8_t)id);
    print(")\n");
}

static void handle_echo_reply(const struct rx_packet* packet, const uint8_t* icmp, uint32_t length)
{
    uint16_t id = get16(icmp + 4), seq = get16(icmp + 6);
    if (id == PROBE_GSO_ID) {
        probe_forwarded("gso-unnegotiated", id);
        return;
    }
    if (id == PROBE_WRITABLE_ID) {
        probe_forwarded("writable-descriptor", id);
        return;
    }
    if (id != PING_ID || seq != ping_seq || packet->ip_src != peer_ip || reply_state != REPLY_NONE)
        return;  /* someone else's, or a late answer to an earlier try */
    if (length != ICMP_HLEN + PING_DATA) {
        reply_state = REPLY_BAD;
        reply_bad_length = true;
        reply_bad_at = length;
        return;
    }
    for (uint32_t i = 0; i < PING_DATA; i++) {
        if (icmp[ICMP_HLEN + i] != ping_data[i]) {
            reply_state = REPLY_BAD;
            reply_bad_at = i;
            return;
        }
    }
    reply_state = REPLY_OK;
}

/* Everything a received frame can mean to us: ARP requests for our address and echo requests
   to it get answers; ARP replies from the peer and echo replies are recorded. */
static void handle_frame(const uint8_t* frame, uint32_t length)
{
    struct rx_packet packet;
    if (!parse_frame(frame, length, &packet))
        return;
    if (packet.ethertype == ETHERTYPE_ARP) {
        if (packet.arp_op == 1 && packet.arp_tpa == my_ip) {
            uint8_t sha[6];
            memcpy(sha, packet.arp_sha, 6);
            uint32_t n = build_arp(tx_frame, 2, net.mac, my_ip, sha, packet.arp_spa);
            send_frame(tx_frame, n);
        } else if (packet.arp_op == 2 && packet.arp_spa == peer_ip && packet.arp_tpa == my_ip && !arp_reply_seen) {
            memcpy(peer_mac, packet.arp_sha, 6);
            arp_reply_seen = true;
        }
        return;
    }
    if (!packet.ip_ok || packet.ip_dst != my_ip || packet.ip_proto != IP_PROTO_ICMP)
        return;
    const uint8_t* icmp = packet.l4;
    uint32_t icmp_length = packet.l4_length;
    if (icmp_length < ICMP_HLEN || csum_fold(csum_add(0, icmp, icmp_length)) != 0)
        return;  /* RFC 792: a bad ICMP checksum is dropped */
    if (icmp[0] == ICMP_ECHO_REQUEST && icmp[1] == 0) {
        if (icmp_length - ICMP_HLEN > VNET_TX_SLOT_BYTES - VNET_HDR_SIZE - ETH_HLEN - IPV4_HLEN - ICMP_HLEN)
            return;
        uint8_t src_mac[6];
        memcpy(src_mac, packet.src_mac, 6);
        uint32_t n = build_icmp_echo(tx_frame, ICMP_ECHO_REPLY, src_mac, net.mac, my_ip, packet.ip_src,
                                     get16(icmp + 4), get16(icmp + 6), icmp + ICMP_HLEN, icmp_length - ICMP_HLEN);
        if (send_frame(tx_frame, n)) {
            answered_pings++;
            answered_from = packet.ip_src;
        }
    } else if (icmp[0] == ICMP_ECHO_REPLY && icmp[1] == 0) {
        handle_echo_reply(&packet, icmp, icmp_length);
    }
}

/* Handles arriving frames until done() is true or `units` wait units of empty polls went by. */
static bool wait_until(bool (*done)(void), uint32_t units)
{
    uint32_t limit = units * VNET_POLLS_PER_UNIT;
    for (uint32_t empty = 0; !done() && empty < limit;) {
        const uint8_t* frame;
        uint32_t length;
        struct virtio_net_hdr_v1 hdr;
        if (vnet_rx_next(&net, &frame, &length, &hdr, 1)) {
            handle_frame(frame, length);
        } else {
            vnet_rx_flush(&net);
            empty++;
            cpu_relax();
        }
    }
    vnet_ack_interrupts(&net);
    return done();
}

static bool arp_reply_arrived(void) { return arp_reply_seen; }
static bool echo_reply_arrived(void) { return reply_state != REPLY_NONE; }
static bool ping_answered(void) { return answered_pings > 0; }
static bool never(void) { return false; }

static bool arp_for_peer(void)
{
    for (uint32_t attempt = 0; attempt < ARP_TRIES && !arp_reply_seen; attempt++) {
        uint32_t n = build_arp(tx_frame, 1, net.mac, my_ip, NULL, peer_ip);
        if (!send_frame(tx_frame, n))
            return false;
        wait_until(arp_reply_arrived, 1);
    }
    if (!arp_reply_seen) {
        print("net: arp FAILED (no reply from ");
        print_ipv4(peer_ip);
        print(" after ");
        print_dec(ARP_TRIES);
        print(" requests)\n");
        return false;
    }
    print("net: arp reply from ");
    print_ipv4(peer_ip);
    print(" is ");
    print_mac(peer_mac);
    print("\n");
    return true;
}

static bool ping_peer(void)
{
    for (uint32_t i = 0; i < PING_DATA; i++)
        ping_data[i] = (uint8_t)(0x20 + (i * 7 + 3) % 95);  /* printable, position-dependent */
    for (uint32_t attempt = 0; attempt < PING_TRIES; attempt++) {
        ping_seq = (uint16_t)(attempt + 1);
        reply_state = REPLY_NONE;
        uint32_t n = build_icmp_echo(tx_frame, ICMP_ECHO_REQUEST, peer_mac, net.mac, my_ip, peer_ip, PING_ID, ping_seq,
                                     ping_data, PING_DATA);
        if (!send_frame(tx_frame, n))
            return false;
        wait_until(echo_reply_arrived, 2);
        if (reply_state == REPLY_OK) {
            say("ping reply ok");
            return true;
        }
        if (reply_state == REPLY_BAD) {
            print("net: ping FAILED (");
            print(reply_bad_length ? "echo reply length " : "payload mismatch at byte ");
            print_dec(reply_bad_at);
            print(")\n");
            return false;
        }
    }
    print("net: ping FAILED (no echo reply from ");
    print_ipv4(peer_ip);
    print(" to ");
    print_dec(PING_TRIES);
    print(" requests)\n");
    return false;
}

/* ---- malformed ---------------------------------------------------------------------------- */

static bool report_probe(const char* name, int result)
{
    uint32_t status = vnet_status(&net);
    bool needs_reset = status & VIRTIO_STATUS_DEVICE_NEEDS_RESET;
    print("net: malformed ");
    print(name);
    print(" returned=");
    print_dec(result == 1);
    print(" needs-reset=");
    print_dec(needs_reset);
    print("\n");
    if (needs_reset) {
        print("net: resetting the device after ");
        print(name);
        print("\n");
        return vnet_restart(&net);
    }
    return true;
}

static const uint8_t broadcast_mac[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};

static bool send_malformed(void)
{
    /* 1. Shorter than an Ethernet header: six bytes (a destination address, nothing else). */
    memcpy(tx_frame, broadcast_mac, 6);
    if (!report_probe("short", vnet_tx(&net, &plain_hdr, tx_frame, 6, NULL, 0)))
        return false;

    /* 2. gso_type TCPV4 although HOST_TSO4 (and CSUM) were not negotiated (§5.1.6.2: without
       CSUM the driver MUST set flags 0 and gso_type NONE). The frame is a real echo request to
       the peer (L2 broadcast: we have not ARPed yet): if it got through, the host answers. */
    uint8_t probe_data[PING_DATA];
    for (uint32_t i = 0; i < PING_DATA; i++)
        probe_data[i] = (uint8_t)i;
    struct virtio_net_hdr_v1 gso_hdr = {0, VIRTIO_NET_HDR_GSO_TCPV4, ETH_HLEN + IPV4_HLEN + TCP_HLEN, 1000, 0, 0, 0};
    uint32_t n = build_icmp_echo(tx_frame, ICMP_ECHO_REQUEST, broadcast_mac, net.mac, my_ip, peer_ip, PROBE_GSO_ID, 1,
                                 probe_data, PING_DATA);
    if (!report_probe("gso-unnegotiated", vnet_tx(&net, &gso_hdr, tx_frame, n, NULL, 0)))
        return false;

    /* 3. A frame of 65551 bytes (over the 65550 a device takes: 65535 + 14 + 1); header and
       Ethernet header are real, the rest is whatever memory holds. */
    memset(big, 0, VNET_HDR_SIZE);
    memcpy(big + VNET_HDR_SIZE, broadcast_mac, 6);
    memcpy(big + VNET_HDR_SIZE + 6, net.mac, 6);
    put16(big + VNET_HDR_SIZE + 12, 0x88b5);  /* IEEE 802 local experimental ethertype */
    if (!report_probe("oversized", vnet_tx(&net, NULL, NULL, VNET_HDR_SIZE + OVERSIZED_FRAME, big, 0)))
        return false;

    /* 4. A transmit chain whose second descriptor is device-writable (the transmit queue takes
       device-readable buffers only). The readable part is a valid echo request. */
    n = build_icmp_echo(tx_frame, ICMP_ECHO_REQUEST, broadcast_mac, net.mac, my_ip, peer_ip, PROBE_WRITABLE_ID, 1,
                        probe_data, PING_DATA);
    if (!report_probe("writable-descriptor", vnet_tx(&net, &plain_hdr, tx_frame, n, NULL, 64)))
        return false;
    return true;
}

/* ---- stream ------------------------------------------------------------------------------- */

static void fill_words(void* destination, uint32_t value, uint32_t words)
{
    __asm__ volatile("rep stosl" : "+D"(destination), "+c"(words) : "a"(value) : "memory");
}

/* Builds the one frame every transmit descriptor points at; returns its length (header excluded). */
static uint32_t build_stream_frame(bool tso)
{
    struct virtio_net_hdr_v1* hdr = (struct virtio_net_hdr_v1*)big;
    uint8_t* frame = big + VNET_HDR_SIZE;
    uint32_t length = tso ? TSO_FRAME : UDP_FRAME;
    uint32_t l4_length = length - ETH_HLEN - IPV4_HLEN;
    fill_words(frame, 0x6e657473u, (length + 3) / 4);  /* payload bytes "sten" repeated */
    build_eth_ipv4(frame, peer_mac, net.mac, my_ip, peer_ip, tso ? IP_PROTO_TCP : IP_PROTO_UDP, l4_length, 1);
    uint8_t* l4 = frame + ETH_HLEN + IPV4_HLEN;
    uint8_t pseudo[12];
    put32(pseudo, my_ip);
    put32(pseudo + 4, peer_ip);
    pseudo[8] = 0;
    pseudo[9] = tso ? IP_PROTO_TCP : IP_PROTO_UDP;
    put16(pseudo + 10, (uint16_t)l4_length);
    memset(hdr, 0, sizeof *hdr);
    if (tso) {
        /* §5.1.6.2: checksum offload plus TSO; the checksum field holds the pseudo-header sum
           (not inverted) and the device (the host kernel) finishes it per segment. */
        put16(l4, STREAM_SRC_PORT);
        put16(l4 + 2, stream_port);
        put32(l4 + 4, 1);               /* sequence number */
        put32(l4 + 8, 0);               /* acknowledgment number */
        l4[12] = (TCP_HLEN / 4) << 4;
        l4[13] = 0x18;                  /* PSH | ACK */
        put16(l4 + 14, 65535);          /* window */
        put16(l4 + 18, 0);              /* urgent pointer */
        put16(l4 + 16, (uint16_t)~csum_fold(csum_add(0, pseudo, sizeof pseudo)));
        hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
        hdr->gso_type = VIRTIO_NET_HDR_GSO_TCPV4;
        hdr->hdr_len = ETH_HLEN + IPV4_HLEN + TCP_HLEN;
        hdr->gso_size = TSO_MSS;
        hdr->csum_start = ETH_HLEN + IPV4_HLEN;
        hdr->csum_offset = 16;
    } else {
        put16(l4, STREAM_SRC_PORT);
        put16(l4 + 2, stream_port);
        put16(l4 + 4, (uint16_t)l4_length);
        put16(l4 + 6, 0);
        uint16_t sum = csum_fold(csum_add(csum_add(0, pseudo, sizeof pseudo), l4, l4_length));
        put16(l4 + 6, sum ? sum : 0xffff);  /* RFC 768: a computed 0 is sent as all ones */
    }
    return length;
}

static uint32_t stream_limit_polls(void)
{
    return 10 * VNET_POLLS_PER_UNIT;  /* a silence this long ends the run */
}

static int stream_tx(uint32_t frames, bool tso)
{
    uint32_t length = build_stream_frame(tso);
    print("net: stream tx frames=");
    print_dec(frames);
    print(" frame=");
    print_dec(length);
    print(tso ? " gso=tcp4\n" : " gso=none\n");
    /* Every descriptor of the transmit queue points at the same frame: the device only reads. */
    uint16_t size = net.tx.size;
    for (uint16_t i = 0; i < size; i++)
        net.tx.desc[i] = (struct virtq_desc){(uint32_t)(uintptr_t)big, VNET_HDR_SIZE + length, 0, 0};
    say("start");
    uint32_t sent = 0, done = 0;
    for (uint16_t i = 0; i < size && sent < frames; i++, sent++)
        virtq_inflight_add(&net.tx, i);
    virtq_inflight_kick(&net.mmio, VIRTIO_NET_QUEUE_TX, &net.tx);
    uint32_t empty = 0;
    while (done < frames) {
        uint32_t id, len;
        bool got = false;
        while (virtq_inflight_poll(&net.tx, &id, &len)) {
            done++;
            got = true;
            if (sent < frames && id < size) {
                virtq_inflight_add(&net.tx, (uint16_t)id);
                sent++;
            }
        }
        if (got) {
            virtq_inflight_quiet(&net.tx);
            virtq_inflight_kick(&net.mmio, VIRTIO_NET_QUEUE_TX, &net.tx);
            empty = 0;
            continue;
        }
        if (++empty == stream_limit_polls()) {
            print("net: stream FAILED (");
            print_dec(done);
            print(" of ");
            print_dec(frames);
            print(" frames sent, then nothing)\n");
            return 1;
        }
        /* Keep the receive queue drained (the host answers TSO frames to a closed port with
           resets) and answer ARP, without slowing the transmit loop much. */
        if ((empty & 63) == 0) {
            const uint8_t* frame;
            uint32_t flen;
            struct virtio_net_hdr_v1 hdr;
            while (vnet_rx_next(&net, &frame, &flen, &hdr, 32))
                ;
            vnet_rx_flush(&net);
        }
        cpu_relax();
    }
    frames_sent += done;
    print("net: stop ");
    print_dec64((uint64_t)frames * length);
    print(" bytes ");
    print_dec(frames);
    print(" frames\n");
    return 0;
}

/* A UDP frame to our address and stream port? (Fixed offsets: IHL 5, as the host sends.) */
static bool is_stream_frame(const uint8_t* frame, uint32_t length)
{
    return length >= ETH_HLEN + IPV4_HLEN + UDP_HLEN && frame[12] == 0x08 && frame[13] == 0x00 && frame[14] == 0x45 &&
           frame[23] == IP_PROTO_UDP && get32(frame + 30) == my_ip && get16(frame + 36) == stream_port;
}

static int stream_rx(uint32_t frames)
{
    print("net: stream rx frames=");
    print_dec(frames);
    print(" port=");
    print_dec(stream_port);
    print("\n");
    uint32_t empty = 0;
    uint32_t first_limit = wait_units * VNET_POLLS_PER_UNIT;
    bool started = false;
    while (stream_frames < frames) {
        const uint8_t* frame;
        uint32_t length;
        struct virtio_net_hdr_v1 hdr;
        if (vnet_rx_next(&net, &frame, &length, &hdr, 32)) {
            empty = 0;
            if (is_stream_frame(frame, length)) {
                stream_frames++;
                stream_bytes += length;
                if (!started) {
                    started = true;
                    say("start");
                }
            } else {
                handle_frame(frame, length);
            }
            continue;
        }
        vnet_rx_flush(&net);
        if (++empty == (started ? stream_limit_polls() : first_limit)) {
            print("net: stream FAILED (");
            print_dec(stream_frames);
            print(" of ");
            print_dec(frames);
            print(" frames received, then nothing)\n");
            return 1;
        }
        cpu_relax();
    }
    print("net: stop ");
    print_dec64(stream_bytes);
    print(" bytes ");
    print_dec(stream_frames);
    print(" frames\n");
    return 0;
}

/* ---- command line and main ---------------------------------------------------------------- */

static bool key_is(const char* value, uint32_t length, const char* word)
{
    uint32_t n = (uint32_t)strlen(word);
    return length == n && memcmp(value, word, n) == 0;
}

static bool bad_value(const char* key, const char* value, uint32_t length, const char* want)
{
    print("net: bad ");
    print(key);
    print("='");
    print_n(value, length);
    print("' (want ");
    print(want);
    print(")\n");
    return false;
}

struct options {
    enum mode mode;
    bool role_b;
    bool mrg;
    uint32_t rxbuf;
    bool tx;                        /* stream direction */
    uint32_t frames;
    int gso;                        /* -1 auto, 0 none, 1 tcp4 */
};

static bool parse_options(const char* cmdline, struct options* o)
{
    *o = (struct options){MODE_PING, false, true, VNET_RXBUF_MAX, true, 1000, -1};
    uint32_t length;
    const char* value;
    if ((value = cmdline_find(cmdline, "net.mode", &length))) {
        if (key_is(value, length, "ping"))
            o->mode = MODE_PING;
        else if (key_is(value, length, "malformed"))
            o->mode = MODE_MALFORMED;
        else if (key_is(value, length, "pair"))
            o->mode = MODE_PAIR;
        else if (key_is(value, length, "stream"))
            o->mode = MODE_STREAM;
        else
            return bad_value("net.mode", value, length, "ping, malformed, pair or stream");
    }
    if ((value = cmdline_find(cmdline, "net.ip", &length)) && !parse_ipv4(value, length, &my_ip))
        return bad_value("net.ip", value, length, "a dotted IPv4 address");
    if ((value = cmdline_find(cmdline, "net.peer", &length)) && !parse_ipv4(value, length, &peer_ip))
        return bad_value("net.peer", value, length, "a dotted IPv4 address");
    if ((value = cmdline_find(cmdline, "net.role", &length))) {
        if (key_is(value, length, "a") || key_is(value, length, "b"))
            o->role_b = value[0] == 'b';
        else
            return bad_value("net.role", value, length, "a or b");
    }
    if ((value = cmdline_find(cmdline, "net.mrg", &length))) {
        if (key_is(value, length, "0") || key_is(value, length, "1"))
            o->mrg = value[0] == '1';
        else
            return bad_value("net.mrg", value, length, "0 or 1");
    }
    if ((value = cmdline_find(cmdline, "net.rxbuf", &length)) &&
        (!parse_decimal(value, length, &o->rxbuf) || o->rxbuf < 64 || o->rxbuf > VNET_RXBUF_MAX))
        return bad_value("net.rxbuf", value, length, "64..2048");
    if ((value = cmdline_find(cmdline, "net.wait", &length)) &&
        (!parse_decimal(value, length, &wait_units) || wait_units < 1 || wait_units > 10000))
        return bad_value("net.wait", value, length, "1..10000");
    if ((value = cmdline_find(cmdline, "net.dir", &length))) {
        if (key_is(value, length, "tx") || key_is(value, length, "rx"))
            o->tx = value[0] == 't';
        else
            return bad_value("net.dir", value, length, "tx or rx");
    }
    if ((value = cmdline_find(cmdline, "net.frames", &length)) &&
        (!parse_decimal(value, length, &o->frames) || o->frames < 1))
        return bad_value("net.frames", value, length, "a positive number");
    uint32_t port;
    if ((value = cmdline_find(cmdline, "net.port", &length))) {
        if (!parse_decimal(value, length, &port) || port < 1 || port > 65535)
            return bad_value("net.port", value, length, "1..65535");
        stream_port = (uint16_t)port;
    }
    if ((value = cmdline_find(cmdline, "net.gso", &length))) {
        if (key_is(value, length, "auto"))
            o->gso = -1;
        else if (key_is(value, length, "none"))
            o->gso = 0;
        else if (key_is(value, length, "tcp4"))
            o->gso = 1;
        else
            return bad_value("net.gso", value, length, "auto, none or tcp4");
    }
    return true;
}

static int finish(int status)
{
    if (net.rx_errors) {
        print("net: rx errors ");
        print_dec(net.rx_errors);
        print("\n");
    }
    /* How many frames this guest sent (ARP and echo retries, answers to the host's own ARP
       requests included), so a test can match the device's counters against it. */
    print("net: sent ");
    print_dec(frames_sent);
    print(" frames\n");
    if (status == 0)
        say("done");
    return status;
}

int main(const struct hvm_start_info* info)
{
    const char* cmdline = pvh_cmdline(info);
    struct options o;
    if (!parse_options(cmdline, &o))
        return 1;
    if (!vnet_find(&net, cmdline)) {
        say("no virtio-net device in the virtio_mmio.device= entries");
        return 1;
    }
    print("net: device at 0x");
    print_hex32(net.mmio.base);
    print(" irq ");
    print_dec(net.mmio.irq);
    print("\n");

    uint64_t wanted = 1ull << VIRTIO_F_EVENT_IDX;
    if (o.mrg)
        wanted |= 1ull << VIRTIO_NET_F_MRG_RXBUF;
    if (o.mode == MODE_STREAM && o.tx && o.gso != 0)
        wanted |= (1ull << VIRTIO_NET_F_CSUM) | (1ull << VIRTIO_NET_F_HOST_TSO4);
    if (!vnet_start(&net, wanted, o.rxbuf))
        return 1;
    print("net: features 0x");
    print_hex64(net.mmio.features);
    print("\n");
    print("net: mac ");
    print_mac(net.mac);
    print("\n");
    say("ready");

    if (o.mode == MODE_PAIR && o.role_b) {
        /* The responder: everything happens in handle_frame. */
        if (!wait_until(ping_answered, wait_units)) {
            say("responder timed out");
            return finish(2);
        }
        print("net: answered ping from ");
        print_ipv4(answered_from);
        print("\n");
        return finish(0);
    }

    if (o.mode == MODE_MALFORMED && !send_malformed())
        return finish(1);
    if (!arp_for_peer())
        return finish(1);
    if (o.mode == MODE_STREAM) {
        if (!o.tx)
            return finish(stream_rx(o.frames));
        bool tso = vnet_has(&net, VIRTIO_NET_F_HOST_TSO4) && vnet_has(&net, VIRTIO_NET_F_CSUM);
        if (o.gso == 1 && !tso) {
            failed("stream", "net.gso=tcp4 but the device does not offer VIRTIO_NET_F_HOST_TSO4 with CSUM");
            return finish(1);
        }
        return finish(stream_tx(o.frames, o.gso != 0 && tso));
    }
    if (!ping_peer())
        return finish(1);
    if (o.mode == MODE_MALFORMED) {
        /* Late answers to a forwarded probe would show up now. */
        wait_until(never, 1);
    }
    return finish(0);
}
