// Tests for the virtio-net header rules: virtio-v1.2 §5.1.6.2 (Packet Transmission), §5.1.6.4
// (Processing of Incoming Packets), §5.1.4.2 (mtu), and the TUN_F_* offload mapping.
#include <catch2/catch.hpp>

#include <linux/if_tun.h>

#include "devices/virtio/net/net_header.hpp"
#include "devices/virtio/queue/virtq_abi.hpp"

using namespace minivmm;
using namespace minivmm::virtio;

namespace {

constexpr std::uint64_t bit(unsigned n)
{
    return feature_bit(n);
}

NetHeader header(std::uint8_t flags = 0, std::uint8_t gso_type = VIRTIO_NET_HDR_GSO_NONE, std::uint16_t gso_size = 0)
{
    NetHeader h{};
    h.flags = flags;
    h.gso_type = gso_type;
    h.gso_size = gso_size;
    return h;
}

std::optional<TxFrameError> error_of(const Expected<NetHeader, TxFrameError>& result)
{
    if (result)
        return std::nullopt;
    return result.error();
}

} // namespace

TEST_CASE("TUNSETOFFLOAD flags follow the guest's receive features, and only with GUEST_CSUM")
{
    CHECK(tun_offload_flags(0) == 0);
    CHECK(tun_offload_flags(bit(VIRTIO_NET_F_GUEST_CSUM)) == TUN_F_CSUM);
    CHECK(tun_offload_flags(bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4)) == (TUN_F_CSUM | TUN_F_TSO4));
    CHECK(tun_offload_flags(bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO6))
        == (TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6));
    CHECK(tun_offload_flags(bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_TSO6) | bit(VIRTIO_NET_F_GUEST_ECN))
        == (TUN_F_CSUM | TUN_F_TSO6 | TUN_F_TSO_ECN));
    CHECK(tun_offload_flags(bit(VIRTIO_NET_F_GUEST_CSUM) | bit(VIRTIO_NET_F_GUEST_UFO)) == (TUN_F_CSUM | TUN_F_UFO));
    // §5.1.3.1: TSO without GUEST_CSUM is not a valid combination; the tap gets nothing.
    CHECK(tun_offload_flags(bit(VIRTIO_NET_F_GUEST_TSO4) | bit(VIRTIO_NET_F_GUEST_TSO6)) == 0);
    // HOST_* features are about what we accept from the guest, not what the tap hands us.
    CHECK(tun_offload_flags(bit(VIRTIO_NET_F_HOST_TSO4) | bit(VIRTIO_NET_F_CSUM)) == 0);
}

TEST_CASE("virtio-v1.2 §5.1.6.2: a plain frame of Ethernet size passes, a runt does not")
{
    CHECK(error_of(check_tx_header(header(), 60, 0, 1500)) == std::nullopt);
    CHECK(error_of(check_tx_header(header(), 14, 0, 1500)) == std::nullopt);
    CHECK(error_of(check_tx_header(header(), 13, 0, 1500)) == TxFrameError::FrameTooShort);
}

TEST_CASE("virtio-v1.2 §5.1.4.2: with VIRTIO_NET_F_MTU a non-GSO frame is at most mtu + Ethernet/VLAN header")
{
    const std::uint64_t mtu_feature = bit(VIRTIO_NET_F_MTU);
    CHECK(error_of(check_tx_header(header(), 1500 + 18, mtu_feature, 1500)) == std::nullopt);
    CHECK(error_of(check_tx_header(header(), 1500 + 19, mtu_feature, 1500)) == TxFrameError::FrameTooLong);
    // Without VIRTIO_NET_F_MTU the driver chose its own MTU: only the 65550 ceiling applies.
    CHECK(error_of(check_tx_header(header(), 9018, 0, 1500)) == std::nullopt);
    CHECK(error_of(check_tx_header(header(), kMaxGsoFrame + 1, 0, 1500)) == TxFrameError::FrameTooLong);
}

TEST_CASE("virtio-v1.2 §5.1.6.2.1: flags other than NEEDS_CSUM, or NEEDS_CSUM without CSUM, are refused")
{
    const std::uint64_t csum = bit(VIRTIO_NET_F_CSUM);
    NetHeader partial = header(VIRTIO_NET_HDR_F_NEEDS_CSUM);
    partial.csum_start = 34;
    partial.csum_offset = 16;
    CHECK(error_of(check_tx_header(partial, 60, csum, 1500)) == std::nullopt);
    CHECK(error_of(check_tx_header(partial, 60, 0, 1500)) == TxFrameError::FlagsInvalid);
    CHECK(error_of(check_tx_header(header(VIRTIO_NET_HDR_F_DATA_VALID), 60, csum, 1500)) == TxFrameError::FlagsInvalid);
    CHECK(error_of(check_tx_header(header(VIRTIO_NET_HDR_F_RSC_INFO), 60, csum, 1500)) == TxFrameError::FlagsInvalid);
    // The 2-byte checksum field must lie inside the frame.
    partial.csum_offset = 25; // 34 + 25 + 2 = 61 > 60
    CHECK(error_of(check_tx_header(partial, 60, csum, 1500)) == TxFrameError::ChecksumOutsideFrame);
}

