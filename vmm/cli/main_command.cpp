#include "vmm/cli/main_command.hpp"

#include <CLI/CLI.hpp>

#include <fmt/format.h>

#include "vmm/api/api_server.hpp"
#include "vmm/base/exit_code.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/cli/disk_command.hpp"
#include "vmm/cli/ctl_command.hpp"
#include "vmm/cli/exit_status.hpp"
#include "vmm/cli/run_options.hpp"
#include "vmm/cli/switch_command.hpp"
#include "vmm/gdb/gdb_server.hpp"
#include "vmm/vm/vm.hpp"
#include "vmm/vm/vm_controller.hpp"

namespace minivmm::cli {

namespace {
int run_vm(const RunOptions& options)
{
    // --restore: the snapshot is read and checked whole before anything else (a bad one is one
    // line, exit 120, nothing started).
    std::optional<vm::SnapshotFiles> snapshot;
    vm::VmConfig config;
    if (!options.restore.empty()) {
        try {
            snapshot = vm::open_snapshot(options.restore);
            config = to_restore_config(options, snapshot->machine);
        } catch (const snapshot::SnapshotError& error) {
            throw UserError(fmt::format("--restore {}: {}", options.restore, error.what()));
        } catch (const UserError& error) {
            throw UserError(fmt::format("--restore {}: {}", options.restore, error.what()));
        }
    } else {
        if (options.paused)
            throw UserError("--paused needs --restore");
        config = to_vm_config(options);
    }
    // The socket first: a path we may not use is refused before anything is built.
    std::optional<api::UnixListener> listener;
    if (config.control_api)
        listener.emplace(api::UnixListener::bind(options.api_socket));
    std::optional<gdb::GdbListener> gdb_listener;
    if (config.gdb_stub)
        gdb_listener.emplace(gdb::GdbListener::bind(options.gdb));
    std::unique_ptr<vm::Vm> machine;
    if (snapshot) {
        try {
            machine = vm::Vm::restore(config, std::move(*snapshot));
        } catch (const snapshot::SnapshotError& error) {
            throw UserError(fmt::format("--restore {}: {}", options.restore, error.what()));
        }
        if (options.paused)
            machine->controller().start_paused();
    } else {
        machine = vm::Vm::build(config);
    }
    vm::StopReason reason {vm::StopKind::VmmError, 0, {}};
    // After the machine's run, before it goes: the Unix socket file is removed by the main thread.
    std::optional<gdb::GdbServer> gdb_server;
    if (gdb_listener) {
        fmt::print(stderr, "minivmm: gdb stub listening on {}{}\n", gdb_listener->address(),
            config.gdb_wait ? " (the guest waits for gdb)" : "");
        gdb_server.emplace(std::move(*gdb_listener), *machine->debug_target());
        gdb_listener.reset();
        machine->add_service_thread(sandbox::ThreadKind::Gdb, [&server = *gdb_server](std::stop_token stop) {
            server.serve(stop);
        });
    }
    {
        // Destroyed before the machine: the server stops answering, then the socket goes.
        std::optional<api::ApiServer> server;
        if (listener) {
            server.emplace(std::move(*listener),
                [&controller = machine->controller()](const api::ApiRequest& request) { return controller.submit(request); });
            // Its thread is the VM's, confined like the others; run() joins it before returning.
            machine->add_service_thread(sandbox::ThreadKind::Api, [&server = *server](std::stop_token stop) {
                server.serve(stop);
            });
        }
        listener.reset();
        // However run() ends, no API request may wait on a VM that no longer runs.
        struct CloseController {
            vm::VmController& controller;
            ~CloseController() { controller.close(); }
        } close_controller {machine->controller()};
        reason = machine->run();
    }
    report_stop(reason);
    return exit_status_for(reason);
}
} // namespace

int run_main(int argc, char** argv)
{
    CLI::App app {"minivmm: a minimal virtual machine monitor on /dev/kvm", "minivmm"};
    app.require_subcommand(1);
    app.set_version_flag("--version", "minivmm 0.1.0");
    RunOptions run_options;
    CLI::App* run = app.add_subcommand("run", "Boot a guest kernel");
    add_run_options(*run, run_options);
    run->positionals_at_end();
    SwitchCommand switch_command(app);
    DiskCommand disk_command(app);
    CtlCommand ctl_command(app);

    try {
        app.parse(argc, argv);
    } catch (const CLI::ParseError& error) {
        // Help and version requests are ParseErrors with exit code 0: CLI11 prints them.
        if (error.get_exit_code() == 0)
            return app.exit(error);
        // One line, with where to look, instead of CLI11's two-line default.
        fmt::print(stderr, "minivmm: error: {} (see 'minivmm {}--help')\n", error.what(),
            run->parsed() ? "run " : "");
        return to_int(ExitCode::Usage);
    }

    if (run->parsed() && run_options.kernel.empty() && run_options.restore.empty()) {
        fmt::print(stderr, "minivmm: error: --kernel is required (see 'minivmm run --help')\n");
        return to_int(ExitCode::Usage);
    }
    try {
        if (run->parsed())
            return run_vm(run_options);
        if (switch_command.parsed())
            return switch_command.run();
        if (disk_command.parsed())
            return disk_command.run();
        if (ctl_command.parsed())
            return ctl_command.run();
    } catch (const UserError& error) {
        fmt::print(stderr, "minivmm: error: {}\n", error.what());
        return to_int(ExitCode::VmmError);
    } catch (const SysError& error) {
        fmt::print(stderr, "minivmm: error: {}\n", error.what());
        return to_int(ExitCode::VmmError);
    } catch (const std::exception& error) {
        fmt::print(stderr, "minivmm: internal error: {}\n", error.what());
        return to_int(ExitCode::VmmError);
    }
    return to_int(ExitCode::Usage);
}

} // namespace minivmm::cli
