// Vm: the one place that knows every module. build() turns a VmConfig into a machine (KVM VM,
// guest memory, buses, devices, loaded kernel, vCPUs); run() runs it to the end and says why it
// ended. Members are declared so that destruction runs vCPUs first, then devices, then memory,
// then the VM fd (STYLE.md, "RAII").
#pragma once

#include <functional>
#include <memory>
#include <stop_token>
#include <thread>
#include <vector>

#include "vmm/base/event_loop.hpp"
#include "vmm/bus/bus.hpp"
#include "vmm/kvm/kvm.hpp"
#include "vmm/memory/guest_memory.hpp"
#include "vmm/sandbox/syscall_filter.hpp"
#include "vmm/vm/boot_setup.hpp"
#include "vmm/limiter/limits_report.hpp"
#include "vmm/vm/rate_limit_gate.hpp"
#include "vmm/vm/panic_watcher.hpp"
#include "vmm/vm/pause_barrier.hpp"
#include "vmm/vm/stop_reason.hpp"
#include "vmm/vm/virtio_mmio_slot.hpp"
#include "vmm/vm/vcpu_runner.hpp"
#include "vmm/vm/vm_config.hpp"
#include "vmm/snapshot/snapshottable.hpp"
#include "vmm/vm/vm_snapshot.hpp"

namespace minivmm {
class Serial16550;
class I8042;
class ExitPort;
class InterruptLine;
class Console;
class ConsoleOutput;
} // namespace minivmm

namespace minivmm::virtio {
struct NetSpec;
class VirtioNet;
} // namespace minivmm::virtio

namespace minivmm::gdb {
class GdbTarget;
} // namespace minivmm::gdb

namespace minivmm::vm {

class VmController;
class VmDebugger;

class Vm {
public:
    // Throws UserError for bad input (kernel, initrd, sizes) and SysError for host failures,
    // before any vCPU runs: a VM either starts whole or not at all.
    static std::unique_ptr<Vm> build(const VmConfig& config);
    // `minivmm run --restore`: the machine of `files` rebuilt from `config` (restore_vm_config),
    // its RAM mapped copy-on-write from DIR/memory, every device, the irqchip, PIT, clock and
    // every vCPU set to the saved state, every queue kicked. No kernel is loaded. Throws like
    // build() (SnapshotError for a section that does not fit), before any vCPU runs.
    static std::unique_ptr<Vm> restore(const VmConfig& config, SnapshotFiles files);
    ~Vm();

    // A thread of another kind that lives as long as the VM runs (the control API's HTTP server):
    // run() starts it after the sandbox is closed, with `kind`'s seccomp filter loaded first
    // (a thread keeps the filters of its creator, so it cannot be made before), and asks it to
    // stop through the token once the VM has ended and the controller refuses requests; then
    // joins it. An exception from `body` stops the VM as a VMM error. `nice` (setpriority(2),
    // for this thread only) lets work that must not slow the guest yield the CPU to the vCPUs
    // and the event loop. Call before run().
    using ServiceBody = std::function<void(std::stop_token)>;
    void add_service_thread(sandbox::ThreadKind kind, ServiceBody body, int nice = 0);

    // Runs the vCPUs and the event loop until the VM stops; returns why.
    StopReason run();
    // gdb's way in (--gdb, vm_debugger.hpp); nullptr without it. Valid for the Vm's life.
    [[nodiscard]] gdb::GdbTarget* debug_target();
    // The control API's way in (vm_controller.hpp); valid for the Vm's life.
    [[nodiscard]] VmController& controller() { return *m_controller; }

private:
    friend class VmController; // the control plane drives the machine's parts (vm_controller.cpp)
    explicit Vm(const VmConfig& config);
    void create_machine();
    std::vector<layout::RamRange> allocate_ram();
    void create_devices();
    void create_virtio_devices();
    void create_net_device(unsigned slot, const virtio::NetSpec& spec);
    void load_guest();
    void create_vcpus();
    void add_stop_sources();
    // Snapshots (vm_snapshot_state.cpp). The first two on the loop thread while paused, the third
    // on the snapshot thread while paused; apply_snapshot while restoring, before run().
    [[nodiscard]] MachineConfig machine_config() const;
    [[nodiscard]] std::vector<snapshot::Section> device_sections() const;
    [[nodiscard]] std::vector<snapshot::Section> kvm_sections();
    void apply_snapshot(const SnapshotFiles& files);
    // The Snapshottable devices in vmstate order (serial, i8042, exit port, each virtio slot);
    // nullptr for a device that cannot save its state yet.
    struct SnapshotDevice {
        std::string name;
        snapshot::Snapshottable* device;
    };
    [[nodiscard]] std::vector<SnapshotDevice> snapshot_devices() const;
    void kick_everything();
    // The limiter's report (vm_limits.cpp): every resource's requested, allocated, limit, used.
    [[nodiscard]] std::vector<limiter::ResourceReport> limit_rows(bool final) const;
    void start_metrics();
    void write_metrics(bool final);
    // The filters each thread loads once it is set up (vm_sandbox.cpp); empty with --seccomp off.
    struct ThreadFilters {
        std::vector<sandbox::SyscallFilter> vcpus; // one per runner, same order
        std::optional<sandbox::SyscallFilter> event_loop;
        std::vector<sandbox::SyscallFilter> services; // one per m_services entry, same order
    };
    // Closes the sandbox around the finished machine, before any other thread exists:
    // no-new-privs, the --jail, the SIGSYS handler, and the compiled filters (vm_sandbox.cpp).
    ThreadFilters enter_sandbox();