TEST_CASE("virtio-v1.2 §5.1.6.2.1: GSO needs its HOST_* feature, NEEDS_CSUM and a gso_size")
{
    const std::uint64_t tso4 = bit(VIRTIO_NET_F_CSUM) | bit(VIRTIO_NET_F_HOST_TSO4);
    NetHeader gso = header(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448);
    gso.csum_start = 34;
    gso.csum_offset = 16;
    CHECK(error_of(check_tx_header(gso, kMaxGsoFrame, tso4, 1500)) == std::nullopt);
    CHECK(error_of(check_tx_header(gso, kMaxGsoFrame + 1, tso4, 1500)) == TxFrameError::FrameTooLong);
    CHECK(error_of(check_tx_header(gso, 9000, bit(VIRTIO_NET_F_CSUM), 1500)) == TxFrameError::GsoNotNegotiated);
    NetHeader tcp6 = gso;
    tcp6.gso_type = VIRTIO_NET_HDR_GSO_TCPV6;
    CHECK(error_of(check_tx_header(tcp6, 9000, tso4, 1500)) == TxFrameError::GsoNotNegotiated);
    NetHeader ecn = gso;
    ecn.gso_type = VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN;
    CHECK(error_of(check_tx_header(ecn, 9000, tso4, 1500)) == TxFrameError::GsoNotNegotiated);
    NetHeader udp = gso;
    udp.gso_type = VIRTIO_NET_HDR_GSO_UDP;
    CHECK(error_of(check_tx_header(udp, 9000, tso4, 1500)) == TxFrameError::GsoNotNegotiated);
    NetHeader unknown = gso;
    unknown.gso_type = 2;
    CHECK(error_of(check_tx_header(unknown, 9000, tso4, 1500)) == TxFrameError::GsoTypeInvalid);
    NetHeader no_csum = gso;
    no_csum.flags = 0;
    CHECK(error_of(check_tx_header(no_csum, 9000, tso4, 1500)) == TxFrameError::GsoWithoutChecksum);
    NetHeader no_size = gso;
    no_size.gso_size = 0;
    CHECK(error_of(check_tx_header(no_size, 9000, tso4, 1500)) == TxFrameError::GsoSizeZero);
}

TEST_CASE("virtio-v1.2 §5.1.6.2.2: an hdr_len past the frame is cleared, not forwarded")
{
    NetHeader h = header();
    h.hdr_len = 54;
    h.num_buffers = 7;
    auto kept = check_tx_header(h, 60, 0, 1500);
    REQUIRE(kept);
    CHECK(kept->hdr_len == 54);
    CHECK(kept->num_buffers == 0);
    h.hdr_len = 61;
    auto cleared = check_tx_header(h, 60, 0, 1500);
    REQUIRE(cleared);
    CHECK(cleared->hdr_len == 0);
}

TEST_CASE("virtio-v1.2 §5.1.6.4.1: received headers get num_buffers and only negotiated offloads")
{
    NetHeader plain = header(VIRTIO_NET_HDR_F_DATA_VALID);
    REQUIRE(prepare_rx_header(plain, 0, 1));
    CHECK(plain.flags == 0); // no GUEST_CSUM: flags must be zero
    CHECK(plain.num_buffers == 1);

    const std::uint64_t guest_csum = bit(VIRTIO_NET_F_GUEST_CSUM);
    NetHeader valid = header(VIRTIO_NET_HDR_F_DATA_VALID | VIRTIO_NET_HDR_F_RSC_INFO);
    REQUIRE(prepare_rx_header(valid, guest_csum, 3));
    CHECK(valid.flags == VIRTIO_NET_HDR_F_DATA_VALID);
    CHECK(valid.num_buffers == 3);

    NetHeader partial = header(VIRTIO_NET_HDR_F_NEEDS_CSUM);
    CHECK_FALSE(prepare_rx_header(partial, 0, 1));
    NetHeader tso = header(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1448);
    CHECK_FALSE(prepare_rx_header(tso, guest_csum, 1));
    CHECK(prepare_rx_header(tso, guest_csum | bit(VIRTIO_NET_F_GUEST_TSO4), 1));
    NetHeader tso_ecn = header(VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN, 1448);
    CHECK_FALSE(prepare_rx_header(tso_ecn, guest_csum | bit(VIRTIO_NET_F_GUEST_TSO4), 1));
}
