// LoopDevice: a loop block device (loop(4)) over a file, with a chosen logical block size, for
// tests that need a host disk whose O_DIRECT block is larger than 512 bytes. Needs root and
// /dev/loop-control; detached when the object dies.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace minivmm::testing {

class LoopDevice {
public:
    // A loop device over `backing_file` with `block_size`-byte logical blocks, or std::nullopt
    // with the reason in `problem` when this host cannot make one (not root, no loop driver).
    static std::optional<LoopDevice> attach(const std::string& backing_file, std::uint32_t block_size,
        std::string& problem);
    ~LoopDevice();
    LoopDevice(LoopDevice&& other) noexcept : m_fd(other.m_fd), m_path(std::move(other.m_path)) { other.m_fd = -1; }
    LoopDevice(const LoopDevice&) = delete;
    LoopDevice& operator=(const LoopDevice&) = delete;
    LoopDevice& operator=(LoopDevice&&) = delete;

    [[nodiscard]] const std::string& path() const { return m_path; }

private:
    LoopDevice(int fd, std::string path) : m_fd(fd), m_path(std::move(path)) {}
    int m_fd;
    std::string m_path;
};

// A LoopDevice with 4096-byte blocks over `backing_file`; std::nullopt (after a WARN) when the
// host cannot make one, except under CI=true, where that FAILs the test.
std::optional<LoopDevice> require_4k_loop_device(const std::string& backing_file);

} // namespace minivmm::testing
