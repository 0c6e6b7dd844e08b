// The kernel command line at layout::kCmdlineAddress: a NUL-terminated string, length-checked
// against the kernel's limit (Linux boot.rst, "cmd_line_ptr" and "cmdline_size"; for PVH, Xen
// start_info.h "cmdline_paddr").
#pragma once

#include <cstdint>
#include <string_view>

#include "vmm/memory/guest_memory.hpp"

namespace minivmm::boot {

// Writes `cmdline` + NUL at layout::kCmdlineAddress. `max_length` excludes the NUL (as
// cmdline_size does); `limit_source` says where the limit comes from for the error message
// ("the kernel's cmdline_size"). Throws UserError when the line is longer than
// min(max_length, layout::kCmdlineMaxSize - 1) or contains a NUL byte.
void write_cmdline(const GuestMemory& memory, std::string_view cmdline, std::uint64_t max_length,
    std::string_view limit_source);

} // namespace minivmm::boot
