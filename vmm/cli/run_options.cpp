#include "vmm/cli/run_options.hpp"

#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/cli/guest_command.hpp"
#include "vmm/limiter/cpu_allocation.hpp"
#include "vmm/limiter/size_parser.hpp"
#include "vmm/memory/memory_layout.hpp"

namespace minivmm::cli {

using vm::LimitConfig;

namespace {
void require_readable(const std::string& option, const std::string& path)
{
    if (::access(path.c_str(), R_OK) != 0)
        throw UserError(fmt::format("{} {}: {}", option, path, std::strerror(errno)));
}
} // namespace

void add_run_options(CLI::App& run, RunOptions& options)
{
    // Required unless --restore gives the machine (checked in run_main).
    run.add_option("--kernel", options.kernel, "Kernel: PVH ELF, Linux bzImage or vmlinux");
    run.add_option("--restore", options.restore, "Continue the snapshot in DIR (minivmm ctl SOCKET snapshot DIR)");
    run.add_flag("--paused", options.paused, "With --restore: start paused (resume through --api-socket)");
    run.add_option("--initrd", options.initrd, "Initial ramdisk (PVH module 0 / Linux initrd)");
    run.add_option("--cmdline", options.cmdline, "Kernel command line");
    run.add_option("--cpus", options.cpus, "Number of vCPUs (1..the host's KVM maximum)")->capture_default_str();
    run.add_option("--memory", options.memory, "Guest RAM, e.g. 512M or 2G")->capture_default_str();
    run.add_option("--serial", options.serial, "Console: stdio | file:PATH | none")->capture_default_str();
    run.add_option("--timeout", options.timeout_seconds, "End the VM after this many seconds (exit code 124)");
    run.add_flag("--trace", options.trace, "Log every VM exit to stderr and print a summary at exit");
    run.add_option("--cpu-template", options.cpu_template, "CPUID template: auto | none | software-kvm")
        ->capture_default_str();
    run.add_option("--disk", options.disks,
        "virtio-blk disk: path=FILE[,readonly=on][,serial=ID][,direct=on][,id=NAME]; with --restore: id=ID,path=NEWPATH");
    run.add_option("--net", options.nets,
        "virtio-net: tap=NAME or switch=NAME,vlan=ID [,mac=02:..][,mtu=N][,bw=,pps=]");
    run.add_option("--api-socket", options.api_socket,
        "Serve the HTTP/JSON control API on this Unix socket (created 0600, removed at exit)");
    run.add_option("--gdb", options.gdb,
        "Serve the GDB remote protocol on tcp:HOST:PORT or unix:PATH (gdb: target remote HOST:PORT)");
    run.add_flag("--gdb-wait", options.gdb_wait, "With --gdb: the guest waits for gdb before its first instruction");
    run.add_option("command", options.command, "Command to run in the guest (after --)");

    auto* limits = "Resource limits";
    run.add_option("--memory-limit", options.memory_limit, "Most guest RAM the limiter grants (e.g. 1G)")->group(limits);
    run.add_option("--memory-reserve", options.memory_reserve, "Host memory kept free for others (default 256M)")
        ->group(limits);
    run.add_option("--memory-policy", options.memory_policy, "strict: refuse when short; shrink: boot smaller")
        ->capture_default_str()
        ->group(limits);
    run.add_flag("--hugepages", options.hugepages, "Back guest RAM with hugetlbfs pages (falls back with a warning)")
        ->group(limits);
    run.add_option("--cpu-limit", options.cpu_limit, "Host CPUs the whole VM may use, e.g. 0.5")->group(limits);
    run.add_option("--vcpu-priority", options.vcpu_priority, "Relative shares per vCPU, e.g. 1,3")->group(limits);
    run.add_option("--cpu-period", options.cpu_period, "Accounting period of the CPU limit (default 100ms)")
        ->group(limits);
    run.add_flag("--limits-report", options.limits_report, "Print requested/allocated/used per resource at exit")
        ->group(limits);
    run.add_option("--metrics", options.metrics, "Append the limits report as JSON lines to FILE")->group(limits);
    run.add_option("--metrics-interval", options.metrics_interval, "Seconds between --metrics records (default 1)")
        ->group(limits);

    auto* sandbox_group = "Sandbox";
    run.add_option("--seccomp", options.seccomp,
           "System call filters per thread: enforce (a forbidden call ends minivmm, exit 122) | log | off")
        ->capture_default_str()
        ->group(sandbox_group);
    run.add_option("--jail", options.jail, "After opening every file, pivot_root into DIR (needs --uid, --gid)")
        ->group(sandbox_group);
    run.add_option("--uid", options.uid, "User id to run as inside --jail")->group(sandbox_group);
    run.add_option("--gid", options.gid, "Group id to run as inside --jail")->group(sandbox_group);
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
    if (!options.command.empty())
        config.cmdline += (config.cmdline.empty() ? "" : " ") + guest_command_parameter(options.command);
    // xAPIC ids are 8 bits and the IOAPIC takes the id after the last vCPU's (MP spec, MADT).
    if (options.cpus < 1 || options.cpus > layout::kMaxVcpusXapic)
        throw UserError(fmt::format("--cpus {}: must be between 1 and {}", options.cpus, layout::kMaxVcpusXapic));
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
    config.nets = options.nets;
    config.control_api = !options.api_socket.empty();
    if (options.gdb_wait && options.gdb.empty())
        throw UserError("--gdb-wait needs --gdb");
    config.gdb_stub = !options.gdb.empty();
    config.gdb_wait = options.gdb_wait;

    LimitConfig& limits = config.limits;
    if (!options.memory_limit.empty())
        limits.memory_limit = limiter::parse_size(options.memory_limit);
    if (limits.memory_limit && *limits.memory_limit == 0)
        throw UserError("--memory-limit 0: a guest needs some memory");
    if (!options.memory_reserve.empty())
        limits.memory_reserve = limiter::parse_size(options.memory_reserve);
    if (options.memory_policy == "strict")
        limits.memory_policy = limiter::MemoryPolicy::Strict;
    else if (options.memory_policy == "shrink")
        limits.memory_policy = limiter::MemoryPolicy::Shrink;
    else
        throw UserError(fmt::format("--memory-policy {}: expected strict or shrink", options.memory_policy));
    limits.hugepages = options.hugepages;
    if (!options.cpu_limit.empty())
        limits.cpu_limit = limiter::parse_cpu_limit(options.cpu_limit);
    if (!options.vcpu_priority.empty())
        limits.vcpu_priorities = limiter::parse_vcpu_priorities(options.vcpu_priority);
    if (!options.cpu_period.empty())
        limits.cpu_period = limiter::parse_cpu_period(options.cpu_period);
    // Validates the whole CPU request (priority count, limit against the host) before any VM
    // exists, so a bad value is one line and nothing starts.
    (void)limiter::allocate_cpu({config.cpus, limits.cpu_limit, limits.vcpu_priorities, limiter::host_cpu_count(),
        limits.cpu_period});
    limits.report = options.limits_report;
    if (!options.metrics.empty())
        limits.metrics_path = options.metrics;
    if (!(options.metrics_interval > 0) || !std::isfinite(options.metrics_interval))
        throw UserError(fmt::format("--metrics-interval {}: must be a positive number of seconds", options.metrics_interval));
    limits.metrics_interval = std::chrono::milliseconds(static_cast<long long>(std::ceil(options.metrics_interval * 1000.0)));

    config.sandbox.seccomp = sandbox::parse_seccomp_mode(options.seccomp);
    config.sandbox.jail = sandbox::parse_jail_options(options.jail, options.uid, options.gid);
    if (config.sandbox.jail) {
        struct stat status {};
        if (::stat(options.jail.c_str(), &status) != 0)
            throw UserError(fmt::format("--jail {}: {}", options.jail, std::strerror(errno)));
        if (!S_ISDIR(status.st_mode))
            throw UserError(fmt::format("--jail {}: not a directory", options.jail));
    }
    return config;
}

vm::VmConfig to_restore_config(const RunOptions& options, const vm::MachineConfig& machine)
{
    // What the snapshot fixes cannot be asked for again: a different value would not be used.
    const RunOptions defaults;
    const std::pair<bool, const char*> machine_options[] = {
        {!options.kernel.empty(), "--kernel"},
        {!options.initrd.empty(), "--initrd"},
        {!options.cmdline.empty() || !options.command.empty(), "--cmdline"},
        {options.cpus != defaults.cpus, "--cpus"},
        {options.memory != defaults.memory, "--memory"},
        {!options.nets.empty(), "--net"},
        {options.cpu_template != defaults.cpu_template, "--cpu-template"},
        {!options.gdb.empty() || options.gdb_wait, "--gdb"},
        {options.hugepages, "--hugepages"},
        {!options.memory_limit.empty() || !options.memory_reserve.empty()
                || options.memory_policy != defaults.memory_policy,
            "--memory-limit/--memory-reserve/--memory-policy"},
        {!options.cpu_limit.empty() || !options.vcpu_priority.empty() || !options.cpu_period.empty(),
            "--cpu-limit/--vcpu-priority/--cpu-period"},
    };
    for (const auto& [given, name] : machine_options)
        if (given)
            throw UserError(fmt::format("{} cannot be combined with --restore: the snapshot fixes the machine", name));
    if (options.paused && options.api_socket.empty())
        throw UserError("--paused needs --api-socket (nothing could resume the VM)");

    vm::RestoreOverrides overrides;
    for (const auto& text : options.disks) {
        // id=ID,path=NEWPATH, in either order, nothing else.
        std::string id, path;
        std::size_t start = 0;
        while (start <= text.size()) {
            const std::size_t comma = std::min(text.find(',', start), text.size());
            const std::string item = text.substr(start, comma - start);
            if (item.rfind("id=", 0) == 0 && id.empty())
                id = item.substr(3);
            else if (item.rfind("path=", 0) == 0 && path.empty())
                path = item.substr(5);
            else
                throw UserError(fmt::format("--disk {}: with --restore only id=ID,path=NEWPATH", text));
            start = comma + 1;
        }
        if (id.empty() || path.empty())
            throw UserError(fmt::format("--disk {}: with --restore give id=ID,path=NEWPATH", text));
        if (!overrides.disk_paths.emplace(id, path).second)
            throw UserError(fmt::format("--disk id={} is given twice", id));
    }
    vm::VmConfig config = vm::restore_vm_config(machine, overrides);
    config.serial = options.serial;
    if (options.timeout_seconds < 0 || !std::isfinite(options.timeout_seconds))
        throw UserError(fmt::format("--timeout {}: must be a positive number of seconds", options.timeout_seconds));
    if (options.timeout_seconds > 0)
        config.timeout = std::chrono::milliseconds(static_cast<long long>(std::ceil(options.timeout_seconds * 1000.0)));
    config.trace = options.trace ? vm::TraceMode::On : vm::TraceMode::Off;
    config.control_api = !options.api_socket.empty();
    config.limits.report = options.limits_report;
    if (!options.metrics.empty())
        config.limits.metrics_path = options.metrics;
    if (!(options.metrics_interval > 0) || !std::isfinite(options.metrics_interval))
        throw UserError(fmt::format("--metrics-interval {}: must be a positive number of seconds", options.metrics_interval));
    config.limits.metrics_interval =
        std::chrono::milliseconds(static_cast<long long>(std::ceil(options.metrics_interval * 1000.0)));
    config.sandbox.seccomp = sandbox::parse_seccomp_mode(options.seccomp);
    config.sandbox.jail = sandbox::parse_jail_options(options.jail, options.uid, options.gid);
    return config;
}

} // namespace minivmm::cli
