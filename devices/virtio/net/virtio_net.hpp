// VirtioNet: the virtio network device model (virtio-v1.2 §5.1 "Network Device"): one receiveq
// and one transmitq over a NetBackend (a tap), checksum/TSO offloads passed through in the
// virtio-net header, mergeable receive buffers, and a RequestGate seam for rate limiting.
//
// Receive backpressure: the device reads a frame from the backend only when the guest has
// posted a receive buffer for it. When the receiveq runs dry it asks the event loop to stop
// watching the backend fd (FdInterest) and asks again when the driver notifies the receiveq.
//
// Wiring in the VM layer (vmm/vm), for one --net option:
//
//   NetSpec spec = parse_net_spec(text);
//   VirtioNet::FdInterest interest = [&loop](int fd, bool wanted) {
//       try { loop.modify(fd, wanted ? EPOLLIN : 0); }        // EventLoop outlives the slot
//       catch (const SysError& error) { /* log once; the device still never reads without buffers */ }
//   };
//   std::unique_ptr<VirtioNet> net;
//   if (spec.kind == NetBackendKind::Tap)
//       net = VirtioNet::create(spec, interest);
//   else                                                       // switch: the VM layer's port tap
//       net = std::make_unique<VirtioNet>(std::make_unique<TapDevice>(TapDevice::open(port)),
//           VirtioNet::Options{spec.mac, spec.mtu, port, interest});
//   VirtioNet* view = net.get();                               // counters() for --trace / limits
//   slots.emplace_back(index, "virtio-net", std::move(net), vm_fd, memory, mmio_bus, loop);
//
// VirtioMmioSlot then does the rest unchanged: an ioeventfd per queue (0 receiveq, 1 transmitq)
// calling transport.notify(queue) -> process_queue(queue), and every event_fds() entry (the tap
// fd) added to the loop with EPOLLIN, calling transport.handle_device_event(fd) ->
// handle_event(fd). The device then drives interest with modify(): EPOLLIN while it holds a
// receive buffer and the tap may have frames, 0 while the receiveq is empty, a frame waits for
// more mergeable buffers, or the gate throttles receive. A rate limiter is a RequestGate; when
// it refuses, it later calls transport.notify(kRxQueue or kTxQueue) (e.g. from a TimerFd).
#pragma once

#include <linux/virtio_ids.h>

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "devices/virtio/net/net_backend.hpp"
#include "devices/virtio/net/net_counters.hpp"
#include "devices/virtio/net/net_mac_address.hpp"
#include "devices/virtio/net/net_spec.hpp"
#include "devices/virtio/queue/queue_runner.hpp"
#include "devices/virtio/queue/rate_limited_log.hpp"
#include "devices/virtio/queue/request_gate.hpp"
#include "devices/virtio/transport/virtio_device.hpp"

namespace minivmm::virtio {

class VirtioNet final : public VirtioDevice {
public:
    static constexpr std::uint32_t kDeviceId = VIRTIO_ID_NET; // virtio-v1.2 §5 (Device Types): 1
    static constexpr std::uint16_t kQueueSize = 256;
    // virtio-v1.2 §5.1.2 (Virtqueues): receiveq1 is queue 0, transmitq1 queue 1.
    static constexpr std::uint16_t kRxQueue = 0;
    static constexpr std::uint16_t kTxQueue = 1;
    // Frames taken from the backend per handle_event() before yielding to the loop's other fds
    // (the fd stays readable, so level-triggered epoll comes back).
    static constexpr unsigned kMaxRxFramesPerPass = 256;

    // Called by the device to ask the event loop to watch `fd` (one of event_fds()) for
    // readability (`wanted`) or to stop watching it. Called with the transport lock held, from a
    // vCPU thread or the loop thread; it must not call back into the device or transport and
    // must not throw. The device assumes its fd starts watched (VirtioMmioSlot adds every event
    // fd with EPOLLIN) and calls this only on a change, except that an event arriving while it
    // wants none always repeats `false`.
    using FdInterest = std::function<void(int fd, bool wanted)>;

    struct Options {
        MacAddress mac;
        std::uint16_t mtu = 1500;  // VIRTIO_NET_F_MTU advice, >= 68
        std::string name = "net";  // for log lines: "virtio-net <name>: ..."
        FdInterest set_fd_interest; // may be empty (tests that never stop polling)
    };

