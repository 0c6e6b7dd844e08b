// SandboxConfig: how `minivmm run` confines itself once the machine is built (--seccomp, --jail,
// --uid, --gid). Applied by Vm::run() (vmm/vm/vm.cpp) before the first vCPU runs.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>

#include "vmm/sandbox/seccomp_mode.hpp"

namespace minivmm::sandbox {

// --jail DIR --uid U --gid G: after every file is open, the process moves into DIR (a new mount
// namespace, pivot_root) and runs as U:G without capabilities (jail.hpp).
struct JailSpec {
    std::string directory;
    uid_t uid = 0;
    gid_t gid = 0;
};

struct SandboxConfig {
    SeccompMode seccomp = SeccompMode::Enforce;
    std::optional<JailSpec> jail;
};

} // namespace minivmm::sandbox

namespace minivmm::sandbox {

// `--jail DIR --uid U --gid G` as typed (empty = not given): nullopt when none is given, the
// spec when all three are; throws UserError (one line) when only some are, or when U or G is
// not a decimal id below 2^32 - 1 (-1 means "unchanged" to setuid(2)), or DIR is not absolute.
[[nodiscard]] std::optional<JailSpec> parse_jail_options(const std::string& directory, const std::string& uid,
    const std::string& gid);

} // namespace minivmm::sandbox
