// Tests for TapDevice on real tap interfaces (Linux tuntap.rst; the virtio-v1.2 §5.1.6 "Device
// Operation" header through IFF_VNET_HDR), each inside a fresh network namespace of a forked
// child so the host's network is never touched. They need root (CAP_NET_ADMIN): without it they
// WARN and skip; as root under CI=true, an environment that cannot run them is a failure.
#include <catch2/catch.hpp>

#include <arpa/inet.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstring>
#include <functional>

#include <fmt/format.h>

#include "devices/virtio/net/net_header.hpp"
#include "devices/virtio/net/tap_device.hpp"
#include "devices/virtio/net/virtio_net.hpp"
#include "devices/virtio/queue/virtq_abi.hpp"
#include "tests/support/fake_virtio_driver.hpp"
#include "tests/support/netns_child.hpp"
#include "tests/support/test_guest_memory.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/base/unique_fd.hpp"

using namespace minivmm;
using namespace minivmm::virtio;
using minivmm::testing::NetnsResult;

namespace {

// IEEE 802 "Local Experimental Ethertype 1": no host protocol reacts to these frames.
constexpr std::uint16_t kTestEthertype = 0x88b5;

void run_as_root_in_netns(const std::function<std::string()>& body)
{
    if (::geteuid() != 0) {
        WARN("not root: skipping a real-tap test (creating taps needs CAP_NET_ADMIN)");
        return;
    }
    NetnsResult result;
    if (::access(TapDevice::kCloneDevice, R_OK | W_OK) != 0)
        result = {NetnsResult::Status::Unavailable, fmt::format("{}: {}", TapDevice::kCloneDevice, std::strerror(errno))};
    else
        result = testing::run_in_fresh_netns(body);
    if (result.status == NetnsResult::Status::Unavailable) {
        if (testing::running_under_ci())
            FAIL("running as root under CI, but the tap test cannot run: " << result.message);
        WARN("skipping a real-tap test: " << result.message);
        return;
    }
    INFO(result.message);
    CHECK(result.status == NetnsResult::Status::Ok);
}

// Keeps the kernel's own IPv6 traffic (router solicitations, MLD) off taps created from now on
// in this namespace, so the frames a test reads are the ones it sent. Best effort: a kernel
// without IPv6 has nothing to silence.
void quiet_ipv6()
{
    for (const char* path : {"/proc/sys/net/ipv6/conf/all/disable_ipv6", "/proc/sys/net/ipv6/conf/default/disable_ipv6"}) {
        UniqueFd file(::open(path, O_WRONLY | O_CLOEXEC));
        if (file)
            (void)!::write(file.get(), "1", 1);
    }
}

bool interface_up(const std::string& name)
{
    UniqueFd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    ifreq request{};
    std::strncpy(request.ifr_name, name.c_str(), IFNAMSIZ - 1);
    return socket && ::ioctl(socket.get(), SIOCGIFFLAGS, &request) == 0 && (request.ifr_flags & IFF_UP);
}

// A broadcast frame of the test ethertype with `payload` bytes of pattern.
std::vector<std::uint8_t> test_frame(std::size_t payload, std::uint8_t seed)
{
    std::vector<std::uint8_t> frame = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, seed,
        kTestEthertype >> 8, kTestEthertype & 0xff};
    for (std::size_t i = 0; i < payload; ++i)
        frame.push_back(static_cast<std::uint8_t>(i + seed));
    return frame;
}

// A packet socket on `ifname` that sees only frames of the test ethertype (packet(7)).
UniqueFd packet_socket(const std::string& ifname, int& ifindex)
{
    UniqueFd socket(::socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(kTestEthertype)));
    if (!socket)
        throw SysError("socket AF_PACKET");
    ifindex = static_cast<int>(::if_nametoindex(ifname.c_str()));
    sockaddr_ll address{};
    address.sll_family = AF_PACKET;
    address.sll_protocol = htons(kTestEthertype);
    address.sll_ifindex = ifindex;
    if (::bind(socket.get(), reinterpret_cast<sockaddr*>(&address), sizeof address) < 0)
        throw SysError("bind AF_PACKET");
    return socket;
}

bool wait_readable(int fd, int timeout_ms = 5000)
{
    pollfd ready{fd, POLLIN, 0};
    return ::poll(&ready, 1, timeout_ms) == 1;
}

