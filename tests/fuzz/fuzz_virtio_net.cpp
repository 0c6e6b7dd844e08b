// libFuzzer target: VirtioNet's transmit path (virtio-v1.2 §5.1.6.2 "Packet Transmission": the
// virtio_net_hdr with hostile flags/gso/csum fields, any descriptor layout) and receive path
// (§5.1.6.3/§5.1.6.4: frames from the backend into the driver's buffers, with and without
// VIRTIO_NET_F_MRG_RXBUF), driven by a fake driver over 64 KiB of guest RAM and a fake backend.
//
// Input: 2 bytes of negotiated features, 1 byte of queue sizes, 2 bytes of mtu, then a program of
// operations (one opcode byte each, see the switch below): add a transmit or receive chain, hand
// the backend a frame, notify a queue, signal the backend fd, throttle the gate, make the
// backend fail, reset and re-activate, or hostile writes (any descriptor, any avail entry/idx).
//
// Invariants checked after every operation, for each queue the input has not written hostile
// ring entries to: every used element names a chain the driver made available and not yet got
// back, its length fits that chain's device-writable bytes, a received frame arrives intact
// (header num_buffers = buffers used), frames reach the backend unchanged, in order.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <optional>
#include <vector>

#include "devices/virtio/net/net_header.hpp"
#include "devices/virtio/net/virtio_net.hpp"
#include "devices/virtio/queue/virtq_abi.hpp"
#include "tests/fuzz/fuzz_support.hpp"
#include "tests/support/fake_net_backend.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "vmm/base/mmap.hpp"

using namespace minivmm;
using namespace minivmm::virtio;
using minivmm::fuzz::invariant_failed;
using minivmm::testing::FakeNetBackend;
using minivmm::testing::FakeVirtioDriver;

