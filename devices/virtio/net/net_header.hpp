// The virtio-net packet header (virtio-v1.2 §5.1.6 "Device Operation": struct virtio_net_hdr,
// 12 bytes with VIRTIO_F_VERSION_1) on both paths: the §5.1.6.2 (Packet Transmission) rules a
// transmitted header must follow, the §5.1.6.4 (Processing of Incoming Packets) rules for a
// received one, and the TUN_F_* offloads a tap may hand us for the guest's GUEST_* features.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

#include "devices/virtio/net/net_abi.hpp"
#include "vmm/base/expected.hpp"

namespace minivmm::virtio {

// virtio-v1.2 §5.1.6 (Device Operation): with VIRTIO_F_VERSION_1 the header always has
// num_buffers, whether or not VIRTIO_NET_F_MRG_RXBUF is negotiated: 12 bytes on both queues.
using NetHeader = virtio_net_hdr_v1;
inline constexpr std::uint32_t kNetHeaderSize = sizeof(NetHeader);
static_assert(kNetHeaderSize == 12);
// 802.1Q adds a 4-byte tag after the source address (VLAN_HLEN in <linux/if_vlan.h>).
inline constexpr std::uint32_t kVlanTagSize = 4;
// The largest frame a segmentation-offload packet may be: a 64 KiB IP packet plus the Ethernet
// header (what a tap accepts from us and hands to us with TSO).
inline constexpr std::uint32_t kMaxGsoFrame = 65550;

enum class TxFrameError {
    HeaderTooShort,       // fewer than kNetHeaderSize readable bytes
    FrameTooShort,        // less than an Ethernet header after the virtio-net header
    FrameTooLong,         // over mtu + Ethernet/VLAN header (no GSO), or over kMaxGsoFrame
    WritableBuffer,       // a transmit chain with device-writable descriptors
    FlagsInvalid,         // a flag other than NEEDS_CSUM, or NEEDS_CSUM without VIRTIO_NET_F_CSUM
    ChecksumOutsideFrame, // csum_start + csum_offset + 2 beyond the frame
    GsoTypeInvalid,       // not one of the VIRTIO_NET_HDR_GSO_* values
    GsoNotNegotiated,     // a GSO type (or the ECN bit) whose HOST_* feature was not negotiated
    GsoWithoutChecksum,   // gso_type set without VIRTIO_NET_HDR_F_NEEDS_CSUM
    GsoSizeZero,          // gso_type set with gso_size 0
};
std::string_view describe(TxFrameError error);

// Checks the header of a frame the driver queued on the transmitq against virtio-v1.2 §5.1.6.2
// (Packet Transmission) and §5.1.4.2 (mtu) for `negotiated` features, and returns the header to
// forward to the tap: a copy, with an hdr_len past the frame cleared (hdr_len is only a hint,
// §5.1.6.2.2, and a tap would refuse the whole frame for it).
Expected<NetHeader, TxFrameError> check_tx_header(const NetHeader& header, std::uint64_t frame_length,
    std::uint64_t negotiated, std::uint16_t mtu);

// The TUN_F_* offloads (TUNSETOFFLOAD: what the reader of a tap accepts) that match the guest's
// receive features: GUEST_CSUM -> TUN_F_CSUM; with it GUEST_TSO4/6 -> TUN_F_TSO4/6, GUEST_ECN ->
// TUN_F_TSO_ECN, GUEST_UFO -> TUN_F_UFO. Without GUEST_CSUM nothing (virtio-v1.2 §5.1.3.1
// (Feature bit requirements): GUEST_TSO4/6, ECN and UFO require GUEST_CSUM; the kernel refuses
// TSO without TUN_F_CSUM too).
unsigned tun_offload_flags(std::uint64_t negotiated);

// Turns the header a tap wrote in front of a received frame into what the driver may see
// (virtio-v1.2 §5.1.6.4.1, Device Requirements: Processing of Incoming Packets): sets
// num_buffers, zeroes flags without GUEST_CSUM. False when the frame uses an offload the driver
// did not negotiate (it must then be dropped; TUNSETOFFLOAD prevents this unless the two differ).
[[nodiscard]] bool prepare_rx_header(NetHeader& header, std::uint64_t negotiated, std::uint16_t num_buffers);

} // namespace minivmm::virtio