std::string send_on_host(int socket, int ifindex, const std::vector<std::uint8_t>& frame)
{
    sockaddr_ll to{};
    to.sll_family = AF_PACKET;
    to.sll_ifindex = ifindex;
    to.sll_halen = 6;
    std::memset(to.sll_addr, 0xff, 6);
    if (::sendto(socket, frame.data(), frame.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to)
        != static_cast<ssize_t>(frame.size()))
        return fmt::format("sendto on the host side: {}", std::strerror(errno));
    return "";
}

// Reads frames from `tap` until one of the test ethertype arrives (the kernel may send its own,
// e.g. IPv6 router solicitations); returns it header first, or empty.
std::vector<std::uint8_t> read_test_frame(TapDevice& tap)
{
    std::vector<std::uint8_t> buffer(kNetHeaderSize + kMaxGsoFrame);
    for (int attempt = 0; attempt < 50; ++attempt) {
        if (!wait_readable(tap.fd()))
            return {};
        const std::int64_t length = tap.read_frame(buffer);
        if (length >= kNetHeaderSize + ETH_HLEN && buffer[kNetHeaderSize + 12] == (kTestEthertype >> 8)
            && buffer[kNetHeaderSize + 13] == (kTestEthertype & 0xff))
            return {buffer.begin(), buffer.begin() + length};
    }
    return {};
}

} // namespace

TEST_CASE("TapDevice: no clone device is a UserError naming it")
{
    CHECK_THROWS_WITH(TapDevice::open("mvtest9", "/nonexistent/tun"), Catch::Contains("no /nonexistent/tun"));
    CHECK_THROWS_AS(TapDevice::open("0123456789abcdef", "/nonexistent/tun"), UserError);
}

TEST_CASE("TapDevice: a tap it creates exists and is up while open, and vanishes when closed")
{
    run_as_root_in_netns([]() -> std::string {
        {
            auto tap = TapDevice::open("mvtest0");
            if (!tap.created())
                return "created() is false for a new tap";
            if (tap.name() != "mvtest0")
                return "name is " + tap.name();
            if (::if_nametoindex("mvtest0") == 0)
                return "the interface does not exist while the tap is open";
            if (!interface_up("mvtest0"))
                return "a created tap is not up";
        }
        if (::if_nametoindex("mvtest0") != 0)
            return "the interface still exists after the tap was closed";
        return "";
    });
}

TEST_CASE("TapDevice: an existing persistent tap is attached, not created, and survives close; a held tap is busy")
{
    run_as_root_in_netns([]() -> std::string {
        {
            // `ip tuntap add mvtest1 mode tap`, by hand.
            UniqueFd setup(::open(TapDevice::kCloneDevice, O_RDWR | O_CLOEXEC));
            ifreq request{};
            std::strncpy(request.ifr_name, "mvtest1", IFNAMSIZ - 1);
            request.ifr_flags = IFF_TAP | IFF_NO_PI;
            if (!setup || ::ioctl(setup.get(), TUNSETIFF, &request) < 0 || ::ioctl(setup.get(), TUNSETPERSIST, 1) < 0)
                return fmt::format("making a persistent tap: {}", std::strerror(errno));
        }
        {
            auto tap = TapDevice::open("mvtest1");
            if (tap.created())
                return "created() is true for an existing tap";
            try {
                (void)TapDevice::open("mvtest1");
                return "a second open of a held tap succeeded";
            } catch (const UserError& error) {
                if (std::string(error.what()).find("in use by another process") == std::string::npos)
                    return std::string("unexpected message: ") + error.what();
            }
        }
        if (::if_nametoindex("mvtest1") == 0)
            return "closing an attached persistent tap deleted it";
        return "";
    });
}

TEST_CASE("TapDevice: creating a tap without CAP_NET_ADMIN says so")
{
    run_as_root_in_netns([]() -> std::string {
        __user_cap_header_struct header{_LINUX_CAPABILITY_VERSION_3, 0};
        __user_cap_data_struct data[2] = {};
        if (::syscall(SYS_capget, &header, data) < 0)
            return fmt::format("capget: {}", std::strerror(errno));
        data[CAP_NET_ADMIN / 32].effective &= ~(1u << (CAP_NET_ADMIN % 32));
        if (::syscall(SYS_capset, &header, data) < 0)
            return fmt::format("capset: {}", std::strerror(errno));
        try {
            (void)TapDevice::open("mvtest2");
            return "creating a tap without CAP_NET_ADMIN succeeded";
        } catch (const UserError& error) {
            if (std::string(error.what()) != "creating tap mvtest2 needs CAP_NET_ADMIN (run as root)")
                return std::string("unexpected message: ") + error.what();
        }
        return "";
    });
}

