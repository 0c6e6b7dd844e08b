// SeccompMode: what `--seccomp enforce|log|off` asks for. enforce: a system call outside the
// thread's allow-list ends minivmm (SIGSYS, exit code 122); log: it is allowed and logged by the
// kernel (SECCOMP_RET_LOG, seen in the audit log / dmesg); off: no filter at all.
#pragma once

#include <string_view>

namespace minivmm::sandbox {

enum class SeccompMode { Enforce, Log, Off };

// Parses the option's value; throws UserError naming the option and the accepted values.
[[nodiscard]] SeccompMode parse_seccomp_mode(std::string_view text);
[[nodiscard]] std::string_view seccomp_mode_name(SeccompMode mode);

} // namespace minivmm::sandbox