namespace {

constexpr std::uint64_t kRamSize = 64 * 1024;
// Rings live below kDataStart (receiveq at 0x0, transmitq at 0x1000); buffers are allocated above.
constexpr std::uint64_t kDataStart = 0x2000;
constexpr unsigned kMaxChainLength = 8;

class CountingNotifier final : public DeviceNotifier {
public:
    void signal_used_queue(std::uint16_t) override {}
    void report_guest_error(std::string_view) override { ++guest_errors; }
    void schedule_queue_rerun(std::uint16_t queue) override { reruns.push_back(queue); }
    void notify_config_change() override {} // no online resize here
    int guest_errors = 0;
    std::vector<std::uint16_t> reruns; // queues the device asked the event loop to run again
};

class FuzzGate final : public RequestGate {
public:
    bool admit(std::uint16_t, std::uint64_t) override { return !refuse; }
    bool refuse = false;
};

// The features the input may pick, one input bit each; VERSION_1, MAC, STATUS and MTU always.
constexpr unsigned kOptionalFeatures[] = {VIRTIO_NET_F_MRG_RXBUF, VIRTIO_NET_F_CSUM, VIRTIO_NET_F_GUEST_CSUM,
    VIRTIO_NET_F_HOST_TSO4, VIRTIO_NET_F_HOST_TSO6, VIRTIO_NET_F_GUEST_TSO4, VIRTIO_NET_F_GUEST_TSO6,
    VIRTIO_F_EVENT_IDX, VIRTIO_F_INDIRECT_DESC};

std::uint64_t features_from(std::uint16_t bits)
{
    std::uint64_t features = feature_bit(VIRTIO_F_VERSION_1) | feature_bit(VIRTIO_NET_F_MAC)
        | feature_bit(VIRTIO_NET_F_STATUS) | feature_bit(VIRTIO_NET_F_MTU);
    for (unsigned i = 0; i < std::size(kOptionalFeatures); ++i)
        if (bits & (1u << i))
            features |= feature_bit(kOptionalFeatures[i]);
    return features;
}

// Bytes that differ from their neighbours, so a frame copied to the wrong offset does not
// compare equal: a fixed pattern starting at `start` (< 256), long enough for any frame here.
std::span<const std::uint8_t> pattern(std::size_t start)
{
    static const std::vector<std::uint8_t> bytes = [] {
        std::vector<std::uint8_t> all(256 + kMaxGsoFrame + kVlanTagSize + 512);
        for (std::size_t i = 0; i < all.size(); ++i)
            all[i] = static_cast<std::uint8_t>(i * 7 + i / 251);
        return all;
    }();
    return std::span(bytes).subspan(start);
}

// One chain the driver made available and has not got back yet.
struct InFlight {
    std::vector<std::uint16_t> descriptors;            // to free when it comes back
    std::vector<FakeVirtioDriver::Buffer> buffers;     // in chain order
    std::uint64_t writable_bytes = 0;
    std::vector<std::uint8_t> readable;                // the bytes the device may read, in order
};

// The driver side of one queue: descriptor allocation, what is in flight, what came back.
struct DriverQueue {
    DriverQueue(const GuestMemory& memory, std::uint16_t size, std::uint64_t base)
        : ring(memory, size, base, base + 0x400, base + 0x600)
    {
        for (std::uint16_t i = 0; i < size; ++i)
            free.push_back(i);
    }
    FakeVirtioDriver ring;
    std::vector<std::uint16_t> free;
    std::map<std::uint16_t, InFlight> in_flight; // by head
    std::uint16_t seen_used = 0;
    bool hostile = false; // the input wrote ring entries behind the driver's back: no bookkeeping
};

class Harness {
public:
    Harness(fuzz::InputReader& input)
        : m_input(input)
        , m_memory(shared_memory())
    {
        std::memset(m_memory.slice(0, kRamSize)->data(), 0, kRamSize);
        m_features = features_from(input.u16());
        const std::uint8_t sizes = input.byte();
        m_rx_size = static_cast<std::uint16_t>(1u << (sizes % 7));
        m_tx_size = static_cast<std::uint16_t>(1u << ((sizes >> 4) % 7));
        const std::uint16_t mtu = std::max<std::uint16_t>(68, input.u16());
        auto fake = std::make_unique<FakeNetBackend>();
        m_backend = fake.get();
        VirtioNet::Options options;
        options.mtu = mtu;
        options.name = "fuzz";
        m_net = std::make_unique<VirtioNet>(std::move(fake), options);
        m_gate = std::make_shared<FuzzGate>();
        m_net->set_request_gate(m_gate);
        activate();
    }
    ~Harness()
    {
        // The device keeps a pointer to the memory: reset it first.
        m_net->reset();
    }

    void run()
    {
        while (!m_input.empty()) {
            step(m_input.byte());
            run_reruns();
            check_used(*m_rx, true);
            check_used(*m_tx, false);
        }
        // What the guest would see once it kicks both queues again.
        m_gate->refuse = false;
        m_net->process_queue(VirtioNet::kTxQueue);
        m_net->process_queue(VirtioNet::kRxQueue);
        run_reruns();
        check_used(*m_rx, true);
        check_used(*m_tx, false);
        if (std::getenv("MINIVMM_FUZZ_VERBOSE")) {
            // For checking by hand that a seed reaches the paths it is meant for.
            const NetCounters c = m_net->counters();
            std::fprintf(stderr, "rx_packets %lu tx_packets %lu tx_malformed %lu rx_too_big %lu rx_invalid %lu "
                "rx_bad_buffers %lu hostile rx %d tx %d\n", c.rx_packets, c.tx_packets, c.tx_dropped_malformed,
                c.rx_dropped_too_big, c.rx_dropped_invalid, c.rx_bad_buffers, m_rx->hostile, m_tx->hostile);
        }
    }

private:
    // What the event loop does for schedule_queue_rerun(): run the queue again, a bounded number
    // of passes (a device asking forever would be a bug the harness must not hang on).
    void run_reruns()
    {
        for (int pass = 0; pass < 64 && !m_notifier.reruns.empty(); ++pass) {
            const std::uint16_t queue = m_notifier.reruns.front();
            m_notifier.reruns.erase(m_notifier.reruns.begin());
            m_net->process_queue(queue);
        }
        m_notifier.reruns.clear();
    }

