// VmController: the one writer of the VM's lifecycle (DESIGN.md, "The control plane"). The API
// thread never touches vCPUs or devices: submit() queues its typed request, wakes the event loop
// through an eventfd and waits; the loop thread checks the request against the state machine
// (vm_state.hpp), carries it out whole or refuses it (409), and answers.
//
// Pause is a barrier (answered only when all of it holds): every vCPU out of KVM_RUN and parked,
// every device's in-flight I/O completed and its host fds held, the I/O limiter's clocks
// stopped. Resume undoes it in the reverse order.
#pragma once

#include <chrono>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <map>
#include <optional>

#include <nlohmann/json.hpp>

#include "vmm/api/api_server.hpp"
#include "vmm/backup/online_backup.hpp"
#include "vmm/base/event_fd.hpp"
#include "vmm/base/unique_fd.hpp"
#include "vmm/vm/vm.hpp"
#include "vmm/vm/vm_state.hpp"

namespace minivmm::vm {

class VmController {
public:
    // Registers its wake-up eventfd on the VM's event loop.
    explicit VmController(Vm& vm);
    ~VmController();
    VmController(const VmController&) = delete;
    VmController& operator=(const VmController&) = delete;

    // API thread: carries `request` out on the loop thread and returns the answer. Once the VM
    // has ended, answers 409 at once.
    api::ApiResponse submit(const api::ApiRequest& request);

    // Before run(): the VM starts paused (`run --restore DIR --paused`): the vCPUs park before
    // their first KVM_RUN, the devices' fds are held, until a resume.
    void start_paused();

    // Loop thread, when run() is about to return: the state becomes Stopping and every queued or
    // later request is refused.
    void close();

    // How long a pause may take before it is reported as a host failure (500) and undone.
    static constexpr std::chrono::milliseconds kPauseTimeout {5000};

private:
    struct Pending {
        const api::ApiRequest* request;
        std::promise<api::ApiResponse> answer;
    };
    void run_queued(); // loop callback
    api::ApiResponse execute(const api::ApiRequest& request);
    api::ApiResponse refuse_or(VmCommand command, VmState* next);
    api::ApiResponse pause();
    api::ApiResponse resume();
    api::ApiResponse shutdown(double timeout_s);
    api::ApiResponse stop();
    api::ApiResponse change_limits(const api::PatchLimits& request);
    api::ApiResponse resize_disk(const api::ResizeDisk& request);
    api::ApiResponse backup(const api::ApiRequest& request);
    api::ApiResponse take_snapshot(const api::TakeSnapshot& request);
    api::ApiResponse state_answer() const;
    api::ApiResponse limits_answer() const;
    api::ApiResponse info();
    api::ApiResponse metrics();
    [[nodiscard]] nlohmann::json limits_report() const;
    void flush_disks();
    static nlohmann::json progress_json(const backup::BackupProgress& progress);
    Vm::DeviceEntry* find_disk(const std::string& id);

    Vm& m_vm;
    EventFd m_wake;
    std::mutex m_mutex;
    std::deque<std::shared_ptr<Pending>> m_queue; // under m_mutex
    bool m_closed = false;                        // under m_mutex
    VmState m_state = VmState::Running;           // loop thread only
    // Made before the VM runs (the event loop's seccomp filter allows timerfd_settime, not
    // timerfd_create), armed by a shutdown.
    UniqueFd m_shutdown_timer;
    bool m_shutdown_watched = false;
    unsigned m_host_cpus = 1; // S_available, read once at start (sched_getaffinity is not allowed later)
    // The VM's backup thread's jobs (with the control API: a service thread of the VM, under the
    // "backup" filter). Before m_backups: outlives them.
    backup::BackupWorker m_backup_worker;
    // The VM's snapshot thread's jobs (a service thread under the "snapshot" filter, with the
    // control API only): it reads the parked vCPUs' state and writes DIR (vm_snapshot.hpp).
    backup::BackupWorker m_snapshot_worker;
    // The latest backup of each disk (running or ended, for GET), loop thread only. Destroyed
    // under the device's transport lock (online_backup.hpp), before the devices.
    std::map<std::string, std::unique_ptr<backup::OnlineBackup>> m_backups;
};

} // namespace minivmm::vm
