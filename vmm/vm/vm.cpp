#include "vmm/vm/vm.hpp"

#include <pthread.h>
#include <sys/resource.h>
#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <elf.h>
#include <fcntl.h>

#include <cerrno>
#include <cstring>

#include <fmt/format.h>

#include "devices/legacy/exit_port.hpp"
#include "devices/legacy/i8042.hpp"
#include "devices/legacy/serial_16550.hpp"
#include "devices/virtio/blk/disk_spec.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/net/tap_device.hpp"
#include "devices/virtio/net/virtio_net.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/boot/cpuid_builder.hpp"
#include "vmm/console/console.hpp"
#include "vmm/console/console_output.hpp"
#include "vmm/limiter/meminfo.hpp"
#include "vmm/limiter/rate_limit_config.hpp"
#include "vmm/memory/memory_file.hpp"
#include "vmm/memory/memory_layout.hpp"
#include "vmm/net/switch_manager.hpp"
#include "vmm/net/vlan_id.hpp"
#include "vmm/sandbox/sigsys_handler.hpp"
#include "vmm/vm/boot_setup.hpp"
#include "vmm/vm/kvm_interrupt_line.hpp"
#include "vmm/vm/register_dump.hpp"
#include "vmm/vm/vm_controller.hpp"
#include "vmm/vm/vm_debugger.hpp"