    bool mergeable() const { return m_features & feature_bit(VIRTIO_NET_F_MRG_RXBUF); }

    void activate()
    {
        std::memset(m_memory.slice(0, kDataStart)->data(), 0, kDataStart);
        m_rx.emplace(m_memory, m_rx_size, 0x0);
        m_tx.emplace(m_memory, m_tx_size, 0x1000);
        m_next_data = kDataStart;
        m_frames_in.clear();
        m_frames_in_matched = 0;
        m_frames_out_checked = m_backend->written.size();
        m_tx_sent.clear();
        m_tx_matched = 0;
        auto rx = m_rx->ring.config().activate(m_memory, m_features);
        auto tx = m_tx->ring.config().activate(m_memory, m_features);
        if (!rx || !tx)
            invariant_failed("the harness's own queue layout was refused");
        std::vector<std::optional<VirtQueue>> queues;
        queues.emplace_back(std::move(*rx));
        queues.emplace_back(std::move(*tx));
        m_net->activate({m_memory, m_features, std::move(queues), m_notifier});
    }

    // A guest address for a buffer of `length` bytes: fresh data area, or (hostile) anywhere.
    std::uint64_t place(std::uint32_t length, std::uint8_t how, bool& hostile)
    {
        if (how % 8 == 7) {
            hostile = true;
            std::uint64_t address = m_input.u64();
            if (!(how & 0x80))
                address %= kRamSize + 0x100;
            // Over the rings: what the harness or the device writes there corrupts both queues.
            if (address < kDataStart)
                m_rx->hostile = m_tx->hostile = true;
            return address;
        }
        if (m_next_data + length > kRamSize) {
            hostile = true; // out of fresh RAM: overlap an old buffer
            return kDataStart + m_input.u16() % (kRamSize - kDataStart);
        }
        const std::uint64_t address = m_next_data;
        m_next_data += (length + 15) & ~std::uint64_t(15);
        return address;
    }

    // Builds a chain from the input: count, then per buffer length, placement and (readable)
    // content. Returns it made available on `queue`, direct or through an indirect table.
    void add_chain(DriverQueue& queue, bool receive)
    {
        const std::uint8_t shape = m_input.byte();
        const unsigned count = 1 + shape % kMaxChainLength;
        const bool indirect = (shape & 0x80) && (m_features & feature_bit(VIRTIO_F_INDIRECT_DESC));
        if (!indirect && queue.free.size() < count)
            return;
        if (indirect && queue.free.empty())
            return;
        InFlight chain;
        bool hostile = false;
        for (unsigned i = 0; i < count; ++i) {
            const std::uint8_t how = m_input.byte();
            std::uint32_t length = m_input.u16();
            if (how & 0x40)
                length %= 64; // small buffers: around the 12-byte header and 14-byte Ethernet header
            if (how & 0x20)
                length = m_input.u32(); // hostile lengths
            // The transmitq gets device-readable buffers, the receiveq writable ones, unless the
            // input says otherwise (a rule-breaking chain the device must refuse).
            const bool writes = receive != bool(how & 0x10);
            const std::uint64_t address = place(length, how, hostile);
            if (!writes) {
                // Content: the input's bytes (the header first), the rest a pattern.
                std::vector<std::uint8_t> content(std::min<std::uint64_t>(length, 0x4000));
                const auto given = m_input.bytes(content.size() < 64 ? content.size() : 64);
                // std::copy, not memcpy: an empty buffer's data() may be null.
                const auto rest = std::copy(given.begin(), given.end(), content.begin());
                std::copy_n(pattern(length % 256).begin(), content.end() - rest, rest);
                if (m_memory.contains(address, content.size()))
                    (void)m_memory.write(address, content);
                if (content.size() != length)
                    hostile = true;
                chain.readable.insert(chain.readable.end(), content.begin(), content.end());
            } else {
                chain.writable_bytes += length;
            }
            chain.buffers.push_back({address, length, writes ? FakeVirtioDriver::Access::DeviceWrites
                                                               : FakeVirtioDriver::Access::DeviceReads});
        }
        if (hostile) {
            // Buffers the device may refuse, or that overlap rings and each other: no bookkeeping.
            queue.hostile = true;
        }
        const auto flags = [](const FakeVirtioDriver::Buffer& buffer, bool last) {
            std::uint16_t value = last ? 0 : VIRTQ_DESC_F_NEXT;
            if (buffer.access == FakeVirtioDriver::Access::DeviceWrites)
                value |= VIRTQ_DESC_F_WRITE;
            return value;
        };
        if (indirect) {
            const std::uint64_t table = place(static_cast<std::uint32_t>(16 * count), 0, queue.hostile);
            for (unsigned i = 0; i < count; ++i) {
                const auto& buffer = chain.buffers[i];
                const bool last = i + 1 == count;
                if (m_memory.contains(table + 16 * i, 16))
                    queue.ring.write_descriptor(table, static_cast<std::uint16_t>(i), buffer.address, buffer.length,
                        flags(buffer, last), static_cast<std::uint16_t>(last ? 0 : i + 1));
            }
            const std::uint16_t head = queue.free.back();
            queue.free.pop_back();
            queue.ring.write_descriptor(head, table, 16 * count, VIRTQ_DESC_F_INDIRECT, 0);
            chain.descriptors.push_back(head);
        } else {
            for (unsigned i = 0; i < count; ++i) {
                chain.descriptors.push_back(queue.free.back());
                queue.free.pop_back();
            }
            for (unsigned i = 0; i < count; ++i) {
                const bool last = i + 1 == count;
                queue.ring.write_descriptor(chain.descriptors[i], chain.buffers[i].address, chain.buffers[i].length,
                    flags(chain.buffers[i], last), last ? 0 : chain.descriptors[i + 1]);
            }
        }
        const std::uint16_t head = chain.descriptors.front();
        if (!receive)
            m_tx_sent.push_back(chain.readable);
        queue.in_flight[head] = std::move(chain);
        queue.ring.publish(head);
    }