    VmConfig m_config;
    VmStopper m_stopper;
    EventLoop m_loop;
    kvm::Kvm m_kvm;
    kvm::VmFd m_vm;
    limiter::MemoryAllocation m_memory_allocation;
    limiter::CpuAllocation m_cpu_allocation;
    GuestMemory m_memory;
    Bus m_pio_bus {"pio"};
    Bus m_mmio_bus {"mmio"};

    // Devices and what they need, after memory (they refer to it) and before vCPUs.
    std::unique_ptr<InterruptLine> m_serial_irq;
    std::unique_ptr<InterruptLine> m_keyboard_irq; // i8042 IRQ 1, for the API's Ctrl-Alt-Del
    PanicWatcher m_panic_watcher;
    std::shared_ptr<ConsoleOutput> m_console_output;
    std::shared_ptr<Serial16550> m_serial;
    std::unique_ptr<Console> m_console; // after the UART: destroyed before it
    std::shared_ptr<I8042> m_i8042;
    std::shared_ptr<ExitPort> m_exit_port;
    struct DiskGate {
        std::string name;
        std::shared_ptr<RateLimitGate> gate;
    };
    std::vector<DiskGate> m_disk_gates; // before the slots: the devices hold them too
    std::vector<std::unique_ptr<VirtioMmioSlot>> m_virtio_slots;
    std::vector<const virtio::VirtioNet*> m_nets; // owned by their slots; for the exit report
    // Every virtio device by its id (blk0.., net0.. or id=), for the control API and reports.
    struct DeviceEntry {
        std::string id;
        bool is_disk = true;
        std::string backing; // disk path, "tap:NAME" or "switch:NAME"
        VirtioMmioSlot* slot = nullptr;
        std::shared_ptr<RateLimitGate> gate; // nullptr: no limiter (none asked, no --api-socket)
    };
    std::vector<DeviceEntry> m_devices;
    void add_device_entry(std::string id, bool is_disk, std::string backing, VirtioMmioSlot& slot,
        std::shared_ptr<RateLimitGate> gate);
    std::vector<UniqueFd> m_loop_fds; // timerfd, signalfd
    BootPlan m_boot;
    std::optional<SnapshotFiles> m_restore; // while Vm::restore builds the machine
    // What a snapshot reads of every vCPU, asked of /dev/kvm before the sandbox closes.
    std::vector<std::uint32_t> m_msr_indices;
    std::size_t m_xsave_size = 0;
    std::chrono::steady_clock::time_point m_started;
    UniqueFd m_metrics_file;

    PauseBarrier m_pause; // the vCPUs park here while paused (outlives the runners)
    std::unique_ptr<VmDebugger> m_debugger; // --gdb; outlives the runners, which report to it
    std::unique_ptr<VmController> m_controller; // the control API's one writer of lifecycle state
    struct ServiceThread {
        sandbox::ThreadKind kind;
        ServiceBody body;
        int nice = 0;
    };
    std::vector<ServiceThread> m_services; // started and joined by run()

    // Last: destroyed first. Threads are joined in run(); runners own the vCPU fds.
    std::vector<std::unique_ptr<VcpuRunner>> m_runners;
};

} // namespace minivmm::vm
