// VirtioNet's snapshot state: MAC and MTU, whether the device runs, both queues with the chains
// the device holds, and a received frame not yet delivered; docs/ARCHITECTURE.md "Snapshots".
#include "devices/virtio/net/virtio_net.hpp"

#include <algorithm>
#include <array>

#include <fmt/format.h>

#include "devices/virtio/net/net_header.hpp"
#include "devices/virtio/queue/queue_state.hpp"
#include "vmm/snapshot/payload_header.hpp"

namespace minivmm::virtio {
namespace {
constexpr std::uint32_t kStateTag = snapshot::payload_tag("VNET");
constexpr std::uint16_t kStateVersion = 1;
} // namespace

void VirtioNet::save_state(snapshot::StateWriter& out) const
{
    snapshot::write_payload_header(out, kStateTag, kStateVersion);
    out.fixed(m_mac.bytes);
    out.u16(m_mtu);
    const bool active = m_memory != nullptr;
    out.boolean(active);
    if (!active)
        return;
    std::vector<std::uint16_t> rx_held;
    for (const DescriptorChain& chain : m_rx_chains)
        rx_held.push_back(chain.head);
    save_queue_state(out, m_rx, rx_held);
    std::vector<std::uint16_t> tx_held;
    if (m_tx_runner.held())
        tx_held.push_back(m_tx_runner.held()->head);
    save_queue_state(out, m_tx, tx_held);
    out.bytes(std::span(m_rx_buffer.data(), static_cast<std::size_t>(m_rx_pending)));
}

void VirtioNet::restore_state(snapshot::StateReader& in, Activation* activation)
{
    snapshot::read_payload_header(in, kStateTag, kStateVersion, "virtio-net");
    std::array<std::uint8_t, 6> mac {};
    in.fixed(mac);
    const std::uint16_t mtu = in.u16();
    if (mac != m_mac.bytes || mtu != m_mtu)
        in.fail(fmt::format("virtio-net saved with MAC {} and MTU {}, restored with MAC {} and MTU {}",
            MacAddress {mac}.to_string(), mtu, m_mac.to_string(), m_mtu));
    const bool active = in.boolean();
    if (active != (activation != nullptr))
        in.fail(fmt::format("virtio-net saved as {}active under a transport that is {}", active ? "" : "in",
            activation ? "running" : "not running"));
    if (!activation)
        return;
    take_activation(*activation);
    m_rx_runner.reset();
    m_tx_runner.reset();
    // Every receive buffer the device holds is a distinct chain, so at most a ring's worth.
    auto rx_held = restore_queue_state(in, m_rx, "receiveq", m_rx ? m_rx->size() : 0);
    auto tx_held = restore_queue_state(in, m_tx, "transmitq", 1);
    const std::vector<std::uint8_t> pending = in.bytes(m_rx_buffer.size() - 1);
    // run_rx() keeps a frame only when it has the header and an Ethernet header, and reads one
    // only once it holds a buffer for it when buffers are not merged (deliver_pending relies on it).
    if (!pending.empty()) {
        if (pending.size() < kNetHeaderSize + ETH_HLEN)
            in.fail(fmt::format("a pending received frame of {} bytes, shorter than its headers", pending.size()));
        if (!negotiated(VIRTIO_NET_F_MRG_RXBUF) && rx_held.empty())
            in.fail("a pending received frame but no receive buffer for it");
    }
    m_rx_chains.assign(std::make_move_iterator(rx_held.begin()), std::make_move_iterator(rx_held.end()));
    if (!tx_held.empty())
        m_tx_runner.hold(std::move(tx_held.front()));
    std::copy(pending.begin(), pending.end(), m_rx_buffer.begin());
    m_rx_pending = pending.size();
}

} // namespace minivmm::virtio