TEST_CASE("TapDevice: TUNSETOFFLOAD accepts the guest-feature flags and refuses TSO without CSUM")
{
    run_as_root_in_netns([]() -> std::string {
        auto tap = TapDevice::open("mvtest3");
        if (int result = tap.set_offloads(TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN); result != 0)
            return fmt::format("set_offloads(CSUM|TSO4|TSO6|ECN): {}", std::strerror(-result));
        if (int result = tap.set_offloads(0); result != 0)
            return fmt::format("set_offloads(0): {}", std::strerror(-result));
        if (tap.set_offloads(TUN_F_TSO4) != -EINVAL)
            return "TSO4 without CSUM was accepted";
        return "";
    });
}

TEST_CASE("TapDevice: frames cross the tap both ways with the 12-byte virtio-net header")
{
    run_as_root_in_netns([]() -> std::string {
        quiet_ipv6();
        auto tap = TapDevice::open("mvtest4");
        int ifindex = 0;
        UniqueFd host = packet_socket("mvtest4", ifindex);

        // Guest to host: header + frame written to the tap comes out of the interface.
        const auto outbound = test_frame(100, 1);
        NetHeader header{};
        const iovec parts[2] = {{&header, kNetHeaderSize},
            {const_cast<std::uint8_t*>(outbound.data()), outbound.size()}};
        const std::int64_t written = tap.write_frame(parts);
        if (written != static_cast<std::int64_t>(kNetHeaderSize + outbound.size()))
            return fmt::format("write_frame returned {}", written);
        if (!wait_readable(host.get()))
            return "the frame never appeared on the host side";
        std::vector<std::uint8_t> seen(2048);
        const ssize_t length = ::recv(host.get(), seen.data(), seen.size(), 0);
        if (length < 0 || std::vector<std::uint8_t>(seen.begin(), seen.begin() + length) != outbound)
            return fmt::format("host side received {} bytes, not the frame", length);

        // Host to guest: a frame sent on the interface is read from the tap behind a header.
        const auto inbound = test_frame(200, 7);
        if (auto error = send_on_host(host.get(), ifindex, inbound); !error.empty())
            return error;
        const auto frame = read_test_frame(tap);
        if (frame.empty())
            return "the host's frame never arrived on the tap";
        NetHeader received;
        std::memcpy(&received, frame.data(), sizeof received);
        if (received.gso_type != VIRTIO_NET_HDR_GSO_NONE || (received.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
            return "unexpected offload in the received header";
        if (std::vector<std::uint8_t>(frame.begin() + kNetHeaderSize, frame.end()) != inbound)
            return "the frame read from the tap differs from the one sent";
        // Nothing more waiting: read_frame reports 0, not an error.
        std::vector<std::uint8_t> buffer(kNetHeaderSize + kMaxGsoFrame);
        while (true) {
            const std::int64_t more = tap.read_frame(buffer);
            if (more == 0)
                break;
            if (more < 0)
                return fmt::format("read_frame on an empty tap: {}", std::strerror(static_cast<int>(-more)));
        }
        return "";
    });
}

TEST_CASE("VirtioNet over a real tap: a guest frame reaches the host and a host frame lands in a guest buffer")
{
    run_as_root_in_netns([]() -> std::string {
        class Notifier final : public DeviceNotifier {
        public:
            void signal_used_queue(std::uint16_t) override {}
            void report_guest_error(std::string_view what) override { error = what; }
            void schedule_queue_rerun(std::uint16_t) override {}
            void notify_config_change() override {}
            std::string error;
        } notifier;
        quiet_ipv6();
        auto memory = testing::make_test_memory(4 << 20);
        testing::FakeVirtioDriver rx(memory, 16, 0x1000, 0x3000, 0x4000, 0x100000);
        testing::FakeVirtioDriver tx(memory, 16, 0x5000, 0x7000, 0x8000, 0x200000);
        std::vector<bool> interest;
        VirtioNet::Options options;
        options.mac = MacAddress::generate("tap:mvtest5");
        options.name = "mvtest5";
        options.set_fd_interest = [&interest](int, bool wanted) { interest.push_back(wanted); };
        auto tap = std::make_unique<TapDevice>(TapDevice::open("mvtest5"));
        VirtioNet net(std::move(tap), options);
        int ifindex = 0;
        UniqueFd host = packet_socket("mvtest5", ifindex);

        const std::uint64_t features = feature_bit(32) | feature_bit(VIRTIO_NET_F_MRG_RXBUF)
            | feature_bit(VIRTIO_NET_F_CSUM) | feature_bit(VIRTIO_NET_F_GUEST_CSUM) | feature_bit(VIRTIO_NET_F_MTU);
        auto rx_queue = rx.config().activate(memory, features);
        auto tx_queue = tx.config().activate(memory, features);
        if (!rx_queue || !tx_queue)
            return "queue activation failed";
        std::vector<std::optional<VirtQueue>> queues;
        queues.emplace_back(std::move(*rx_queue));
        queues.emplace_back(std::move(*tx_queue));
        net.activate({memory, features, std::move(queues), notifier});

        // Transmit: header and frame in two descriptors.
        const auto outbound = test_frame(300, 3);
        const NetHeader header{};
        const std::uint64_t header_at = tx.allocate(kNetHeaderSize);
        std::vector<std::uint8_t> header_bytes(kNetHeaderSize);
        std::memcpy(header_bytes.data(), &header, kNetHeaderSize);
        tx.write_bytes(header_at, header_bytes);
        const std::uint64_t frame_at = tx.allocate(outbound.size());
        tx.write_bytes(frame_at, outbound);
        tx.add_chain({{header_at, kNetHeaderSize, testing::FakeVirtioDriver::Access::DeviceReads},
            {frame_at, static_cast<std::uint32_t>(outbound.size()), testing::FakeVirtioDriver::Access::DeviceReads}});
        net.process_queue(VirtioNet::kTxQueue);
        if (net.counters().tx_packets != 1)
            return fmt::format("tx_packets {} (backend drops {})", net.counters().tx_packets,
                net.counters().tx_dropped_backend);
        if (!wait_readable(host.get()))
            return "the guest's frame never appeared on the host side";
        std::vector<std::uint8_t> seen(2048);
        const ssize_t length = ::recv(host.get(), seen.data(), seen.size(), 0);
        if (length < 0 || std::vector<std::uint8_t>(seen.begin(), seen.begin() + length) != outbound)
            return "the host received something other than the guest's frame";

        // Receive: post buffers, let the host send, handle the tap's readiness as the loop would.
        std::vector<std::uint64_t> buffers;
        for (int i = 0; i < 8; ++i) {
            buffers.push_back(rx.allocate(2048));
            rx.add_chain({{buffers.back(), 2048, testing::FakeVirtioDriver::Access::DeviceWrites}});
        }
        net.process_queue(VirtioNet::kRxQueue);
        const auto inbound = test_frame(500, 9);
        if (auto error = send_on_host(host.get(), ifindex, inbound); !error.empty())
            return error;
        for (std::uint16_t seen_used = 0; seen_used < buffers.size();) {
            if (!net.rx_polling() && rx.used_idx() == seen_used)
                return "not polling the tap although buffers are posted";
            if (!wait_readable(net.event_fds().at(0)))
                return "the tap never became readable";
            net.handle_event(net.event_fds().at(0));
            for (; seen_used != rx.used_idx(); ++seen_used) {
                const auto element = rx.used_element(seen_used);
                const auto bytes = rx.read_bytes(buffers.at(element.id), element.len);
                NetHeader received;
                std::memcpy(&received, bytes.data(), sizeof received);
                if (std::vector<std::uint8_t>(bytes.begin() + kNetHeaderSize, bytes.end()) != inbound)
                    continue; // a frame of the kernel's own
                if (received.num_buffers != 1)
                    return fmt::format("num_buffers {}", received.num_buffers);
                if (net.counters().rx_packets < 1)
                    return "rx_packets not counted";
                return notifier.error;
            }
        }
        return "the host's frame never reached the guest buffer";
    });
}
