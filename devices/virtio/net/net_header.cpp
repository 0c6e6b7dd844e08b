// virtio-net header rules on transmit and receive (virtio-v1.2 §5.1.6.2 "Packet Transmission",
// §5.1.6.4 "Processing of Incoming Packets") and the TUNSETOFFLOAD mapping for a tap backend.
#include "devices/virtio/net/net_header.hpp"

#include <linux/if_tun.h>

namespace minivmm::virtio {
namespace {

bool has(std::uint64_t features, unsigned bit)
{
    return features & (std::uint64_t(1) << bit);
}

} // namespace

std::string_view describe(TxFrameError error)
{
    switch (error) {
    case TxFrameError::HeaderTooShort: return "transmit chain shorter than the 12-byte virtio-net header";
    case TxFrameError::FrameTooShort: return "frame shorter than an Ethernet header";
    case TxFrameError::FrameTooLong: return "frame longer than the MTU (or 65550 bytes with GSO) allows";
    case TxFrameError::WritableBuffer: return "device-writable descriptor in a transmit chain";
    case TxFrameError::FlagsInvalid: return "header flags not allowed on transmit";
    case TxFrameError::ChecksumOutsideFrame: return "csum_start + csum_offset beyond the frame";
    case TxFrameError::GsoTypeInvalid: return "unknown gso_type";
    case TxFrameError::GsoNotNegotiated: return "gso_type whose HOST_* feature was not negotiated";
    case TxFrameError::GsoWithoutChecksum: return "gso_type without VIRTIO_NET_HDR_F_NEEDS_CSUM";
    case TxFrameError::GsoSizeZero: return "gso_type with gso_size 0";
    }
    return "unknown transmit error";
}

Expected<NetHeader, TxFrameError> check_tx_header(const NetHeader& header, std::uint64_t frame_length,
    std::uint64_t negotiated, std::uint16_t mtu)
{
    NetHeader out = header;
    if (frame_length < ETH_HLEN)
        return Unexpected{TxFrameError::FrameTooShort};
    // virtio-v1.2 §5.1.6.2.1 (Driver Requirements: Packet Transmission): "The driver MUST NOT set
    // the VIRTIO_NET_HDR_F_DATA_VALID and VIRTIO_NET_HDR_F_RSC_INFO bits in flags", and "If
    // VIRTIO_NET_F_CSUM is not negotiated, the driver MUST set flags to zero".
    if (header.flags & ~VIRTIO_NET_HDR_F_NEEDS_CSUM)
        return Unexpected{TxFrameError::FlagsInvalid};
    const bool needs_csum = header.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM;
    if (needs_csum && !has(negotiated, VIRTIO_NET_F_CSUM))
        return Unexpected{TxFrameError::FlagsInvalid};
    // §5.1.6.2 (Packet Transmission): the checksum goes at csum_start + csum_offset, 2 bytes,
    // which must lie inside the frame.
    if (needs_csum && std::uint64_t(header.csum_start) + header.csum_offset + 2 > frame_length)
        return Unexpected{TxFrameError::ChecksumOutsideFrame};

    const std::uint8_t gso = header.gso_type;
    if (gso != VIRTIO_NET_HDR_GSO_NONE) {
        // §5.1.6.2.1: TSO/UFO only with the matching HOST_* feature, ECN only with HOST_ECN.
        switch (gso & ~VIRTIO_NET_HDR_GSO_ECN) {
        case VIRTIO_NET_HDR_GSO_TCPV4:
            if (!has(negotiated, VIRTIO_NET_F_HOST_TSO4))
                return Unexpected{TxFrameError::GsoNotNegotiated};
            break;
        case VIRTIO_NET_HDR_GSO_TCPV6:
            if (!has(negotiated, VIRTIO_NET_F_HOST_TSO6))
                return Unexpected{TxFrameError::GsoNotNegotiated};
            break;
        case VIRTIO_NET_HDR_GSO_UDP:
            if (!has(negotiated, VIRTIO_NET_F_HOST_UFO))
                return Unexpected{TxFrameError::GsoNotNegotiated};
            break;
        default:
            return Unexpected{TxFrameError::GsoTypeInvalid};
        }
        if ((gso & VIRTIO_NET_HDR_GSO_ECN) && !has(negotiated, VIRTIO_NET_F_HOST_ECN))
            return Unexpected{TxFrameError::GsoNotNegotiated};
        // §5.1.6.2.1: "If gso_type differs from VIRTIO_NET_HDR_GSO_NONE, then the driver MUST
        // also set the VIRTIO_NET_HDR_F_NEEDS_CSUM bit in flags and MUST set gso_size to
        // indicate the desired MSS."
        if (!needs_csum)
            return Unexpected{TxFrameError::GsoWithoutChecksum};
        if (header.gso_size == 0)
            return Unexpected{TxFrameError::GsoSizeZero};
    }

    // §5.1.4.2 (Driver Requirements: Device configuration layout): "If the driver negotiates
    // VIRTIO_NET_F_MTU, it MUST NOT transmit packets of size exceeding the value of mtu (plus
    // low level ethernet header length) with gso_type NONE or ECN." We count an 802.1Q tag as
    // part of that low-level header. Without VIRTIO_NET_F_MTU the driver picks its own MTU, so
    // only the GSO ceiling applies.
    std::uint64_t limit = kMaxGsoFrame;
    if (gso == VIRTIO_NET_HDR_GSO_NONE && has(negotiated, VIRTIO_NET_F_MTU))
        limit = std::uint64_t(mtu) + ETH_HLEN + kVlanTagSize;
    if (frame_length > limit)
        return Unexpected{TxFrameError::FrameTooLong};

    // §5.1.6.2.2 (Device Requirements: Packet Transmission): without VIRTIO_NET_F_GUEST_HDRLEN
    // "the device MUST NOT rely on hdr_len to be correct". A tap rejects a frame whose hdr_len
    // exceeds it, so a wrong hint is cleared (the kernel then works it out).
    if (out.hdr_len > frame_length)
        out.hdr_len = 0;
    // §5.1.6.2: num_buffers is meaningless on transmit; the tap ignores it, we zero it.
    out.num_buffers = 0;
    return out;
}

unsigned tun_offload_flags(std::uint64_t negotiated)
{
    if (!has(negotiated, VIRTIO_NET_F_GUEST_CSUM))
        return 0;
    unsigned flags = TUN_F_CSUM;
    if (has(negotiated, VIRTIO_NET_F_GUEST_TSO4))
        flags |= TUN_F_TSO4;
    if (has(negotiated, VIRTIO_NET_F_GUEST_TSO6))
        flags |= TUN_F_TSO6;
    if (has(negotiated, VIRTIO_NET_F_GUEST_ECN) && (flags & (TUN_F_TSO4 | TUN_F_TSO6)))
        flags |= TUN_F_TSO_ECN;
    if (has(negotiated, VIRTIO_NET_F_GUEST_UFO))
        flags |= TUN_F_UFO;
    return flags;
}

bool prepare_rx_header(NetHeader& header, std::uint64_t negotiated, std::uint16_t num_buffers)
{
    // virtio-v1.2 §5.1.6.4.1 (Device Requirements: Processing of Incoming Packets): the device
    // sets num_buffers (1 without VIRTIO_NET_F_MRG_RXBUF).
    header.num_buffers = num_buffers;
    const std::uint8_t gso = header.gso_type;
    if (gso != VIRTIO_NET_HDR_GSO_NONE) {
        // §5.1.6.4.1: "The device MUST NOT send to the driver TCP packets requiring segmentation
        // offload which have the Explicit Congestion Notification bit set, unless the
        // VIRTIO_NET_F_GUEST_ECN feature is negotiated"; likewise TSO/UFO per GUEST_* feature.
        unsigned needed = 0;
        switch (gso & ~VIRTIO_NET_HDR_GSO_ECN) {
        case VIRTIO_NET_HDR_GSO_TCPV4: needed = VIRTIO_NET_F_GUEST_TSO4; break;
        case VIRTIO_NET_HDR_GSO_TCPV6: needed = VIRTIO_NET_F_GUEST_TSO6; break;
        case VIRTIO_NET_HDR_GSO_UDP: needed = VIRTIO_NET_F_GUEST_UFO; break;
        default: return false;
        }
        if (!has(negotiated, needed))
            return false;
        if ((gso & VIRTIO_NET_HDR_GSO_ECN) && !has(negotiated, VIRTIO_NET_F_GUEST_ECN))
            return false;
    }
    if (!has(negotiated, VIRTIO_NET_F_GUEST_CSUM)) {
        // §5.1.6.4.1: "If VIRTIO_NET_F_GUEST_CSUM is not negotiated, the device MUST set flags to
        // zero and SHOULD supply a fully checksummed packet to the driver." A partial checksum
        // cannot be completed here, so such a frame is dropped.
        if (header.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM || gso != VIRTIO_NET_HDR_GSO_NONE)
            return false;
        header.flags = 0;
        return true;
    }
    // RSC_INFO needs VIRTIO_NET_F_RSC_EXT (not offered): keep only NEEDS_CSUM and DATA_VALID.
    header.flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID;
    return true;
}

} // namespace minivmm::virtio