    // A frame from the host: the tap's virtio_net_hdr from the input, a frame of the chosen
    // length with a pattern, or one longer than any the device accepts.
    void host_sends()
    {
        std::vector<std::uint8_t> frame(kNetHeaderSize);
        const auto header = m_input.bytes(kNetHeaderSize);
        std::copy(header.begin(), header.end(), frame.begin());
        const std::uint8_t kind = m_input.byte();
        std::uint32_t length = m_input.u16();
        if (kind & 1)
            length %= 128;
        if (kind & 2)
            length = kMaxGsoFrame + kVlanTagSize + 1 + kind;
        frame.resize(kNetHeaderSize + length);
        std::copy_n(pattern(kind).begin(), length, frame.begin() + kNetHeaderSize);
        m_frames_in.push_back(frame);
        m_backend->incoming.push_back(std::move(frame));
    }

    void step(std::uint8_t opcode)
    {
        switch (opcode % 16) {
        case 0: add_chain(*m_tx, false); break;
        case 1: add_chain(*m_rx, true); break;
        case 2: host_sends(); break;
        case 3: m_net->process_queue(VirtioNet::kTxQueue); break;
        case 4: m_net->process_queue(VirtioNet::kRxQueue); break;
        case 5: m_net->handle_event(m_backend->fd()); break;
        case 6: m_gate->refuse = !m_gate->refuse; break;
        case 7: m_backend->read_errno = m_backend->read_errno ? 0 : EIO; break;
        case 8: m_backend->write_errno = m_backend->write_errno ? 0 : ENOBUFS; break;
        case 9: {
            // used_event (EVENT_IDX) or avail flags: only change when the device notifies.
            DriverQueue& queue = opcode & 0x10 ? *m_tx : *m_rx;
            if (opcode & 0x20)
                queue.ring.set_used_event(m_input.u16());
            else
                queue.ring.set_avail_flags(m_input.u16());
            break;
        }
        case 10: {
            // Hostile: any descriptor, any fields.
            DriverQueue& queue = opcode & 0x10 ? *m_tx : *m_rx;
            const std::uint16_t index = m_input.u16() % queue.ring.size();
            const std::uint64_t address = m_input.u64();
            const std::uint32_t length = m_input.u32();
            const std::uint16_t flags = m_input.u16();
            const std::uint16_t next = m_input.u16();
            queue.ring.write_descriptor(index, address, length, flags, next);
            // A receive descriptor may point the device's writes at either queue's rings.
            queue.hostile = true;
            if (&queue == &*m_rx)
                m_tx->hostile = true;
            break;
        }
        case 11: {
            // Hostile: any head in the avail ring.
            DriverQueue& queue = opcode & 0x10 ? *m_tx : *m_rx;
            queue.ring.publish(m_input.u16());
            queue.hostile = true;
            break;
        }
        case 12: {
            // Hostile: avail idx anywhere (claims up to 64K buffers).
            DriverQueue& queue = opcode & 0x10 ? *m_tx : *m_rx;
            queue.ring.set_avail_idx(m_input.u16());
            queue.hostile = true;
            break;
        }
        case 13:
            // virtio-v1.2 §2.4 (Device Reset), then the driver sets the device up again.
            m_net->reset();
            m_backend->incoming.clear();
            m_notifier.reruns.clear();
            activate();
            break;
        default: {
            // Config space reads at any offset/width must stay inside the 4 KiB window.
            std::uint8_t bytes[8];
            m_net->read_config(m_input.u16() % 0x100, {bytes, 1u + opcode % 8});
            break;
        }
        }
    }

