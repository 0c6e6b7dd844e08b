// The target description gdb reads with `qXfer:features:read:target.xml` ("Debugging with GDB"
// appendix G "Target Descriptions": G.2 "Target Description Format", G.5.9 "i386 Features"),
// generated from the register layout so the two never disagree.
#pragma once

#include <string>

#include "vmm/gdb/gdb_target.hpp"

namespace minivmm::gdb {

// `i386` for a guest in 32-bit protected mode, `i386:x86-64` in long mode.
std::string target_description_xml(CpuMode mode);

} // namespace minivmm::gdb
