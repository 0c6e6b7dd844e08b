// VmController (vm_controller.hpp): the control API's requests carried out on the event-loop
// thread, each checked against the lifecycle state machine first (vm_state.hpp).
#include "vmm/vm/vm_controller.hpp"

#include <sys/timerfd.h>
#include <unistd.h>

#include <cmath>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "devices/legacy/i8042.hpp"
#include "devices/virtio/blk/virtio_blk.hpp"
#include "devices/virtio/net/virtio_net.hpp"
#include "vmm/base/sys_error.hpp"
#include "vmm/limiter/limits_report.hpp"
#include "vmm/vm/vm.hpp"

namespace minivmm::vm {

namespace {

using Json = nlohmann::json;

template<class... Ts>
struct Overloaded : Ts... {
    using Ts::operator()...;
};
// For clang 14 (the fuzz build), which lacks C++20 aggregate deduction (P1816).
template<class... Ts>
Overloaded(Ts...) -> Overloaded<Ts...>;

// Paths and the command line are the user's bytes, not always UTF-8: replaced with U+FFFD.
api::ApiResponse ok(const Json& body) { return {200, body.dump(-1, ' ', false, Json::error_handler_t::replace)}; }

// How long a pause waits for a device's host I/O in flight before it gives up (500).
constexpr std::chrono::milliseconds kDrainTimeout {5000};

// Each bucket holds one second of its rate, as the command line's parsers build them.
std::optional<limiter::BucketConfig> bucket_for(std::uint64_t rate)
{
    if (rate == 0)
        return std::nullopt; // 0 removes the limit
    return limiter::BucketConfig {rate, rate, 0};
}

Json limits_json(const limiter::RateLimitConfig& config, std::string_view ops_name)
{
    Json limits = Json::object();
    limits["bw"] = config.bytes ? Json(config.bytes->rate) : Json(nullptr);
    limits[std::string(ops_name)] = config.ops ? Json(config.ops->rate) : Json(nullptr);
    return limits;
}

} // namespace

VmController::VmController(Vm& vm)
    : m_vm(vm)
    , m_shutdown_timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC))
    , m_host_cpus(limiter::host_cpu_count())
{
    if (!m_shutdown_timer)
        throw SysError("timerfd_create for the shutdown deadline");
    m_vm.m_loop.add(m_wake.fd(), EPOLLIN, [this](std::uint32_t) {
        m_wake.consume();
        run_queued();
    });
    // Only the control API starts backups: a VM without it pays for no thread. Vm::run stops
    // the thread once the VM has ended, which cancels a running backup (its partial file goes).
    // Niced: an unlimited backup takes the CPU the vCPUs and the event loop leave, so the
    // guest's own I/O keeps its pace (tools/bench/api measures it).
    constexpr int kBackupNice = 10;
    if (m_vm.m_config.control_api) {
        m_vm.add_service_thread(
            sandbox::ThreadKind::Backup, [this](std::stop_token stop) { m_backup_worker.serve(stop); }, kBackupNice);
        // Not niced: the guest is paused while it works, and the pause is the snapshot's cost.
        m_vm.add_service_thread(sandbox::ThreadKind::Snapshot, [this](std::stop_token stop) { m_snapshot_worker.serve(stop); });
    }
}

void VmController::start_paused()
{
    // As pause() (vm_controller.hpp), before any vCPU thread exists: each parks at its first
    // loop round; no device has I/O in flight yet, and the loop is not running.
    m_vm.m_pause.request_pause();
    for (auto& device : m_vm.m_devices)
        if (!device.slot->pause(kDrainTimeout))
            throw SysError(fmt::format("{}: host I/O in flight before the VM started", device.id), EBUSY);
    for (auto& device : m_vm.m_devices)
        if (device.gate)
            device.gate->pause();
    m_state = VmState::Paused;
}

