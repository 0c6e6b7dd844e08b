// TapDevice: open/create a tap with a virtio-net header (Linux tuntap.rst; virtio-v1.2 §5.1.6
// "Device Operation" for the header layout), frame I/O and TUNSETOFFLOAD.
#include "devices/virtio/net/tap_device.hpp"

#include <fcntl.h>
#include <linux/if_tun.h>
#include <net/if.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "devices/virtio/net/net_header.hpp"
#include "vmm/base/sys_error.hpp"

namespace minivmm::virtio {
namespace {

ifreq request_for(const std::string& name)
{
    ifreq request{};
    std::memcpy(request.ifr_name, name.data(), std::min(name.size(), std::size_t(IFNAMSIZ - 1)));
    return request;
}

void bring_up(const std::string& name)
{
    UniqueFd socket(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
    if (!socket)
        throw SysError(fmt::format("socket for bringing up tap {}", name));
    ifreq request = request_for(name);
    if (::ioctl(socket.get(), SIOCGIFFLAGS, &request) < 0)
        throw SysError(fmt::format("SIOCGIFFLAGS tap {}", name));
    request.ifr_flags = static_cast<short>(request.ifr_flags | IFF_UP);
    if (::ioctl(socket.get(), SIOCSIFFLAGS, &request) < 0)
        throw SysError(fmt::format("SIOCSIFFLAGS (up) tap {}", name));
}

} // namespace

TapDevice TapDevice::open(const std::string& name, const char* clone_device)
{
    if (name.empty() || name.size() >= IFNAMSIZ)
        throw UserError(fmt::format("tap name '{}' must be 1 to {} characters", name, IFNAMSIZ - 1));
    const bool existed = ::if_nametoindex(name.c_str()) != 0;

    UniqueFd fd(::open(clone_device, O_RDWR | O_NONBLOCK | O_CLOEXEC));
    if (!fd) {
        const int error = errno;
        if (error == ENOENT || error == ENODEV || error == ENXIO)
            throw UserError(fmt::format("no {}: load the tun module (modprobe tun) or create the node "
                                        "(mknod {} c 10 200)", clone_device, clone_device));
        if (error == EACCES || error == EPERM)
            throw UserError(fmt::format("cannot open {}: permission denied (run as root or grant access to it)",
                clone_device));
        throw SysError(fmt::format("open {}", clone_device), error);
    }

    // tuntap.rst: IFF_TAP for Ethernet frames, IFF_NO_PI for no extra 4-byte packet info,
    // IFF_VNET_HDR for a virtio-net header in front of every frame.
    ifreq request = request_for(name);
    request.ifr_flags = IFF_TAP | IFF_NO_PI | IFF_VNET_HDR;
    if (::ioctl(fd.get(), TUNSETIFF, &request) < 0) {
        const int error = errno;
        if (error == EPERM && !existed)
            throw UserError(fmt::format("creating tap {} needs CAP_NET_ADMIN (run as root)", name));
        if (error == EPERM)
            throw UserError(fmt::format("tap {} belongs to another user or group (recreate it with "
                                        "ip tuntap add {} mode tap user $USER)", name, name));
        if (error == EBUSY)
            throw UserError(fmt::format("tap {} is in use by another process", name));
        if (error == EINVAL && existed)
            throw UserError(fmt::format("{} exists but is not a single-queue tap interface "
                                        "(a tun, a multi-queue tap or another kind of link)", name));
        throw SysError(fmt::format("TUNSETIFF {}", name), error);
    }
    std::string actual(request.ifr_name, ::strnlen(request.ifr_name, IFNAMSIZ));

    // A tap that is not persistent lives only while an fd holds it: we created it, and the kernel
    // removes it when this fd closes.
    ifreq current{};
    if (::ioctl(fd.get(), TUNGETIFF, &current) < 0)
        throw SysError(fmt::format("TUNGETIFF {}", actual));
    const bool created = !(current.ifr_flags & IFF_PERSIST);

    // The VERSION_1 header (12 bytes, num_buffers included) on both directions.
    int header_size = kNetHeaderSize;
    if (::ioctl(fd.get(), TUNSETVNETHDRSZ, &header_size) < 0)
        throw SysError(fmt::format("TUNSETVNETHDRSZ {} on tap {}", header_size, actual));
    // No offloaded frames until the guest negotiates what it accepts (a previous user of a
    // persistent tap may have left some enabled).
    if (::ioctl(fd.get(), TUNSETOFFLOAD, 0ul) < 0)
        throw SysError(fmt::format("TUNSETOFFLOAD 0 on tap {}", actual));
    if (created)
        bring_up(actual);
    return TapDevice(std::move(fd), std::move(actual), created);
}

std::int64_t TapDevice::read_frame(std::span<std::uint8_t> buffer)
{
    for (;;) {
        const ssize_t count = ::read(m_fd.get(), buffer.data(), buffer.size());
        if (count >= 0)
            return count;
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        return -errno;
    }
}

std::int64_t TapDevice::write_frame(std::span<const iovec> parts)
{
    for (;;) {
        const ssize_t count = ::writev(m_fd.get(), parts.data(), static_cast<int>(parts.size()));
        if (count >= 0)
            return count;
        if (errno != EINTR)
            return -errno;
    }
}

int TapDevice::set_offloads(unsigned tun_flags)
{
    if (::ioctl(m_fd.get(), TUNSETOFFLOAD, static_cast<unsigned long>(tun_flags)) < 0)
        return -errno;
    return 0;
}

} // namespace minivmm::virtio
