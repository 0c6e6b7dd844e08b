// Parsing of `--seccomp` (seccomp_mode.hpp).
#include "vmm/sandbox/seccomp_mode.hpp"

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"

namespace minivmm::sandbox {

SeccompMode parse_seccomp_mode(std::string_view text)
{
    if (text == "enforce")
        return SeccompMode::Enforce;
    if (text == "log")
        return SeccompMode::Log;
    if (text == "off")
        return SeccompMode::Off;
    throw UserError(fmt::format("--seccomp {}: expected enforce, log or off", text));
}

std::string_view seccomp_mode_name(SeccompMode mode)
{
    switch (mode) {
    case SeccompMode::Enforce:
        return "enforce";
    case SeccompMode::Log:
        return "log";
    case SeccompMode::Off:
        return "off";
    }
    return "unknown";
}

} // namespace minivmm::sandbox
