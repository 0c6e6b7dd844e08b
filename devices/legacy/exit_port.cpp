// ExitPort: the guest-writable VM exit status register.
#include "devices/legacy/exit_port.hpp"

#include <algorithm>
#include <utility>

#include "vmm/snapshot/payload_header.hpp"

namespace minivmm {

ExitPort::ExitPort(std::function<void(std::uint8_t status)> on_exit) : m_on_exit(std::move(on_exit)) {}

void ExitPort::read(std::uint64_t, std::span<std::uint8_t> data)
{
    std::ranges::fill(data, 0);
}

void ExitPort::write(std::uint64_t offset, std::span<const std::uint8_t> data)
{
    if (offset == 0 && !data.empty() && m_on_exit)
        m_on_exit(data[0]);
}

namespace {
constexpr std::uint32_t kStateTag = snapshot::payload_tag("EXIT");
constexpr std::uint16_t kStateVersion = 1;
} // namespace

void ExitPort::save_state(snapshot::StateWriter& out) const
{
    snapshot::write_payload_header(out, kStateTag, kStateVersion);
}

void ExitPort::restore_state(snapshot::StateReader& in)
{
    snapshot::read_payload_header(in, kStateTag, kStateVersion, "exit port");
    in.expect_end();
}

} // namespace minivmm