    // The used elements the device added since the last look, checked against what is in flight.
    void check_used(DriverQueue& queue, bool receive)
    {
        const std::uint16_t used_idx = queue.ring.used_idx();
        const auto pending = static_cast<std::uint16_t>(used_idx - queue.seen_used);
        if (queue.hostile) {
            // A hostile avail idx hands the device the same descriptors many times over, and a
            // receive buffer over the rings lets the device's frame bytes land in the used ring:
            // nothing to check beyond memory safety (the sanitizers).
            queue.seen_used = used_idx;
            return;
        }
        if (pending > queue.ring.size())
            invariant_failed("the device moved used->idx further than the driver made buffers available");
        std::vector<std::pair<VirtqUsedElem, InFlight>> returned;
        for (; queue.seen_used != used_idx; ++queue.seen_used) {
            const VirtqUsedElem element = queue.ring.used_element(queue.seen_used);
            if (element.id >= queue.ring.size())
                invariant_failed("a used element names a descriptor outside the table");
            const auto found = queue.in_flight.find(static_cast<std::uint16_t>(element.id));
            if (found == queue.in_flight.end())
                invariant_failed("a used element names a chain that is not in flight");
            if (element.len > found->second.writable_bytes)
                invariant_failed("a used length exceeds the chain's device-writable bytes");
            if (!receive && element.len != 0)
                invariant_failed("a transmit chain came back with a nonzero used length");
            for (const std::uint16_t descriptor : found->second.descriptors)
                queue.free.push_back(descriptor);
            returned.emplace_back(element, std::move(found->second));
            queue.in_flight.erase(found);
        }
        if (receive && !queue.hostile && !m_tx->hostile)
            check_received(returned);
        if (!receive && !queue.hostile && !m_rx->hostile)
            check_transmitted();
    }