    // For --net tap=NAME: opens (or creates) the tap and builds the device. Throws
    // UserError/SysError from TapDevice::open; std::invalid_argument for a switch spec (the VM
    // layer resolves a switch to a port tap and uses the constructor).
    static std::unique_ptr<VirtioNet> create(const NetSpec& spec, FdInterest set_fd_interest);
    VirtioNet(std::unique_ptr<NetBackend> backend, Options options);

    // Installs the rate-limiting seam (nullptr: no limit); call before the guest starts. The
    // gate sees one request per frame: queue kRxQueue or kTxQueue, bytes = Ethernet frame
    // length. A refused frame waits inside the device; the gate must arrange a later
    // process_queue() for that queue (for kRxQueue the backend fd is unwatched meanwhile).
    void set_request_gate(std::shared_ptr<RequestGate> gate) { m_gate = std::move(gate); }

    // A snapshot; safe from any thread.
    [[nodiscard]] NetCounters counters() const;
    // Whether the device currently wants its backend fd watched.
    [[nodiscard]] bool rx_polling() const { return m_polling; }
    [[nodiscard]] const MacAddress& mac() const { return m_mac; }

    std::uint32_t device_id() const override { return kDeviceId; }
    std::uint64_t device_features() const override { return m_features; }
    std::uint16_t queue_count() const override { return 2; }
    std::uint16_t queue_max_size(std::uint16_t) const override { return kQueueSize; }
    void read_config(std::uint64_t offset, std::span<std::uint8_t> data) const override;
    void write_config(std::uint64_t offset, std::span<const std::uint8_t> data) override;
    void activate(Activation activation) override;
    void reset() override;
    void process_queue(std::uint16_t queue) override;
    // The backend fd: readable while a frame waits on the host side.
    std::vector<int> event_fds() const override { return {m_backend->fd()}; }
    void handle_event(int fd) override;
    // Snapshot: MAC and MTU (checked against the restored device's), and when active both
    // queues' progress, the receive buffers taken and not filled, the transmit frame the rate
    // limiter held back, and a received frame not yet delivered to the guest.
    void save_state(snapshot::StateWriter& out) const override;
    void restore_state(snapshot::StateReader& in, Activation* activation) override;

private:
    // activate() without running the receive path: the queues, features and tap offloads.
    void take_activation(Activation& activation);
    enum class PopOutcome { Added, Empty, Budget, Broken };
    enum class Delivery { Delivered, Dropped, NeedBuffers, Throttled, Budget, Broken };
    enum class Transmit { Done, Throttled };

    void run_rx();
    void run_tx();
    PopOutcome pop_rx_chain();
    Delivery deliver_pending();
    Transmit transmit(const DescriptorChain& chain);
    void drop_tx(std::uint16_t head, std::string_view why);
    void set_polling(bool wanted, bool force = false);
    // A ring broke a rule (reported once by its runner): both queues wait for the driver's reset.
    bool broken() const { return m_rx_runner.broken() || m_tx_runner.broken(); }
    bool negotiated(unsigned bit) const { return m_negotiated & (std::uint64_t(1) << bit); }
    template<typename Fn>
    void count(Fn&& fn)
    {
        std::lock_guard lock(m_counters_mutex);
        fn(m_counters);
    }

    std::unique_ptr<NetBackend> m_backend;
    MacAddress m_mac;
    std::uint16_t m_mtu;
    FdInterest m_set_fd_interest;
    std::uint64_t m_features;
    std::shared_ptr<RequestGate> m_gate;
    RateLimitedLog m_log;
    std::vector<std::uint8_t> m_rx_buffer; // one frame from the backend, header first
    bool m_polling = true;

    // Set by activate(), cleared by reset().
    const GuestMemory* m_memory = nullptr;
    DeviceNotifier* m_notifier = nullptr;
    std::uint64_t m_negotiated = 0;
    std::optional<VirtQueue> m_rx;
    std::optional<VirtQueue> m_tx;
    std::deque<DescriptorChain> m_rx_chains;    // popped receive chains not yet used, in ring order
    std::uint64_t m_rx_pending = 0;             // bytes of m_rx_buffer waiting for the guest (0: none)
    // Per-pass budget and broken-ring stop; the tx runner also keeps the frame the gate refused.
    QueueRunner m_rx_runner{kRxQueue, "receiveq"};
    QueueRunner m_tx_runner{kTxQueue, "transmitq"};

    mutable std::mutex m_counters_mutex;
    NetCounters m_counters;
};

} // namespace minivmm::virtio
