// Writing the kernel command line (see cmdline.hpp).
#include "vmm/boot/cmdline.hpp"

#include <algorithm>
#include <stdexcept>
#include <vector>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::boot {

void write_cmdline(const GuestMemory& memory, std::string_view cmdline, std::uint64_t max_length,
    std::string_view limit_source)
{
    if (cmdline.find('\0') != std::string_view::npos)
        throw UserError(fmt::format("kernel command line: contains a NUL byte at position {}: the kernel would "
                                    "ignore everything after it", cmdline.find('\0')));
    // The area reserved at kCmdlineAddress bounds every kernel's limit.
    if (layout::kCmdlineMaxSize - 1 < max_length) {
        max_length = layout::kCmdlineMaxSize - 1;
        limit_source = "minivmm's command-line area";
    }
    if (cmdline.size() > max_length)
        throw UserError(fmt::format("kernel command line: {} bytes, longer than {} ({} bytes): shorten it",
            cmdline.size(), limit_source, max_length));
    std::vector<std::uint8_t> bytes(cmdline.begin(), cmdline.end());
    bytes.push_back(0);
    if (!memory.write(layout::kCmdlineAddress, bytes))
        throw std::logic_error("boot: the command-line area is not guest RAM");
}

} // namespace minivmm::boot