VmController::~VmController()
{
    for (auto& [id, running] : m_backups) {
        if (auto* disk = find_disk(id))
            disk->slot->transport().with_device([&](virtio::VirtioDevice&) {
                running.reset();
                return 0;
            });
    }
    m_vm.m_loop.remove(m_wake.fd());
    if (m_shutdown_watched)
        m_vm.m_loop.remove(m_shutdown_timer.get());
    close();
}

api::ApiResponse VmController::submit(const api::ApiRequest& request)
{
    auto pending = std::make_shared<Pending>();
    pending->request = &request;
    auto answer = pending->answer.get_future();
    {
        std::lock_guard lock(m_mutex);
        if (m_closed)
            return api::error_response(409, "the VM has ended");
        m_queue.push_back(pending);
    }
    m_wake.signal();
    return answer.get(); // the loop answers every queued request, close() included
}

void VmController::close()
{
    std::deque<std::shared_ptr<Pending>> refused;
    {
        std::lock_guard lock(m_mutex);
        m_closed = true;
        refused.swap(m_queue);
    }
    m_state = VmState::Stopping;
    for (auto& pending : refused)
        pending->answer.set_value(api::error_response(409, "the VM has ended"));
}

void VmController::run_queued()
{
    for (;;) {
        std::shared_ptr<Pending> pending;
        {
            std::lock_guard lock(m_mutex);
            if (m_queue.empty())
                return;
            pending = m_queue.front();
            m_queue.pop_front();
        }
        api::ApiResponse response;
        try {
            // The guest may have ended the VM since (its exit port, a crash): nothing more to do.
            if (m_vm.m_stopper.stopping())
                m_state = VmState::Stopping;
            response = execute(*pending->request);
        } catch (const UserError& error) {
            response = api::error_response(400, error.what());
        } catch (const std::exception& error) {
            response = api::error_response(500, error.what());
        }
        pending->answer.set_value(std::move(response));
    }
}

api::ApiResponse VmController::refuse_or(VmCommand command, VmState* next)
{
    const Transition transition = next_state(m_state, command);
    if (!transition.next)
        return api::error_response(409, transition.refusal);
    *next = *transition.next;
    return {};
}

api::ApiResponse VmController::execute(const api::ApiRequest& request)
{
    VmState next = m_state;
    const auto check = [&](VmCommand command) -> std::optional<api::ApiResponse> {
        api::ApiResponse refusal = refuse_or(command, &next);
        if (refusal.status != 200)
            return refusal;
        return std::nullopt;
    };
    return std::visit(Overloaded {
                          [&](const api::GetVm&) { return info(); },
                          [&](const api::GetMetrics&) { return metrics(); },
                          [&](const api::SetState& set) {
                              const VmCommand command = set.state == api::RunState::Paused ? VmCommand::Pause : VmCommand::Resume;
                              if (auto refusal = check(command))
                                  return *refusal;
                              return command == VmCommand::Pause ? pause() : resume();
                          },
                          [&](const api::VmAction& action) {
                              const VmCommand command = action.kind == api::ActionKind::Stop ? VmCommand::Stop : VmCommand::Shutdown;
                              if (auto refusal = check(command))
                                  return *refusal;
                              return command == VmCommand::Stop ? stop() : shutdown(action.timeout_s);
                          },
                          [&](const api::PatchLimits& limits) {
                              if (auto refusal = check(VmCommand::ChangeLimits))
                                  return *refusal;
                              return change_limits(limits);
                          },
                          [&](const api::ResizeDisk& resize) {
                              if (auto refusal = check(VmCommand::ResizeDisk))
                                  return *refusal;
                              return resize_disk(resize);
                          },
                          [&](const api::TakeSnapshot& snapshot) {
                              if (auto refusal = check(VmCommand::Snapshot))
                                  return *refusal;
                              return take_snapshot(snapshot);
                          },
                          [&](const auto&) {
                              if (auto refusal = check(VmCommand::Backup))
                                  return *refusal;
                              return backup(request);
                          },
                      },
        request);
}

