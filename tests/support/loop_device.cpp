#include "tests/support/loop_device.hpp"

#include <fcntl.h>
#include <linux/loop.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <string_view>

#include <catch2/catch.hpp>

namespace minivmm::testing {
namespace {

constexpr unsigned kLoopMajor = 7; // Documentation/admin-guide/devices.txt

std::string describe(std::string_view call)
{
    return std::string(call) + ": " + std::strerror(errno);
}

} // namespace

std::optional<LoopDevice> LoopDevice::attach(const std::string& backing_file, std::uint32_t block_size,
    std::string& problem)
{
    const int control = ::open("/dev/loop-control", O_RDWR | O_CLOEXEC);
    if (control < 0) {
        problem = describe("open /dev/loop-control");
        return std::nullopt;
    }
    const int backing = ::open(backing_file.c_str(), O_RDWR | O_CLOEXEC);
    if (backing < 0) {
        problem = describe("open " + backing_file);
        ::close(control);
        return std::nullopt;
    }
    std::optional<LoopDevice> device;
    // Another process may take the free device between GET_FREE and CONFIGURE: try again.
    for (int attempt = 0; attempt < 8 && !device; ++attempt) {
        const int number = ::ioctl(control, LOOP_CTL_GET_FREE);
        if (number < 0) {
            problem = describe("LOOP_CTL_GET_FREE");
            break;
        }
        const std::string path = "/dev/loop" + std::to_string(number);
        int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT // a container's /dev may lack the node
            && ::mknod(path.c_str(), S_IFBLK | 0600, makedev(kLoopMajor, static_cast<unsigned>(number))) == 0)
            fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
        if (fd < 0) {
            problem = describe("open " + path);
            break;
        }
        loop_config config{};
        config.fd = static_cast<std::uint32_t>(backing);
        config.block_size = block_size;
        if (::ioctl(fd, LOOP_CONFIGURE, &config) == 0) {
            device.emplace(LoopDevice(fd, path));
            break;
        }
        problem = describe("LOOP_CONFIGURE " + path);
        ::close(fd);
        if (errno != EBUSY)
            break;
    }
    ::close(backing);
    ::close(control);
    return device;
}

LoopDevice::~LoopDevice()
{
    if (m_fd < 0)
        return;
    (void)::ioctl(m_fd, LOOP_CLR_FD);
    ::close(m_fd);
}

std::optional<LoopDevice> require_4k_loop_device(const std::string& backing_file)
{
    std::string problem;
    auto device = LoopDevice::attach(backing_file, 4096, problem);
    if (device)
        return device;
    const char* ci = std::getenv("CI");
    if (ci && std::string_view(ci) == "true")
        FAIL("no 4096-byte-block loop device (" << problem << "), and CI=true: the direct=on tests cannot run");
    WARN("no 4096-byte-block loop device (" << problem << "): skipping this direct=on test");
    return std::nullopt;
}

} // namespace minivmm::testing