namespace minivmm::vm {

namespace {
// Signals that end the VM in an orderly way (terminal restored, taps removed): delivered to the
// event loop through a signalfd, so they are blocked in every thread.
sigset_t termination_signals()
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    return set;
}

// A Linux image (bzImage, vmlinux) is 64-bit; a PVH ELF is when its ELF class says so (ELF
// specification, "ELF Identification": e_ident[EI_CLASS] = ELFCLASS64). Read before the sandbox.
bool kernel_is_64bit(const std::string& path, boot::KernelKind kind)
{
    if (kind != boot::KernelKind::PvhElf)
        return true;
    unsigned char ident[EI_NIDENT] {};
    UniqueFd file(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    return file && ::pread(file.get(), ident, sizeof ident, 0) == sizeof ident && ident[EI_CLASS] == ELFCLASS64;
}
} // namespace

Vm::Vm(const VmConfig& config)
    : m_config(config)
    , m_kvm(kvm::Kvm::open())
    , m_vm(m_kvm.create_vm())
{
}

Vm::~Vm() = default;

gdb::GdbTarget* Vm::debug_target() { return m_debugger.get(); }

std::unique_ptr<Vm> Vm::build(const VmConfig& config)
{
    if (config.cpus == 0)
        throw UserError("--cpus must be at least 1");
    std::unique_ptr<Vm> vm(new Vm(config));
    if (config.cpus > vm->m_kvm.max_vcpus())
        throw UserError(fmt::format("--cpus {} is more than this host's KVM allows ({})", config.cpus, vm->m_kvm.max_vcpus()));
    vm->create_machine();
    vm->create_devices();
    vm->create_virtio_devices();
    vm->load_guest();
    vm->create_vcpus();
    vm->add_stop_sources();
    vm->m_controller = std::make_unique<VmController>(*vm);
    return vm;
}

std::unique_ptr<Vm> Vm::restore(const VmConfig& config, SnapshotFiles files)
{
    if (config.cpus == 0)
        throw UserError("the snapshot has no vCPU");
    if (config.gdb_stub)
        throw UserError("--gdb cannot be combined with --restore yet");
    std::unique_ptr<Vm> vm(new Vm(config));
    if (config.cpus > vm->m_kvm.max_vcpus())
        throw UserError(fmt::format("the snapshot has {} vCPUs, more than this host's KVM allows ({})", config.cpus,
            vm->m_kvm.max_vcpus()));
    vm->m_restore = std::move(files);
    vm->create_machine();
    vm->create_devices();
    vm->create_virtio_devices();
    vm->create_vcpus();
    vm->add_stop_sources();
    vm->m_controller = std::make_unique<VmController>(*vm);
    vm->apply_snapshot(*vm->m_restore);
    vm->m_restore.reset(); // DIR/memory stays mapped; its fd and the vmstate are no longer needed
    return vm;
}

void Vm::create_machine()
{
    // DESIGN.md, "Boot flow" step 3: the irqchip must exist before any vCPU is created so each
    // vCPU gets an in-kernel LAPIC.
    m_vm.set_vmx_scratch_pages(0xfffb'd000, 0xfffb'c000);
    m_vm.create_irqchip();
    m_vm.create_pit2();

    const auto ranges = allocate_ram();
    if (m_config.limits.hugepages && !m_restore) {
        try {
            m_memory = GuestMemory::create(ranges, GuestMemory::Backing::HugePages);
        } catch (const SysError& error) {
            // Too few free huge pages (none configured, or a pool smaller than the guest): the
            // reservation fails here, before the guest runs, so the guest runs on normal pages.
            std::uint64_t bytes = 0;
            for (const auto& range : ranges)
                bytes += range.size;
            fmt::print(stderr, "minivmm: warning: --hugepages: cannot reserve {} MiB of huge pages ({}); using normal "
                               "pages (see HugePages_Free in /proc/meminfo, set vm.nr_hugepages)\n",
                bytes >> 20, error.what());
        }
    }
    if (m_restore) {
        // Copy-on-write from DIR/memory: nothing is read now, a page comes in at its first touch.
        m_memory = map_memory_file(m_restore->memory.get(), ranges, m_restore->dir + "/" + kMemoryFileName);
    }
    if (m_memory.regions().empty())
        m_memory = GuestMemory::create(ranges);
    std::uint32_t slot = 0;
    for (const auto& region : m_memory.regions())
        m_vm.set_memory_slot(slot++, region.guest_address, region.size(), region.mapping.data());
}

std::vector<layout::RamRange> Vm::allocate_ram()
{
    // DESIGN.md, "Resource limiter": R_allocated,i = R_requested,i * f(R_available, R_limit) per
    // memory slot, decided before any guest memory exists.
    limiter::MemoryRequest request;
    for (const auto& range : layout::ram_ranges(m_config.memory_bytes))
        request.slots.push_back({range.guest_address, range.size});
    request.host_mem_available = limiter::read_host_mem_available();
    request.reserve = m_config.limits.memory_reserve;
    request.limit = m_config.limits.memory_limit;
    request.policy = m_config.limits.memory_policy;
    m_memory_allocation = limiter::allocate_memory(request);
    switch (m_memory_allocation.verdict) {
    case limiter::MemoryVerdict::Granted:
        return layout::ram_ranges(m_config.memory_bytes);
    case limiter::MemoryVerdict::Refused:
        throw UserError(fmt::format("--memory {} MiB cannot be granted (--memory-policy strict): {}",
            m_config.memory_bytes >> 20, m_memory_allocation.summary()));
    case limiter::MemoryVerdict::Shrunk:
        if (m_restore) // the snapshot's RAM layout is fixed: DIR/memory holds it whole
            throw UserError(fmt::format("the snapshot's {} MiB of RAM cannot be granted here: {}",
                m_config.memory_bytes >> 20, m_memory_allocation.summary()));
        break;
    }
    // Shrink: lay the smaller guest out again from 0, so its memory map stays contiguous below
    // the MMIO hole; the e820/PVH map is derived from these ranges.
    fmt::print(stderr, "minivmm: warning: guest memory shrunk from {} MiB to {} MiB (--memory-policy shrink): {}\n",
        m_config.memory_bytes >> 20, m_memory_allocation.allocated >> 20, m_memory_allocation.summary());
    return layout::ram_ranges(m_memory_allocation.allocated);
}

void Vm::create_devices()
{
    m_serial_irq = std::make_unique<IrqLineInterrupt>(m_vm, layout::kCom1Irq);
    const ConsoleSpec console_spec = ConsoleSpec::parse(m_config.serial);
    // The console file is checked against the disks before it is truncated (and before any disk
    // is opened): `--serial file:disk.img` must not empty an image.
    std::vector<std::string> disk_paths;
    for (const auto& text : m_config.disks)
        disk_paths.push_back(virtio::parse_disk_spec(text).path);
    m_console_output = ConsoleOutput::create(console_spec, disk_paths);
    // Guest output goes to the console and past the panic watcher (panic_watcher.hpp).
    m_serial = std::make_shared<Serial16550>(*m_serial_irq,
        [this, sink = m_console_output->sink()](std::span<const std::uint8_t> bytes) {
            sink(bytes);
            if (m_panic_watcher.feed(bytes) == PanicWatcher::Event::PanicEnded)
                m_stopper.stop({StopKind::GuestCrash, 0, "guest kernel panic: " + m_panic_watcher.panic_line().value_or("")});
        });
    m_pio_bus.add(layout::kCom1Port, Serial16550::kLength, m_serial);
    m_console = std::make_unique<Console>(m_loop, console_spec, *m_serial,
        [this] { m_stopper.stop({StopKind::UserQuit, 0, "quit from the console (Ctrl-A x)"}); });

    m_i8042 = std::make_shared<I8042>([this] {
        // After a panic, the reset that panic=N triggers is part of the crash, not a clean end.
        if (auto panic = m_panic_watcher.panic_line())
            m_stopper.stop({StopKind::GuestCrash, 0, "guest kernel panic: " + *panic});
        else
            m_stopper.stop({StopKind::GuestReset, 0, "i8042 reset"});
    });
    m_keyboard_irq = std::make_unique<IrqLineInterrupt>(m_vm, layout::kKeyboardIrq);
    m_i8042->set_keyboard_interrupt(m_keyboard_irq.get());
    m_pio_bus.add(I8042::kDataPort, I8042::kPortLength, m_i8042->data_port());
    m_pio_bus.add(I8042::kCommandPort, I8042::kPortLength, m_i8042->command_port());

    m_exit_port = std::make_shared<ExitPort>([this](std::uint8_t status) {
        m_stopper.stop({StopKind::ExitPort, status, fmt::format("guest wrote {} to the exit port", status)});
    });
    m_pio_bus.add(layout::kExitPort, 1, m_exit_port);
}

void Vm::create_virtio_devices()
{
    unsigned slot = 0;
    unsigned disk_index = 0;
    for (const auto& text : m_config.disks) {
        const virtio::DiskSpec spec = virtio::parse_disk_spec(text);
        auto device = virtio::VirtioBlk::create(spec);
        std::shared_ptr<RateLimitGate> gate;
        // With the control API every disk has a gate, so PATCH /v1/limits can limit it later.
        if (!spec.rate_limit.empty() || m_config.control_api) {
            gate = std::make_shared<RateLimitGate>(
                spec.rate_limit.empty() ? limiter::RateLimitConfig {} : limiter::parse_rate_limit(spec.rate_limit), m_loop);
            device->set_request_gate(gate);
        }
        const std::string name = fmt::format("virtio-blk{}", slot);
        auto& added = m_virtio_slots.emplace_back(
            std::make_unique<VirtioMmioSlot>(slot, name, std::move(device), m_vm, m_memory, m_mmio_bus, m_loop));
        const std::string id = spec.id.empty() ? fmt::format("blk{}", disk_index) : spec.id;
        if (gate) {
            // A refused request is retried by processing the queue again (blk has queue 0 only).
            gate->set_retry([transport = &added->transport()] { transport->notify(0); });
            m_disk_gates.push_back({id, gate});
        }
        add_device_entry(id, true, spec.path, *added, gate);
        ++slot;
        ++disk_index;
    }
    for (const auto& text : m_config.nets) {
        create_net_device(slot, virtio::parse_net_spec(text));
        ++slot;
    }
    // The guest finds virtio-mmio devices only through its command line.
    for (const auto& device : m_virtio_slots)
        m_config.cmdline += (m_config.cmdline.empty() ? "" : " ") + device->cmdline_entry();
}

void Vm::create_net_device(unsigned slot, const virtio::NetSpec& spec)
{
    // The device stops watching its tap while the guest has no receive buffers (no busy loop)
    // and asks again when the guest posts some (devices/virtio/net/virtio_net.hpp).
    virtio::VirtioNet::FdInterest interest = [this](int fd, bool wanted) {
        try {
            m_loop.modify(fd, wanted ? std::uint32_t(EPOLLIN) : 0u);
        } catch (const SysError& error) {
            // ENOENT: the fd is not on the loop (the slot is being torn down); nothing to change.
            if (error.error() != ENOENT)
                fmt::print(stderr, "minivmm: warning: virtio-net: {}\n", error.what());
        }
    };
    std::unique_ptr<virtio::VirtioNet> device;
    const std::string name = fmt::format("virtio-net{}", slot);
    if (spec.kind == virtio::NetBackendKind::Tap) {
        device = virtio::VirtioNet::create(spec, interest);
    } else {
        // --net switch=NAME,vlan=ID: a tap of our own, created now (it vanishes when the VM's fd
        // closes, even on kill -9), joined to the Linux bridge as an access port of that VLAN.
        net::SwitchManager switches;
        const std::string tap_name = fmt::format("mvm{}n{}", ::getpid(), slot);
        auto tap = std::make_unique<virtio::TapDevice>(virtio::TapDevice::open(tap_name));
        switches.connect_tap(tap_name, spec.name,
            spec.vlan ? std::optional(net::VlanId::from_user(*spec.vlan, "--net vlan")) : std::nullopt);
        device = std::make_unique<virtio::VirtioNet>(std::move(tap), virtio::VirtioNet::Options {spec.mac, spec.mtu, tap_name, interest});
    }
    std::shared_ptr<RateLimitGate> gate;
    if (spec.rate_limit || m_config.control_api) {
        gate = std::make_shared<RateLimitGate>(spec.rate_limit.value_or(limiter::RateLimitConfig {}), m_loop);
        device->set_request_gate(gate);
    }
    const std::string id = spec.id.empty() ? fmt::format("net{}", m_nets.size()) : spec.id;
    m_nets.push_back(device.get());
    auto& added = m_virtio_slots.emplace_back(
        std::make_unique<VirtioMmioSlot>(slot, name, std::move(device), m_vm, m_memory, m_mmio_bus, m_loop));
    if (gate) {
        // Either direction may be the one waiting: process both queues again (0 rx, 1 tx).
        gate->set_retry([transport = &added->transport()] {
            transport->notify(0);
            transport->notify(1);
        });
        m_disk_gates.push_back({id, gate});
    }
    add_device_entry(id, false, fmt::format("{}:{}", spec.kind == virtio::NetBackendKind::Tap ? "tap" : "switch", spec.name),
        *added, gate);
}

void Vm::load_guest()
{
    BootPlan plan = prepare_boot(m_config, m_memory, m_kvm.supported_cpuid());
    m_boot = std::move(plan);
}

void Vm::create_vcpus()
{
    install_vcpu_signal_handlers();
    // DESIGN.md, "Resource limiter": S_schedule,j = S_priority,j * g(S_available, S_limit).
    const LimitConfig& limits = m_config.limits;
    m_cpu_allocation = limiter::allocate_cpu(
        {m_config.cpus, limits.cpu_limit, limits.vcpu_priorities, limiter::host_cpu_count(), limits.cpu_period});
    if (m_config.gdb_stub) {
        // kvm_pvm's data breakpoints never fire (measured, README "Debugging with gdb"); the
        // same test that picks the software-kvm CPU template tells that host apart.
        m_debugger = std::make_unique<VmDebugger>(m_config.cpus, m_memory, m_stopper, m_config.gdb_wait,
            DebugHostSupport {!boot::host_kvm_is_software_emulated()},
            kernel_is_64bit(m_config.kernel_path, m_boot.kernel_kind) ? DebugArchitecture::Always64
                                                                      : DebugArchitecture::FollowMode);
    }
    for (unsigned index = 0; index < m_config.cpus; ++index) {
        kvm::VcpuFd vcpu = m_vm.create_vcpu(index);
        if (!m_restore) // a restored vCPU gets its whole state from the snapshot (apply_snapshot)
            configure_vcpu(vcpu, m_boot, m_config.cpus);
        m_runners.push_back(std::make_unique<VcpuRunner>(std::move(vcpu),
            VcpuContext {m_pio_bus, m_mmio_bus, m_memory, m_stopper, m_config.trace, m_pause, m_debugger.get()},
            VcpuCpuLimit {m_cpu_allocation.vcpus[index].share, m_cpu_allocation.period}));
    }
    if (m_debugger)
        m_debugger->set_runners(m_runners);
    // Only the control API takes snapshots; the lists come from /dev/kvm, which the sandbox closes.
    if (m_config.control_api) {
        m_msr_indices = m_kvm.msr_index_list();
        m_xsave_size = m_kvm.xsave_size();
    }
}

void Vm::add_stop_sources()
{
    m_stopper.set_kick([this] { kick_everything(); });

    if (m_config.timeout) {
        UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
        if (!timer)
            throw SysError("timerfd_create");
        itimerspec spec {};
        spec.it_value.tv_sec = m_config.timeout->count() / 1000;
        spec.it_value.tv_nsec = (m_config.timeout->count() % 1000) * 1'000'000;
        if (::timerfd_settime(timer.get(), 0, &spec, nullptr) < 0)
            throw SysError("timerfd_settime");
        m_loop.add(timer.get(), EPOLLIN, [this](std::uint32_t) {
            m_stopper.stop({StopKind::Timeout, 0, fmt::format("timeout: the guest ran for {} s without finishing",
                                                      double(m_config.timeout->count()) / 1000.0)});
        });
        m_loop_fds.push_back(std::move(timer));
    }

    sigset_t signals = termination_signals();
    UniqueFd signal_fd(::signalfd(-1, &signals, SFD_NONBLOCK | SFD_CLOEXEC));
    if (!signal_fd)
        throw SysError("signalfd");
    const int fd = signal_fd.get();
    m_loop.add(fd, EPOLLIN, [this, fd](std::uint32_t) {
        signalfd_siginfo info {};
        if (::read(fd, &info, sizeof info) == sizeof info)
            m_stopper.stop({StopKind::Signal, static_cast<std::uint8_t>(info.ssi_signo),
                fmt::format("stopped by signal {}", ::strsignal(static_cast<int>(info.ssi_signo)))});
    });
    m_loop_fds.push_back(std::move(signal_fd));
}

void Vm::add_device_entry(std::string id, bool is_disk, std::string backing, VirtioMmioSlot& slot,
    std::shared_ptr<RateLimitGate> gate)
{
    for (const auto& device : m_devices)
        if (device.id == id)
            throw UserError(fmt::format("device id '{}' is given to two devices", id));
    m_devices.push_back({std::move(id), is_disk, std::move(backing), &slot, std::move(gate)});
}

void Vm::kick_everything()
{
    // First release a vCPU waiting for a console nobody reads, then interrupt KVM_RUN.
    if (m_console_output)
        m_console_output->stop_waiting();
    m_pause.release_for_stop(); // parked vCPUs must see the stop too
    if (m_debugger)
        m_debugger->release_for_stop(); // so must vCPUs held for gdb
    for (auto& runner : m_runners)
        runner->kick();
    m_loop.stop();
}

void Vm::add_service_thread(sandbox::ThreadKind kind, ServiceBody body, int nice)
{
    m_services.push_back({kind, std::move(body), nice});
}

StopReason Vm::run()
{
    // Block the termination signals (they arrive through the signalfd) and the kick signal
    // (unblocked by each vCPU thread itself) in this thread before spawning, so every thread
    // inherits the mask.
    sigset_t blocked = termination_signals();
    sigaddset(&blocked, vcpu_kick_signal());
    sigaddset(&blocked, vcpu_throttle_signal());
    sigset_t previous;
    ::pthread_sigmask(SIG_BLOCK, &blocked, &previous);
    ::signal(SIGPIPE, SIG_IGN);

    m_started = std::chrono::steady_clock::now();
    start_metrics(); // opens the --metrics file: before the jail hides the file system
    const ThreadFilters filters = enter_sandbox();
    {
        std::vector<std::jthread> threads;
        for (std::size_t index = 0; index < m_runners.size(); ++index) {
            const sandbox::SyscallFilter* filter = filters.vcpus.empty() ? nullptr : &filters.vcpus[index];
            threads.emplace_back([runner = m_runners[index].get(), filter] {
                runner->run([filter] {
                    if (!filter)
                        return;
                    filter->load_into_current_thread();
                    sandbox::run_violation_test_hook(sandbox::ThreadKind::Vcpu);
                });
            });
        }
        // Declared after the vCPU threads: joined first, once the controller refuses requests.
        std::vector<std::jthread> services;
        for (std::size_t index = 0; index < m_services.size(); ++index) {
            const sandbox::SyscallFilter* filter = filters.services.empty() ? nullptr : &filters.services[index];
            const sandbox::ThreadKind kind = m_services[index].kind;
            const int nice = m_services[index].nice;
            services.emplace_back([this, kind, filter, nice, body = m_services[index].body](std::stop_token stop) {
                // Named and niced before the filter: prctl(PR_SET_NAME) and setpriority are on no
                // list. On Linux a nice value belongs to the thread (the tid), not the process.
                ::pthread_setname_np(::pthread_self(), std::string(sandbox::thread_kind_name(kind)).c_str());
                if (nice != 0 && ::setpriority(PRIO_PROCESS, static_cast<id_t>(::gettid()), nice) != 0)
                    fmt::print(stderr, "minivmm: warning: {} thread: setpriority: {}\n", sandbox::thread_kind_name(kind),
                        std::strerror(errno));
                try {
                    if (filter) {
                        filter->load_into_current_thread();
                        sandbox::run_violation_test_hook(kind);
                    }
                    body(stop);
                } catch (const std::exception& error) {
                    m_stopper.stop({StopKind::VmmError, 0,
                        fmt::format("{} thread: {}", sandbox::thread_kind_name(kind), error.what())});
                }
            });
        }
        try {
            // After the other threads exist: a thread inherits the filters of its creator.
            if (filters.event_loop) {
                filters.event_loop->load_into_current_thread();
                sandbox::run_violation_test_hook(sandbox::ThreadKind::EventLoop);
            }
            m_loop.run();
        } catch (const std::exception& error) {
            m_stopper.stop({StopKind::VmmError, 0, fmt::format("event loop: {}", error.what())});
        }
        kick_everything();
        m_controller->close(); // API requests from now on are refused: the VM has ended
        services.clear();      // asks every service thread to stop, then joins it
    } // joins every vCPU thread

    if (const std::uint64_t dropped = m_console_output->dropped_bytes())
        fmt::print(stderr, "minivmm: warning: console output dropped: {} bytes, the reader is not reading\n", dropped);

    if (m_config.trace == TraceMode::On) {
        ExitStats total;
        for (const auto& runner : m_runners)
            total.merge(runner->stats());
        fmt::print(stderr, "{}", total.format_summary());
        fmt::print(stderr, "  unclaimed accesses: {} port I/O, {} MMIO\n", m_pio_bus.unclaimed_accesses(),
            m_mmio_bus.unclaimed_accesses());
    }
    if (m_config.limits.report || m_config.trace == TraceMode::On) {
        for (std::size_t i = 0; i < m_nets.size(); ++i) {
            const virtio::NetCounters c = m_nets[i]->counters();
            fmt::print(stderr,
                "  net{}: rx {} frames {} bytes, tx {} frames {} bytes; dropped: tx malformed {}, tx backend {}, "
                "rx too big {}, rx invalid {}, rx bad buffers {}, rx backend errors {}\n",
                i, c.rx_packets, c.rx_bytes, c.tx_packets, c.tx_bytes, c.tx_dropped_malformed, c.tx_dropped_backend,
                c.rx_dropped_too_big, c.rx_dropped_invalid, c.rx_bad_buffers, c.rx_backend_errors);
        }
        const auto rows = limit_rows(true);
        fmt::print(stderr, "minivmm: resource limits (DESIGN.md formulas; used = average over the run)\n{}",
            limiter::format_limits_table(rows));
    }
    write_metrics(true);
    ::pthread_sigmask(SIG_SETMASK, &previous, nullptr);
    auto reason = m_stopper.reason();
    if (!reason)
        return StopReason {StopKind::VmmError, 0, "the VM stopped without a reason"};
    if (reason->kind == StopKind::Timeout) {
        // Where a hung guest was is the first thing one asks; the vCPUs are stopped, so their
        // registers are stable now.
        for (auto& runner : m_runners)
            reason->detail += fmt::format("\nvCPU {} at the timeout:\n{}", runner->vcpu().index(),
                format_vcpu_state(runner->vcpu(), m_memory));
    }
    return *reason;
}

} // namespace minivmm::vm