api::ApiResponse VmController::state_answer() const { return ok(Json {{"state", state_name(m_state)}}); }

// ---- pause / resume: the barrier (vm_controller.hpp)

api::ApiResponse VmController::pause()
{
    const auto started = std::chrono::steady_clock::now();
    // 1. Every vCPU out of KVM_RUN and parked: immediate_exit + the kick signal, as a stop does.
    m_vm.m_pause.request_pause();
    for (auto& runner : m_vm.m_runners)
        runner->kick();
    if (!m_vm.m_pause.wait_until_parked(static_cast<unsigned>(m_vm.m_runners.size()), kPauseTimeout)) {
        m_vm.m_pause.resume();
        return api::error_response(500, "pause: a vCPU did not leave KVM_RUN in time; the VM keeps running");
    }
    // 2. Every device's host fds held and its in-flight I/O completed.
    for (std::size_t i = 0; i < m_vm.m_devices.size(); ++i) {
        if (!m_vm.m_devices[i].slot->pause(kDrainTimeout)) {
            for (std::size_t j = 0; j <= i; ++j)
                m_vm.m_devices[j].slot->resume();
            m_vm.m_pause.resume();
            return api::error_response(500, fmt::format("pause: {}: host I/O did not complete in time; the VM keeps running",
                m_vm.m_devices[i].id));
        }
    }
    // 3. The I/O limiter's clocks stopped: no credit saved up over the pause. (A vCPU's CPU
    // budget is per period and charged with thread CPU time, which a parked thread does not use.)
    for (auto& device : m_vm.m_devices)
        if (device.gate)
            device.gate->pause();
    m_state = VmState::Paused;
    // How long the barrier took, request to everything parked (tools/bench/api reports it).
    return ok(Json {{"state", state_name(m_state)}, {"barrier_us", std::chrono::duration_cast<std::chrono::microseconds>(
                                                                       std::chrono::steady_clock::now() - started)
                                                                       .count()}});
}

api::ApiResponse VmController::resume()
{
    const auto started = std::chrono::steady_clock::now();
    for (auto& device : m_vm.m_devices)
        if (device.gate)
            device.gate->resume();
    for (auto& device : m_vm.m_devices)
        device.slot->resume();
    m_vm.m_pause.resume();
    m_state = VmState::Running;
    // Answered once every vCPU has left the barrier and is back in its run loop.
    if (!m_vm.m_pause.wait_until_released(kPauseTimeout))
        return api::error_response(500, "resume: a vCPU did not leave the pause barrier in time");
    return ok(Json {{"state", state_name(m_state)}, {"barrier_us", std::chrono::duration_cast<std::chrono::microseconds>(
                                                                       std::chrono::steady_clock::now() - started)
                                                                       .count()}});
}

// ---- shutdown / stop

