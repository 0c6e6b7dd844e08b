#include "vmm/cli/run_options.hpp"

#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/size_parser.hpp"
#include "vmm/memory/memory_layout.hpp"

namespace minivmm::cli {

namespace {
void require_readable(const std::string& option, const std::string& path)
{
    if (::access(path.c_str(), R_OK) != 0)
        throw UserError(fmt::format("{} {}: {}", option, path, std::strerror(errno)));
}
} // namespace

void add_run_options(CLI::App& run, RunOptions& options)
{
    run.add_option("--kernel", options.kernel, "Kernel: PVH ELF, Linux bzImage or vmlinux")->required();
    run.add_option("--initrd", options.initrd, "Initial ramdisk (PVH module 0 / Linux initrd)");
    run.add_option("--cmdline", options.cmdline, "Kernel command line");
    run.add_option("--cpus", options.cpus, "Number of vCPUs (1..the host's KVM maximum)")->capture_default_str();
    run.add_option("--memory", options.memory, "Guest RAM, e.g. 512M or 2G")->capture_default_str();
    run.add_option("--serial", options.serial, "Console: stdio | file:PATH | none")->capture_default_str();
    run.add_option("--timeout", options.timeout_seconds, "End the VM after this many seconds (exit code 124)");
    run.add_flag("--trace", options.trace, "Log every VM exit to stderr and print a summary at exit");
    run.add_option("--cpu-template", options.cpu_template, "CPUID template: auto | none | software-kvm")
        ->capture_default_str();
    run.add_option("--disk", options.disks, "virtio-blk disk: path=FILE[,readonly=on][,serial=ID][,direct=on]");
    run.add_option("command", options.command, "Command to run in the guest (after --)");
}

vm::VmConfig to_vm_config(const RunOptions& options)
{
    vm::VmConfig config;
    require_readable("--kernel", options.kernel);
    config.kernel_path = options.kernel;
    if (!options.initrd.empty()) {
        require_readable("--initrd", options.initrd);
        config.initrd_path = options.initrd;
    }
    config.cmdline = options.cmdline;
    if (options.cpus < 1 || options.cpus > 255)
        throw UserError(fmt::format("--cpus {}: must be between 1 and 255", options.cpus));
    config.cpus = options.cpus;

    config.memory_bytes = limiter::parse_size(options.memory);
    if (config.memory_bytes < layout::kMinimumRamSize)
        throw UserError(fmt::format("--memory {}: a guest needs at least {} MiB", options.memory, layout::kMinimumRamSize >> 20));
    if (config.memory_bytes % layout::MiB != 0)
        throw UserError(fmt::format("--memory {}: must be a whole number of MiB", options.memory));
    const long pages = ::sysconf(_SC_PHYS_PAGES);
    const long page_size = ::sysconf(_SC_PAGE_SIZE);
    if (pages > 0 && page_size > 0 && config.memory_bytes > std::uint64_t(pages) * std::uint64_t(page_size))
        throw UserError(fmt::format("--memory {}: more than this host's {} MiB of RAM", options.memory,
            (std::uint64_t(pages) * std::uint64_t(page_size)) >> 20));

    config.serial = options.serial;
    if (options.timeout_seconds < 0 || !std::isfinite(options.timeout_seconds))
        throw UserError(fmt::format("--timeout {}: must be a positive number of seconds", options.timeout_seconds));
    if (options.timeout_seconds > 0)
        config.timeout = std::chrono::milliseconds(static_cast<long long>(std::ceil(options.timeout_seconds * 1000.0)));
    config.trace = options.trace ? vm::TraceMode::On : vm::TraceMode::Off;
    config.cpu_template = options.cpu_template;
    config.disks = options.disks;
    return config;
}

} // namespace minivmm::cli