    // Received frames: header num_buffers matches the buffers used, bytes equal a frame the host
    // sent (frames may be dropped, never reordered or altered).
    void check_received(const std::vector<std::pair<VirtqUsedElem, InFlight>>& returned)
    {
        for (std::size_t i = 0; i < returned.size();) {
            const auto& [element, chain] = returned[i];
            if (element.len == 0) {
                if (chain.writable_bytes >= kNetHeaderSize)
                    invariant_failed("a receive buffer that holds a header came back empty");
                ++i;
                continue;
            }
            std::vector<std::uint8_t> bytes = written_bytes(chain, element.len);
            if (bytes.size() < kNetHeaderSize)
                invariant_failed("a received frame is shorter than the virtio-net header");
            NetHeader header;
            std::memcpy(&header, bytes.data(), sizeof header);
            const std::size_t buffers = header.num_buffers;
            if (buffers == 0 || i + buffers > returned.size() || (!mergeable() && buffers != 1))
                invariant_failed("num_buffers does not match the receive buffers used");
            for (std::size_t part = 1; part < buffers; ++part) {
                if (returned[i + part - 1].first.len != returned[i + part - 1].second.writable_bytes)
                    invariant_failed("a mergeable frame left a buffer before the last one partly empty");
                const auto more = written_bytes(returned[i + part].second, returned[i + part].first.len);
                bytes.insert(bytes.end(), more.begin(), more.end());
            }
            i += buffers;
            bool matched = false;
            for (; m_frames_in_matched < m_frames_in.size() && !matched; ++m_frames_in_matched) {
                const auto& sent = m_frames_in[m_frames_in_matched];
                matched = sent.size() == bytes.size()
                    && std::equal(sent.begin() + kNetHeaderSize, sent.end(), bytes.begin() + kNetHeaderSize);
            }
            if (!matched)
                invariant_failed("a received frame is not one the host sent, in order");
        }
    }

    // Frames that reached the backend: each the bytes of a transmit chain, header aside, in order.
    void check_transmitted()
    {
        for (; m_frames_out_checked < m_backend->written.size(); ++m_frames_out_checked) {
            const auto& frame = m_backend->written[m_frames_out_checked];
            bool matched = false;
            for (; m_tx_matched < m_tx_sent.size() && !matched; ++m_tx_matched) {
                const auto& sent = m_tx_sent[m_tx_matched];
                matched = sent.size() == frame.size()
                    && std::equal(sent.begin() + kNetHeaderSize, sent.end(), frame.begin() + kNetHeaderSize);
            }
            if (!matched)
                invariant_failed("a frame reached the backend that the driver did not queue, in order");
        }
    }

    // The first `length` bytes the device wrote into the chain's writable buffers.
    std::vector<std::uint8_t> written_bytes(const InFlight& chain, std::uint32_t length) const
    {
        std::vector<std::uint8_t> bytes;
        for (const auto& buffer : chain.buffers) {
            if (buffer.access != FakeVirtioDriver::Access::DeviceWrites || bytes.size() == length)
                continue;
            const std::size_t part = std::min<std::size_t>(buffer.length, length - bytes.size());
            const auto slice = m_memory.slice(buffer.address, part);
            if (!slice)
                invariant_failed("a bookkept receive buffer lies outside RAM");
            bytes.insert(bytes.end(), slice->begin(), slice->end());
        }
        return bytes;
    }

    // One mapping for the whole run, zeroed per input: a fresh one per input costs more than the
    // device work being fuzzed.
    static const GuestMemory& shared_memory()
    {
        static const GuestMemory memory = [] {
            std::vector<GuestMemory::Region> regions;
            regions.push_back({0, Mapping::anonymous(kRamSize)});
            return GuestMemory(std::move(regions));
        }();
        return memory;
    }

    fuzz::InputReader& m_input;
    const GuestMemory& m_memory;
    std::uint64_t m_features = 0;
    std::uint16_t m_rx_size = 0;
    std::uint16_t m_tx_size = 0;
    FakeNetBackend* m_backend = nullptr;
    CountingNotifier m_notifier;
    std::shared_ptr<FuzzGate> m_gate;
    std::unique_ptr<VirtioNet> m_net;
    std::optional<DriverQueue> m_rx;
    std::optional<DriverQueue> m_tx;
    std::uint64_t m_next_data = kDataStart;
    std::vector<std::vector<std::uint8_t>> m_frames_in; // every frame handed to the backend
    std::size_t m_frames_in_matched = 0;
    std::size_t m_frames_out_checked = 0;
    std::vector<std::vector<std::uint8_t>> m_tx_sent; // readable bytes of every transmit chain
    std::size_t m_tx_matched = 0;
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size)
{
    fuzz::InputReader input(data, size);
    Harness harness(input);
    harness.run();
    return 0;
}