api::ApiResponse VmController::shutdown(double timeout_s)
{
    // Firecracker's SendCtrlAltDel: the guest decides what Ctrl-Alt-Del means (Linux reboots;
    // with reboot=k the i8042 reset ends the VM). If it has not ended by the deadline, stop it.
    itimerspec spec {};
    const auto nanos = static_cast<std::int64_t>(std::llround(timeout_s * 1e9));
    spec.it_value.tv_sec = static_cast<time_t>(nanos / 1'000'000'000);
    spec.it_value.tv_nsec = static_cast<long>(nanos % 1'000'000'000);
    if (::timerfd_settime(m_shutdown_timer.get(), 0, &spec, nullptr) < 0)
        throw SysError("timerfd_settime for the shutdown deadline");
    m_shutdown_watched = true;
    m_vm.m_loop.add(m_shutdown_timer.get(), EPOLLIN, [this, timeout_s](std::uint32_t) {
        flush_disks();
        m_vm.m_stopper.stop({StopKind::ShutdownTimeout, 0,
            fmt::format("the guest did not shut down within {} s of Ctrl-Alt-Del; stopped it", timeout_s)});
    });
    m_vm.m_i8042->send_ctrl_alt_del();
    m_state = VmState::ShuttingDown;
    return ok(Json {{"state", state_name(m_state)}, {"timeout_s", timeout_s}});
}

void VmController::flush_disks()
{
    for (auto& device : m_vm.m_devices) {
        if (!device.is_disk)
            continue;
        // Whatever the guest had in flight lands first; then the file's data is made durable.
        (void)device.slot->pause(kDrainTimeout);
        device.slot->transport().with_device([](virtio::VirtioDevice& virtio_device) {
            if (auto* blk = dynamic_cast<virtio::VirtioBlk*>(&virtio_device);
                blk && blk->image().access() == virtio::DiskAccess::ReadWrite)
                (void)blk->image().flush();
            return 0;
        });
    }
}

api::ApiResponse VmController::stop()
{
    // Parked vCPUs (a paused VM) leave through the stop kick; disks are flushed first.
    flush_disks();
    m_state = VmState::Stopping;
    m_vm.m_stopper.stop({StopKind::ApiStop, 0, "stopped through the control API"});
    return state_answer();
}

// ---- limits

api::ApiResponse VmController::change_limits(const api::PatchLimits& request)
{
    // Everything is validated before anything changes: a refused request changes nothing.
    struct DeviceChange {
        Vm::DeviceEntry* device;
        limiter::RateLimitConfig config;
    };
    std::vector<DeviceChange> changes;
    const auto plan = [&](const std::vector<api::DeviceLimits>& list, bool disks) -> std::optional<api::ApiResponse> {
        for (const auto& limits : list) {
            auto found = std::find_if(m_vm.m_devices.begin(), m_vm.m_devices.end(),
                [&](const Vm::DeviceEntry& device) { return device.id == limits.id && device.is_disk == disks; });
            if (found == m_vm.m_devices.end())
                return api::error_response(404, fmt::format("no such {}: '{}'", disks ? "disk" : "net", limits.id));
            if (!found->gate)
                return api::error_response(409, fmt::format("{} has no I/O limiter (start the VM with --api-socket)", limits.id));
            limiter::RateLimitConfig config = found->gate->config();
            if (limits.bw)
                config.bytes = bucket_for(*limits.bw);
            if (limits.ops)
                config.ops = bucket_for(*limits.ops);
            changes.push_back({&*found, config});
        }
        return std::nullopt;
    };
    if (auto refusal = plan(request.disks, true))
        return *refusal;
    if (auto refusal = plan(request.nets, false))
        return *refusal;

    std::optional<limiter::CpuAllocation> cpu;
    LimitConfig& config = m_vm.m_config.limits;
    if (request.cpu_limit_given || request.vcpu_priority) {
        const std::optional<double> limit = request.cpu_limit_given ? request.cpu_limit : config.cpu_limit;
        // Priorities divide a limit; lifting the limit lifts them too unless new ones are given.
        std::vector<std::uint32_t> priorities = request.vcpu_priority.value_or(limit ? config.vcpu_priorities
                                                                                     : std::vector<std::uint32_t> {});
        // DESIGN.md, "Resource limiter": the same formula and validation as at boot (UserError -> 400).
        cpu = limiter::allocate_cpu({m_vm.m_config.cpus, limit, priorities, m_host_cpus, config.cpu_period});
        config.cpu_limit = limit;
        config.vcpu_priorities = priorities;
    }

    for (auto& change : changes)
        change.device->gate->set_config(change.config);
    if (cpu) {
        m_vm.m_cpu_allocation = *cpu;
        for (std::size_t i = 0; i < m_vm.m_runners.size(); ++i) {
            m_vm.m_runners[i]->set_cpu_limit({cpu->vcpus[i].share, cpu->period});
            // A vCPU spinning without exits would not look at the new share: kick it out once.
            // A parked vCPU takes it when resumed.
            if (m_state != VmState::Paused)
                m_vm.m_runners[i]->kick();
        }
    }
    return limits_answer();
}

api::ApiResponse VmController::limits_answer() const
{
    Json vcpus = Json::array();
    for (const auto& vcpu : m_vm.m_cpu_allocation.vcpus)
        vcpus.push_back({{"priority", vcpu.priority}, {"share", vcpu.share}});
    Json devices = Json::object();
    for (const auto& device : m_vm.m_devices)
        devices[device.id] = device.gate ? limits_json(device.gate->config(), device.is_disk ? "iops" : "pps") : Json(nullptr);
    return ok(Json {{"cpu_limit", m_vm.m_cpu_allocation.limit ? Json(*m_vm.m_cpu_allocation.limit) : Json(nullptr)},
        {"vcpus", vcpus}, {"devices", devices}});
}

// ---- disks: resize and backup (their internals come from the online-backup work)

api::ApiResponse VmController::resize_disk(const api::ResizeDisk& request)
{
    Vm::DeviceEntry* disk = find_disk(request.id);
    if (!disk)
        return api::error_response(404, fmt::format("no such disk: '{}'", request.id));
    return disk->slot->transport().with_device([&](virtio::VirtioDevice& device) {
        auto& blk = dynamic_cast<virtio::VirtioBlk&>(device);
        const std::uint64_t current = blk.image().size_bytes();
        if (request.size < current)
            return api::error_response(400, fmt::format("{}: shrinking ({} to {} bytes) is refused online", request.id,
                current, request.size));
        if (request.size % virtio::VirtioBlk::kSectorSize != 0)
            return api::error_response(400, fmt::format("{}: the size must be a multiple of {} bytes", request.id,
                virtio::VirtioBlk::kSectorSize));
        if (blk.image().access() == virtio::DiskAccess::ReadOnly)
            return api::error_response(409, fmt::format("{} is read-only", request.id));
        // virtio-v1.2 §5.2.4 capacity, §2.5.1 / §4.2.2 ConfigGeneration and the configuration
        // change interrupt: VirtioBlk::resize raises them through its transport.
        auto resized = blk.resize(request.size);
        if (!resized)
            return api::error_response(500, fmt::format("{}: {}", request.id, resized.error()));
        return ok(Json {{"id", request.id}, {"capacity", blk.image().size_bytes()}});
    });
}

api::ApiResponse VmController::backup(const api::ApiRequest& request)
{
    const std::string& id = std::visit(Overloaded {
                                           [](const api::StartBackup& start) -> const std::string& { return start.id; },
                                           [](const api::GetBackup& get) -> const std::string& { return get.id; },
                                           [](const api::CancelBackup& cancel) -> const std::string& { return cancel.id; },
                                           [](const auto&) -> const std::string& {
                                               static const std::string none;
                                               return none;
                                           },
                                       },
        request);
    Vm::DeviceEntry* disk = find_disk(id);
    if (!disk)
        return api::error_response(404, fmt::format("no such disk: '{}'", id));
    auto existing = m_backups.find(id);
    if (std::holds_alternative<api::GetBackup>(request) || std::holds_alternative<api::CancelBackup>(request)) {
        if (existing == m_backups.end())
            return api::error_response(404, fmt::format("no backup of {} has been started", id));
        if (std::holds_alternative<api::CancelBackup>(request)) {
            existing->second->cancel();
            (void)existing->second->wait_for(std::chrono::seconds(10));
        }
        return ok(progress_json(existing->second->progress()));
    }
    const auto& start = std::get<api::StartBackup>(request);
    // One backup at a time per VM: they share the VM's one backup thread (backup_worker.hpp).
    for (const auto& [other_id, other] : m_backups)
        if (other->progress().state == backup::BackupState::Running)
            return api::error_response(409, other_id == id
                    ? fmt::format("a backup of {} is already running", id)
                    : fmt::format("{}: a backup of {} is running; minivmm runs one backup at a time", id, other_id));
    return disk->slot->transport().with_device([&](virtio::VirtioDevice& device) {
        auto& blk = dynamic_cast<virtio::VirtioBlk&>(device);
        if (existing != m_backups.end())
            m_backups.erase(existing); // an ended backup: its interceptor must go before a new one
        auto started = backup::OnlineBackup::start(blk, backup::BackupOptions {start.path, start.bandwidth},
            m_backup_worker);
        if (!started) {
            // Another backup of the disk is the state forbidding it; the backup thread failing is
            // the host's; anything else is the request.
            const bool busy = started.error().find("already running") != std::string::npos;
            const bool host = started.error().rfind("the backup thread", 0) == 0;
            return api::error_response(busy ? 409 : host ? 500 : 400, fmt::format("{}: {}", id, started.error()));
        }
        auto& added = m_backups[id] = std::move(*started);
        return ok(progress_json(added->progress()));
    });
}

// ---- snapshot (vm_snapshot.hpp): pause, device state here, KVM state and files on the
// snapshot thread, resume

api::ApiResponse VmController::take_snapshot(const api::TakeSnapshot& request)
{
    using std::chrono::steady_clock;
    const auto started = steady_clock::now();
    const bool was_paused = m_state == VmState::Paused;
    if (!was_paused) {
        api::ApiResponse paused = pause();
        if (paused.status != 200)
            return paused;
    }
    api::ApiResponse answer;
    try {
        snapshot::Vmstate state;
        state.sections = m_vm.device_sections();
        Json unsaved = Json::array();
        for (const auto& device : m_vm.snapshot_devices())
            if (!device.device)
                unsaved.push_back(device.name);
        // The loop waits: the vCPUs are parked and no device runs, so there is nothing for it to
        // do but signals, which are seen once the snapshot is written.
        const SnapshotFileStats stats = m_snapshot_worker.call([&] {
            for (auto& section : m_vm.kvm_sections())
                state.sections.push_back(std::move(section));
            return write_snapshot_files(request.path, m_vm.m_memory, state);
        });
        const bool stay_paused = was_paused || request.leave_paused;
        answer = ok(Json {{"path", request.path}, {"state", stay_paused ? "paused" : "running"},
            {"vcpus", m_vm.m_runners.size()}, {"memory_bytes", stats.memory_bytes},
            {"memory_data_bytes", stats.memory_data_bytes}, {"unsaved_devices", unsaved},
            {"elapsed_ms", std::chrono::duration<double, std::milli>(steady_clock::now() - started).count()}});
    } catch (const UserError& error) {
        answer = api::error_response(400, fmt::format("snapshot: {}", error.what()));
    } catch (const std::exception& error) {
        answer = api::error_response(500, fmt::format("snapshot: {}", error.what()));
    }
    // A failed snapshot leaves the VM as it was: running on unless it was paused before.
    if (!was_paused && !(request.leave_paused && answer.status == 200)) {
        const api::ApiResponse resumed = resume();
        if (resumed.status != 200 && answer.status == 200)
            return resumed;
    }
    return answer;
}

Json VmController::progress_json(const backup::BackupProgress& progress)
{
    return Json {{"state", backup::to_string(progress.state)}, {"path", progress.path},
        {"copied_bytes", progress.bytes_copied}, {"total_bytes", progress.bytes_total},
        {"written_bytes", progress.bytes_written}, {"guest_writes_intercepted", progress.guest_writes_intercepted},
        {"blocks_copied_before_write", progress.blocks_copied_before_write},
        {"blocks_copied_in_background", progress.blocks_copied_in_background},
        {"blocks_skipped_as_holes", progress.blocks_skipped_as_holes}, {"error", progress.error},
        {"elapsed_s", std::chrono::duration<double>(progress.elapsed).count()}};
}

Vm::DeviceEntry* VmController::find_disk(const std::string& id)
{
    for (auto& device : m_vm.m_devices)
        if (device.is_disk && device.id == id)
            return &device;
    return nullptr;
}

// ---- reports

api::ApiResponse VmController::info()
{
    const Vm& vm = m_vm;
    Json devices = Json::array();
    for (const auto& device : vm.m_devices) {
        Json entry {{"id", device.id}, {"kind", device.is_disk ? "virtio-blk" : "virtio-net"}, {"backing", device.backing}};
        if (device.is_disk) {
            device.slot->transport().with_device([&](virtio::VirtioDevice& virtio_device) {
                if (auto* blk = dynamic_cast<virtio::VirtioBlk*>(&virtio_device)) {
                    entry["capacity"] = blk->image().size_bytes();
                    entry["read_only"] = blk->image().access() == virtio::DiskAccess::ReadOnly;
                }
                return 0;
            });
        }
        if (device.gate)
            entry["limits"] = limits_json(device.gate->config(), device.is_disk ? "iops" : "pps");
        devices.push_back(std::move(entry));
    }
    std::uint64_t memory = 0;
    for (const auto& region : vm.m_memory.regions())
        memory += region.size();
    const double uptime = std::chrono::duration<double>(std::chrono::steady_clock::now() - vm.m_started).count();
    return ok(Json {{"state", state_name(m_state)}, {"vcpus", vm.m_config.cpus}, {"memory_bytes", memory},
        {"uptime_s", uptime}, {"kernel", vm.m_config.kernel_path}, {"cmdline", vm.m_config.cmdline},
        {"devices", devices}, {"limits", limits_report()}});
}

Json VmController::limits_report() const
{
    const Json report = Json::parse(limiter::format_limits_json(m_vm.limit_rows(false)), nullptr, false);
    return report.is_object() && report.contains("resources") ? report["resources"] : Json::array();
}

api::ApiResponse VmController::metrics()
{
    Json exits = Json::object();
    Json per_vcpu = Json::array();
    for (const auto& runner : m_vm.m_runners) {
        Json counts = Json::object();
        for (const auto& [name, count] : runner->exit_counts()) {
            counts[std::string(name)] = count;
            const std::uint64_t sum = exits.value(std::string(name), std::uint64_t {0});
            exits[std::string(name)] = sum + count;
        }
        per_vcpu.push_back(std::move(counts));
    }
    Json devices = Json::array();
    for (std::size_t i = 0; i < m_vm.m_devices.size(); ++i) {
        const auto& device = m_vm.m_devices[i];
        Json entry {{"id", device.id}};
        if (device.gate) {
            const auto usage = device.gate->usage();
            entry["bytes"] = usage.bytes;
            entry[device.is_disk ? "requests" : "packets"] = usage.ops;
            entry["throttled_ns"] = usage.throttled.count();
        }
        devices.push_back(std::move(entry));
    }
    // virtio-net keeps its own frame and drop counters (devices/virtio/net/net_counters.hpp).
    std::size_t net_index = 0;
    for (auto& entry : devices) {
        const auto& device = *std::find_if(m_vm.m_devices.begin(), m_vm.m_devices.end(),
            [&](const Vm::DeviceEntry& d) { return d.id == entry["id"].get<std::string>(); });
        if (device.is_disk || net_index >= m_vm.m_nets.size())
            continue;
        const virtio::NetCounters c = m_vm.m_nets[net_index++]->counters();
        entry["rx_frames"] = c.rx_packets;
        entry["rx_bytes"] = c.rx_bytes;
        entry["tx_frames"] = c.tx_packets;
        entry["tx_bytes"] = c.tx_bytes;
        entry["dropped"] = {{"tx_malformed", c.tx_dropped_malformed}, {"tx_backend", c.tx_dropped_backend},
            {"rx_too_big", c.rx_dropped_too_big}, {"rx_invalid", c.rx_dropped_invalid},
            {"rx_bad_buffers", c.rx_bad_buffers}, {"rx_backend_errors", c.rx_backend_errors}};
    }
    return ok(Json {{"state", state_name(m_state)}, {"exits", exits}, {"vcpu_exits", per_vcpu}, {"devices", devices},
        {"limits", limits_report()}});
}

} // namespace minivmm::vm
