#include "vmm/vm/vm.hpp"

#include <signal.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <fmt/format.h>

#include "devices/legacy/exit_port.hpp"
#include "devices/legacy/i8042.hpp"
#include "devices/legacy/serial_16550.hpp"
#include "devices/virtio/disk_spec.hpp"
#include "devices/virtio/virtio_blk.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/console/console.hpp"
#include "vmm/console/console_output.hpp"
#include "vmm/memory/memory_layout.hpp"
#include "vmm/vm/boot_setup.hpp"
#include "vmm/vm/kvm_interrupt_line.hpp"
#include "vmm/vm/register_dump.hpp"

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
} // namespace

Vm::Vm(const VmConfig& config)
    : m_config(config)
    , m_kvm(kvm::Kvm::open())
    , m_vm(m_kvm.create_vm())
{
}

Vm::~Vm() = default;

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
    return vm;
}

void Vm::create_machine()
{
    // DESIGN.md, "Boot flow" step 3: the irqchip must exist before any vCPU is created so each
    // vCPU gets an in-kernel LAPIC.
    m_vm.set_vmx_scratch_pages(0xfffb'd000, 0xfffb'c000);
    m_vm.create_irqchip();
    m_vm.create_pit2();

    m_memory = GuestMemory::create(layout::ram_ranges(m_config.memory_bytes));
    std::uint32_t slot = 0;
    for (const auto& region : m_memory.regions())
        m_vm.set_memory_slot(slot++, region.guest_address, region.size(), region.mapping.data());
}

void Vm::create_devices()
{
    m_serial_irq = std::make_unique<IrqLineInterrupt>(m_vm, layout::kCom1Irq);
    const ConsoleSpec console_spec = ConsoleSpec::parse(m_config.serial);
    m_console_output = ConsoleOutput::create(console_spec);
    m_serial = std::make_shared<Serial16550>(*m_serial_irq, m_console_output->sink());
    m_pio_bus.add(layout::kCom1Port, Serial16550::kLength, m_serial);
    m_console = std::make_unique<Console>(m_loop, console_spec, *m_serial,
        [this] { m_stopper.stop({StopKind::UserQuit, 0, "quit from the console (Ctrl-A x)"}); });

    m_i8042 = std::make_shared<I8042>([this] { m_stopper.stop({StopKind::GuestReset, 0, "i8042 reset"}); });
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
    for (const auto& text : m_config.disks) {
        const virtio::DiskSpec spec = virtio::parse_disk_spec(text);
        m_virtio_slots.push_back(std::make_unique<VirtioMmioSlot>(slot, fmt::format("virtio-blk{}", slot),
            virtio::VirtioBlk::create(spec), m_vm, m_memory, m_mmio_bus, m_loop));
        ++slot;
    }
    // The guest finds virtio-mmio devices only through its command line.
    for (const auto& device : m_virtio_slots)
        m_config.cmdline += (m_config.cmdline.empty() ? "" : " ") + device->cmdline_entry();
}

void Vm::load_guest()
{
    BootPlan plan = prepare_boot(m_config, m_memory, m_kvm.supported_cpuid());
    m_boot = std::move(plan);
}

void Vm::create_vcpus()
{
    install_vcpu_kick_handler();
    for (unsigned index = 0; index < m_config.cpus; ++index) {
        kvm::VcpuFd vcpu = m_vm.create_vcpu(index);
        configure_vcpu(vcpu, m_boot, m_config.cpus);
        m_runners.push_back(std::make_unique<VcpuRunner>(std::move(vcpu),
            VcpuContext {m_pio_bus, m_mmio_bus, m_memory, m_stopper, m_config.trace}));
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

void Vm::kick_everything()
{
    for (auto& runner : m_runners)
        runner->kick();
    m_loop.stop();
}

StopReason Vm::run()
{
    // Block the termination signals (they arrive through the signalfd) and the kick signal
    // (unblocked by each vCPU thread itself) in this thread before spawning, so every thread
    // inherits the mask.
    sigset_t blocked = termination_signals();
    sigaddset(&blocked, vcpu_kick_signal());
    sigset_t previous;
    ::pthread_sigmask(SIG_BLOCK, &blocked, &previous);
    ::signal(SIGPIPE, SIG_IGN);

    {
        std::vector<std::jthread> threads;
        for (auto& runner : m_runners)
            threads.emplace_back([&runner] { runner->run(); });
        try {
            m_loop.run();
        } catch (const std::exception& error) {
            m_stopper.stop({StopKind::VmmError, 0, fmt::format("event loop: {}", error.what())});
        }
        kick_everything();
    } // joins every vCPU thread

    if (m_config.trace == TraceMode::On) {
        ExitStats total;
        for (const auto& runner : m_runners)
            total.merge(runner->stats());
        fmt::print(stderr, "{}", total.format_summary());
        fmt::print(stderr, "  unclaimed accesses: {} port I/O, {} MMIO\n", m_pio_bus.unclaimed_accesses(),
            m_mmio_bus.unclaimed_accesses());
    }
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
