#include "vmm/cli/exit_status.hpp"

#include <fmt/format.h>

#include "vmm/base/exit_code.hpp"

namespace minivmm::cli {

int exit_status_for(const vm::StopReason& reason)
{
    switch (reason.kind) {
    case vm::StopKind::ExitPort:
        return reason.status;
    case vm::StopKind::GuestReset:
        return to_int(ExitCode::CleanShutdown);
    case vm::StopKind::GuestCrash:
        return to_int(ExitCode::GuestCrash);
    case vm::StopKind::Timeout:
        return to_int(ExitCode::Timeout);
    case vm::StopKind::UserQuit:
        return to_int(ExitCode::Interrupted);
    case vm::StopKind::Signal:
        return 128 + reason.status; // the shell's convention for "killed by signal N"
    case vm::StopKind::VmmError:
        return to_int(ExitCode::VmmError);
    case vm::StopKind::ApiStop:
        return to_int(ExitCode::ApiStop);
    case vm::StopKind::ShutdownTimeout:
        return to_int(ExitCode::ShutdownTimeout);
    }
    return to_int(ExitCode::VmmError);
}

void report_stop(const vm::StopReason& reason)
{
    switch (reason.kind) {
    case vm::StopKind::ExitPort:
    case vm::StopKind::GuestReset:
    case vm::StopKind::UserQuit:
        return;
    case vm::StopKind::GuestCrash:
        fmt::print(stderr, "minivmm: guest crashed: {}\n", reason.detail);
        return;
    case vm::StopKind::Timeout:
    case vm::StopKind::Signal:
    case vm::StopKind::ApiStop:
    case vm::StopKind::ShutdownTimeout:
        fmt::print(stderr, "minivmm: {}\n", reason.detail);
        return;
    case vm::StopKind::VmmError:
        fmt::print(stderr, "minivmm: error: {}\n", reason.detail);
        return;
    }
}

} // namespace minivmm::cli
