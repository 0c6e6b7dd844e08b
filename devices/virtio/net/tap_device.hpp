// TapDevice: a Linux tap interface as a NetBackend (Linux Documentation/networking/tuntap.rst,
// "Universal TUN/TAP device driver"): IFF_TAP | IFF_NO_PI | IFF_VNET_HDR with a 12-byte header
// (the virtio-v1.2 §5.1.6 "Device Operation" VERSION_1 layout), non-blocking, offloads set with
// TUNSETOFFLOAD from the guest's negotiated features.
#pragma once

#include <string>

#include "devices/virtio/net/net_backend.hpp"
#include "vmm/base/unique_fd.hpp"

namespace minivmm::virtio {

class TapDevice final : public NetBackend {
public:
    static constexpr const char* kCloneDevice = "/dev/net/tun";

    // Attaches to the tap interface `name`, creating it when it does not exist. A tap we
    // create is not persistent: the kernel deletes it when our fd closes (on destruction), and
    // we bring it up so the host side sees frames at once; an existing tap is left as the
    // admin configured it. Throws UserError for what the user can fix (no /dev/net/tun, no
    // CAP_NET_ADMIN to create, a tap owned by someone else or held by another process, a name
    // taken by a non-tap interface) and SysError for other host failures. `clone_device` is
    // for tests.
    static TapDevice open(const std::string& name, const char* clone_device = kCloneDevice);

    TapDevice(TapDevice&&) = default;
    TapDevice& operator=(TapDevice&&) = default;

    std::int64_t read_frame(std::span<std::uint8_t> buffer) override;
    std::int64_t write_frame(std::span<const iovec> parts) override;
    [[nodiscard]] int fd() const override { return m_fd.get(); }
    int set_offloads(unsigned tun_flags) override;

    [[nodiscard]] const std::string& name() const { return m_name; }
    // Whether open() created the interface (it then vanishes with this object).
    [[nodiscard]] bool created() const { return m_created; }

private:
    TapDevice(UniqueFd fd, std::string name, bool created)
        : m_fd(std::move(fd)), m_name(std::move(name)), m_created(created)
    {
    }

    UniqueFd m_fd;
    std::string m_name;
    bool m_created;
};

} // namespace minivmm::virtio
