// VirtioNet: receive and transmit paths, feature set and configuration space of the virtio
// network device (virtio-v1.2 §5.1 "Network Device", §5.1.6 "Device Operation").
#include "devices/virtio/net/virtio_net.hpp"

#include <algorithm>
#include <cstring>
#include <stdexcept>

#include <fmt/format.h>

#include "devices/virtio/net/net_header.hpp"
#include "devices/virtio/net/tap_device.hpp"
#include "devices/virtio/queue/chain_reader.hpp"
#include "devices/virtio/queue/chain_writer.hpp"
#include "devices/virtio/queue/virtq_abi.hpp"

namespace minivmm::virtio {
namespace {

// virtio-v1.2 §5.1.3 (Feature bits). CSUM/GUEST_CSUM pass partial checksums through the tap;
// HOST_TSO4/6 let the guest hand us up to 64 KiB TCP segments, GUEST_TSO4/6 let the tap hand
// them to the guest (§5.1.3.1: TSO requires the matching CSUM feature, offered as well).
constexpr std::uint64_t kOfferedFeatures = feature_bit(VIRTIO_F_VERSION_1) | feature_bit(VIRTIO_F_INDIRECT_DESC)
    | feature_bit(VIRTIO_F_EVENT_IDX) | feature_bit(VIRTIO_NET_F_MAC) | feature_bit(VIRTIO_NET_F_STATUS)
    | feature_bit(VIRTIO_NET_F_MTU) | feature_bit(VIRTIO_NET_F_CSUM) | feature_bit(VIRTIO_NET_F_GUEST_CSUM)
    | feature_bit(VIRTIO_NET_F_HOST_TSO4) | feature_bit(VIRTIO_NET_F_HOST_TSO6)
    | feature_bit(VIRTIO_NET_F_GUEST_TSO4) | feature_bit(VIRTIO_NET_F_GUEST_TSO6)
    | feature_bit(VIRTIO_NET_F_MRG_RXBUF);

// Room for the largest frame a tap hands over with TSO (plus an 802.1Q tag), header first, and
// one byte more: a tap truncates a frame longer than the read buffer and returns the truncated
// length, so a read that fills the whole buffer is taken as truncated.
constexpr std::size_t kRxBufferSize = kNetHeaderSize + kMaxGsoFrame + kVlanTagSize + 1;

} // namespace

std::unique_ptr<VirtioNet> VirtioNet::create(const NetSpec& spec, FdInterest set_fd_interest)
{
    if (spec.kind != NetBackendKind::Tap)
        throw std::invalid_argument("VirtioNet::create: a switch port is resolved by the VM layer");
    auto tap = std::make_unique<TapDevice>(TapDevice::open(spec.name));
    Options options;
    options.mac = spec.mac;
    options.mtu = spec.mtu;
    options.name = spec.name;
    options.set_fd_interest = std::move(set_fd_interest);
    return std::make_unique<VirtioNet>(std::move(tap), std::move(options));
}

VirtioNet::VirtioNet(std::unique_ptr<NetBackend> backend, Options options)
    : m_backend(std::move(backend))
    , m_mac(options.mac)
    , m_mtu(options.mtu)
    , m_set_fd_interest(std::move(options.set_fd_interest))
    , m_features(kOfferedFeatures)
    , m_log(fmt::format("virtio-net {}", options.name))
    , m_rx_buffer(kRxBufferSize)
{
}

NetCounters VirtioNet::counters() const
{
    std::lock_guard lock(m_counters_mutex);
    return m_counters;
}

void VirtioNet::read_config(std::uint64_t offset, std::span<std::uint8_t> data) const
{
    // virtio-v1.2 §5.1.4 (Device configuration layout): mac (VIRTIO_NET_F_MAC), status
    // (VIRTIO_NET_F_STATUS; the link is always up), max_virtqueue_pairs (read with
    // VIRTIO_NET_F_MQ, which is not offered: one pair), mtu (VIRTIO_NET_F_MTU). speed/duplex
    // and the RSS fields need features we do not offer and read as zero.
    virtio_net_config config{};
    std::memcpy(config.mac, m_mac.bytes.data(), sizeof config.mac);
    config.status = VIRTIO_NET_S_LINK_UP;
    config.max_virtqueue_pairs = 1;
    config.mtu = m_mtu;
    read_config_window(config, offset, data);
}

void VirtioNet::write_config(std::uint64_t offset, std::span<const std::uint8_t>)
{
    // virtio-v1.2 §5.1.4.2 (Driver Requirements: Device configuration layout): the mac is
    // writable only through the legacy interface (VIRTIO_NET_F_CTRL_MAC_ADDR is the modern way,
    // not offered); nothing here is writable.
    m_log.log(fmt::format("config write at {:#x} ignored (no writable fields)", offset));
}

void VirtioNet::activate(Activation activation)
{
    take_activation(activation);
    // Buffers the driver posted before DRIVER_OK start the receive path; otherwise this stops
    // polling until its first receiveq notification.
    run_rx();
}

void VirtioNet::take_activation(Activation& activation)
{
    m_memory = &activation.memory;
    m_notifier = &activation.notifier;
    m_negotiated = activation.features;
    m_rx = std::move(activation.queues.at(kRxQueue));
    m_tx = std::move(activation.queues.at(kTxQueue));
    m_rx_runner.reset();
    m_tx_runner.reset();
    // Let the backend hand us only the offloaded frames the guest said it accepts.
    const unsigned offloads = tun_offload_flags(m_negotiated);
    if (const int result = m_backend->set_offloads(offloads); result < 0) {
        m_log.log(fmt::format("setting tap offloads {:#x} failed ({}); receiving plain frames only", offloads,
            std::strerror(-result)));
        (void)m_backend->set_offloads(0);
    }
}

void VirtioNet::reset()
{
    // virtio-v1.2 §2.4 (Device Reset): forget queues and held buffers; nothing here is in
    // flight on the host (backend I/O is synchronous).
    set_polling(false);
    (void)m_backend->set_offloads(0);
    m_rx.reset();
    m_tx.reset();
    m_rx_chains.clear();
    m_rx_pending = 0;
    m_rx_runner.reset();
    m_tx_runner.reset();
    m_memory = nullptr;
    m_notifier = nullptr;
    m_negotiated = 0;
}

void VirtioNet::process_queue(std::uint16_t queue)
{
    if (queue == kRxQueue)
        run_rx();
    else if (queue == kTxQueue)
        run_tx();
}

void VirtioNet::handle_event(int fd)
{
    if (fd != m_backend->fd())
        return;
    run_rx();
}

void VirtioNet::set_polling(bool wanted, bool force)
{
    if (wanted == m_polling && !force)
        return;
    m_polling = wanted;
    if (m_set_fd_interest)
        m_set_fd_interest(m_backend->fd(), wanted);
}

// ---- receive: virtio-v1.2 §5.1.6.3 (Setting Up Receive Buffers), §5.1.6.4 (Processing of
// Incoming Packets)

VirtioNet::PopOutcome VirtioNet::pop_rx_chain()
{
    for (;;) {
        // Every chain counts against the pass budget, the ones given back too small included: a
        // driver that keeps republishing one can otherwise keep this loop going forever.
        QueueRunner::Next next = m_rx_runner.next(*m_rx, *m_notifier);
        if (!next.chain) {
            if (next.end == QueueRunner::End::Budget)
                return PopOutcome::Budget;
            return next.end == QueueRunner::End::Broken ? PopOutcome::Broken : PopOutcome::Empty;
        }
        DescriptorChain chain = std::move(*next.chain);
        // §5.1.6.3.1 (Driver Requirements: Setting Up Receive Buffers): "If VIRTIO_NET_F_MRG_RXBUF
        // is negotiated, each buffer MUST be at least the size of the struct virtio_net_hdr";
        // without it a buffer must hold a whole frame. A buffer too small for even the header
        // is given back empty.
        if (chain.writable_bytes < kNetHeaderSize) {
            count([](NetCounters& c) { ++c.rx_bad_buffers; });
            m_log.log(fmt::format("receive buffer of {} writable bytes cannot hold the {}-byte header; returned empty",
                chain.writable_bytes, kNetHeaderSize));
            m_rx->add_used(chain.head, 0);
            continue;
        }
        m_rx_chains.push_back(std::move(chain));
        return PopOutcome::Added;
    }
}

void VirtioNet::run_rx()
{
    if (!m_rx || broken()) {
        // Not running: an event here means the fd is watched while we want nothing from it.
        set_polling(false, true);
        return;
    }
    const std::uint16_t used_before = m_rx->next_used();
    m_rx_runner.begin_pass();
    bool keep_polling = true;
    for (unsigned frames = 0; frames < kMaxRxFramesPerPass; ++frames) {
        if (m_rx_pending == 0) {
            // Take a frame from the host only when the guest has given somewhere to put it:
            // otherwise it stays queued in the tap (whose own queue limit applies).
            if (m_rx_chains.empty()) {
                const PopOutcome outcome = pop_rx_chain();
                if (outcome == PopOutcome::Budget)
                    break; // the runner scheduled a re-run; the fd stays watched meanwhile
                if (outcome != PopOutcome::Added) {
                    keep_polling = false;
                    break;
                }
            }
            const std::int64_t length = m_backend->read_frame(m_rx_buffer);
            if (length == 0)
                break; // nothing waiting: keep watching the fd
            if (length < 0) {
                count([](NetCounters& c) { ++c.rx_backend_errors; });
                m_log.log(fmt::format("reading a frame from the backend failed: {}; receive paused until the "
                                      "next receiveq notification", std::strerror(static_cast<int>(-length))));
                keep_polling = false;
                break;
            }
            if (static_cast<std::uint64_t>(length) < kNetHeaderSize + ETH_HLEN) {
                count([](NetCounters& c) { ++c.rx_dropped_invalid; });
                continue;
            }
            if (static_cast<std::size_t>(length) >= m_rx_buffer.size()) {
                count([](NetCounters& c) { ++c.rx_dropped_too_big; });
                m_log.log("frame from the backend larger than 64 KiB (truncated by the read); dropped");
                continue;
            }
            m_rx_pending = static_cast<std::uint64_t>(length);
        }
        const Delivery delivery = deliver_pending();
        if (delivery == Delivery::Delivered || delivery == Delivery::Dropped) {
            m_rx_pending = 0;
            continue;
        }
        if (delivery == Delivery::Budget)
            break; // the frame waits for the re-run the runner scheduled
        // NeedBuffers: resume on the next receiveq notification. Throttled: the gate schedules
        // process_queue(kRxQueue). Broken: wait for reset.
        keep_polling = false;
        break;
    }
    if (m_rx && m_rx->next_used() != used_before && m_rx->needs_notification())
        m_notifier->signal_used_queue(kRxQueue);
    set_polling(keep_polling && !broken());
}

VirtioNet::Delivery VirtioNet::deliver_pending()
{
    const std::uint64_t total = m_rx_pending; // header + frame
    const std::uint64_t frame_length = total - kNetHeaderSize;
    std::size_t chains_needed = 1;
    if (!negotiated(VIRTIO_NET_F_MRG_RXBUF)) {
        // §5.1.6.3.1: without VIRTIO_NET_F_MRG_RXBUF the driver posts buffers that hold a whole
        // frame (65562 bytes with GUEST_TSO*). One that does not: the frame is dropped and the
        // buffer kept for the next.
        if (m_rx_chains.front().writable_bytes < total) {
            count([](NetCounters& c) { ++c.rx_dropped_too_big; });
            m_log.log(fmt::format("{}-byte frame does not fit a {}-byte receive buffer; dropped", frame_length,
                m_rx_chains.front().writable_bytes));
            return Delivery::Dropped;
        }
    } else {
        // §5.1.6.4 (Processing of Incoming Packets): with VIRTIO_NET_F_MRG_RXBUF a frame may span
        // several buffers, filled in order; num_buffers in the first header says how many.
        std::uint64_t capacity = 0;
        std::size_t index = 0;
        for (;; ++index) {
            if (index == m_rx_chains.size()) {
                const PopOutcome outcome = pop_rx_chain();
                if (outcome == PopOutcome::Broken)
                    return Delivery::Broken;
                if (outcome == PopOutcome::Budget)
                    return Delivery::Budget;
                if (outcome == PopOutcome::Empty) {
                    // Every descriptor of the ring is ours and still too little: no buffer the
                    // driver can add will ever make this frame fit.
                    std::size_t held = 0;
                    for (const auto& chain : m_rx_chains)
                        held += chain.readable.size() + chain.writable.size();
                    if (held < m_rx->size())
                        return Delivery::NeedBuffers;
                    count([](NetCounters& c) { ++c.rx_dropped_too_big; });
                    m_log.log(fmt::format("{}-byte frame exceeds every receive buffer posted; dropped", frame_length));
                    return Delivery::Dropped;
                }
            }
            capacity += m_rx_chains[index].writable_bytes;
            if (capacity >= total)
                break;
        }
        chains_needed = index + 1;
    }

    NetHeader header;
    std::memcpy(&header, m_rx_buffer.data(), sizeof header);
    if (!prepare_rx_header(header, m_negotiated, static_cast<std::uint16_t>(chains_needed))) {
        count([](NetCounters& c) { ++c.rx_dropped_invalid; });
        m_log.log(fmt::format("frame with offload flags {:#x} gso_type {:#x} the driver did not negotiate; dropped",
            header.flags, header.gso_type));
        return Delivery::Dropped;
    }
    if (m_gate && !m_gate->admit(kRxQueue, frame_length))
        return Delivery::Throttled;
    std::memcpy(m_rx_buffer.data(), &header, sizeof header);

    const std::span<const std::uint8_t> bytes(m_rx_buffer.data(), total);
    std::uint64_t offset = 0;
    for (std::size_t i = 0; i < chains_needed; ++i) {
        const DescriptorChain chain = std::move(m_rx_chains.front());
        m_rx_chains.pop_front();
        ChainWriter writer(*m_memory, chain);
        const std::uint64_t part = std::min<std::uint64_t>(total - offset, chain.writable_bytes);
        // pop() checked the buffers lie in RAM, so the write cannot fail.
        (void)writer.write(bytes.subspan(offset, part));
        m_rx->add_used(chain.head, static_cast<std::uint32_t>(part));
        offset += part;
    }
    count([frame_length](NetCounters& c) {
        ++c.rx_packets;
        c.rx_bytes += frame_length;
    });
    return Delivery::Delivered;
}

// ---- transmit: virtio-v1.2 §5.1.6.2 (Packet Transmission)

void VirtioNet::run_tx()
{
    if (!m_tx || broken())
        return;
    const std::uint16_t used_before = m_tx->next_used();
    // Everything the driver made available, including what it adds while we work, up to the
    // pass budget: pop() re-arms avail_event when it finds the ring empty, so the driver's next
    // kick is not lost, and a pass that ends on its budget has scheduled its own re-run.
    (void)m_tx_runner.run(
        *m_tx, *m_notifier, [] { return true; },
        [this](const DescriptorChain& chain) {
            return transmit(chain) == Transmit::Throttled ? QueueRunner::Handled::Refused : QueueRunner::Handled::Done;
        });
    if (m_tx->next_used() != used_before && m_tx->needs_notification())
        m_notifier->signal_used_queue(kTxQueue);
}

void VirtioNet::drop_tx(std::uint16_t head, std::string_view why)
{
    count([](NetCounters& c) { ++c.tx_dropped_malformed; });
    m_log.log(fmt::format("transmit chain {} dropped: {}", head, why));
    // §5.1.6.2: the device returns transmit buffers having written nothing into them.
    m_tx->add_used(head, 0);
}

VirtioNet::Transmit VirtioNet::transmit(const DescriptorChain& chain)
{
    // §5.1.6.2 (Packet Transmission): a transmit buffer is the header followed by the frame,
    // all device-readable, in whatever descriptors the driver chose (§2.7.4.1).
    if (!chain.writable.empty()) {
        drop_tx(chain.head, describe(TxFrameError::WritableBuffer));
        return Transmit::Done;
    }
    if (chain.readable_bytes < kNetHeaderSize) {
        drop_tx(chain.head, describe(TxFrameError::HeaderTooShort));
        return Transmit::Done;
    }
    ChainReader reader(*m_memory, chain);
    // One copy of the header: every decision, and what reaches the tap, uses the copy (the guest
    // may rewrite its buffer meanwhile).
    const auto raw = reader.read_obj<NetHeader>();
    if (!raw) {
        drop_tx(chain.head, describe(TxFrameError::HeaderTooShort));
        return Transmit::Done;
    }
    const std::uint64_t frame_length = chain.readable_bytes - kNetHeaderSize;
    auto header = check_tx_header(*raw, frame_length, m_negotiated, m_mtu);
    if (!header) {
        drop_tx(chain.head, describe(header.error()));
        return Transmit::Done;
    }
    if (m_gate && !m_gate->admit(kTxQueue, frame_length))
        return Transmit::Throttled;

    std::vector<iovec> parts;
    parts.reserve(chain.readable.size() + 1);
    parts.push_back({&*header, kNetHeaderSize});
    for (const auto& range : reader.take(frame_length)) {
        // pop() checked every range lies in RAM; slice cannot fail.
        auto bytes = m_memory->slice(range.address, range.length);
        parts.push_back({bytes->data(), bytes->size()});
    }
    const std::int64_t written = m_backend->write_frame(parts);
    if (written < 0) {
        count([](NetCounters& c) { ++c.tx_dropped_backend; });
        m_log.log(fmt::format("backend refused a {}-byte frame: {}", frame_length,
            std::strerror(static_cast<int>(-written))));
    } else {
        count([frame_length](NetCounters& c) {
            ++c.tx_packets;
            c.tx_bytes += frame_length;
        });
    }
    m_tx->add_used(chain.head, 0);
    return Transmit::Done;
}

} // namespace minivmm::virtio
