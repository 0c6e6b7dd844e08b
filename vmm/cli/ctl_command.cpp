// `minivmm ctl` (ctl_command.hpp): each verb builds its request body, sends it with
// http_request() and prints the answer; the API's error line is printed as the one error line.
#include "vmm/cli/ctl_command.hpp"

#include <unistd.h>

#include <charconv>
#include <chrono>
#include <filesystem>
#include <thread>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "vmm/base/sys_error.hpp"
#include "vmm/cli/ctl_client.hpp"
#include "vmm/limiter/cpu_allocation.hpp"

namespace minivmm::cli {

namespace {

using Json = nlohmann::json;

// "ID,bw=8M,iops=100" -> {"ID": {"bw": "8M", "iops": 100}}; `ops_key` is iops or pps.
std::pair<std::string, Json> device_limits(const std::string& text, std::string_view option, std::string_view ops_key)
{
    std::string_view rest = text;
    const auto comma = rest.find(',');
    const std::string id(rest.substr(0, comma));
    if (id.empty() || id.find('=') != std::string::npos || comma == std::string_view::npos)
        throw CLI::ValidationError(std::string(option), fmt::format("'{}': expected ID,bw=SIZE,{}=N", text, ops_key));
    rest.remove_prefix(comma + 1);
    Json limits = Json::object();
    while (!rest.empty()) {
        const auto next = rest.find(',');
        const std::string_view item = rest.substr(0, next);
        rest = next == std::string_view::npos ? std::string_view {} : rest.substr(next + 1);
        const auto equals = item.find('=');
        const std::string_view key = item.substr(0, equals);
        const std::string_view value = equals == std::string_view::npos ? std::string_view {} : item.substr(equals + 1);
        if (key == "bw" && !value.empty()) {
            limits["bw"] = std::string(value);
        } else if (key == ops_key && !value.empty()) {
            std::uint64_t count = 0;
            const auto [end, error] = std::from_chars(value.data(), value.data() + value.size(), count);
            if (error != std::errc {} || end != value.data() + value.size())
                throw CLI::ValidationError(std::string(option), fmt::format("{}={} is not a whole number", key, value));
            limits[std::string(ops_key)] = count;
        } else {
            throw CLI::ValidationError(std::string(option), fmt::format("'{}': expected bw=SIZE or {}=N", item, ops_key));
        }
    }
    return {id, limits};
}

void print_error_answer(const HttpAnswer& answer)
{
    const Json body = Json::parse(answer.body, nullptr, false);
    const std::string message = body.is_object() && body.contains("error") && body["error"].is_string()
        ? body["error"].get<std::string>()
        : answer.body;
    fmt::print(stderr, "minivmm: error: {} (HTTP {})\n", message, answer.status);
}

// Prints a successful answer: pretty JSON for reports, one line for the rest.
void print_answer(const HttpAnswer& answer, bool pretty)
{
    const Json body = Json::parse(answer.body, nullptr, false);
    if (body.is_discarded())
        fmt::print("{}\n", answer.body);
    else
        fmt::print("{}\n", body.dump(pretty ? 2 : -1, ' ', false, nlohmann::json::error_handler_t::replace));
}

} // namespace

CtlCommand::CtlCommand(CLI::App& app)
{
    m_command = app.add_subcommand("ctl", "Control a running VM through its --api-socket");
    m_command->add_option("socket", m_socket, "The VM's --api-socket path")->required();
    m_command->require_subcommand(1);
    m_info = m_command->add_subcommand("info", "Print the VM's state, devices and limits (JSON)");
    m_pause = m_command->add_subcommand("pause", "Pause the VM (every vCPU parked, I/O drained)");
    m_resume = m_command->add_subcommand("resume", "Resume a paused VM");
    m_shutdown = m_command->add_subcommand("shutdown", "Send Ctrl-Alt-Del; stop the VM if it has not ended in time");
    m_shutdown->add_option("--timeout", m_timeout, "Seconds before the VM is stopped (default 30)");
    m_stop = m_command->add_subcommand("stop", "End the VM now (disks flushed)");
    m_metrics = m_command->add_subcommand("metrics", "Print exits, device I/O and limiter figures (JSON)");
    m_limits = m_command->add_subcommand("limits", "Change limits live");
    m_limits->add_option("--cpu-limit", m_cpu_limit, "Host CPUs the VM may use, or 'none'");
    m_limits->add_option("--vcpu-priority", m_vcpu_priority, "Relative shares per vCPU, e.g. 1,3");
    m_limits->add_option("--disk", m_disk_limits, "ID,bw=SIZE,iops=N (0 removes a limit)");
    m_limits->add_option("--net", m_net_limits, "ID,bw=SIZE,pps=N (0 removes a limit)");
    m_disk_resize = m_command->add_subcommand("disk-resize", "Grow a disk online");
    m_disk_resize->add_option("id", m_disk_id, "Disk id (blk0, ...)")->required();
    m_disk_resize->add_option("size", m_size, "New size, e.g. 16M")->required();
    m_disk_backup = m_command->add_subcommand("disk-backup", "Back a disk up online (point in time)");
    m_disk_backup->add_option("id", m_disk_id, "Disk id (blk0, ...)")->required();
    m_disk_backup->add_option("destination", m_destination, "Backup file (absolute path; must not exist)")->required();
    m_disk_backup->add_option("--bandwidth", m_bandwidth, "Copy rate limit, e.g. 8M (per second)");
    m_disk_backup->add_flag("--no-wait", m_no_wait, "Return once the backup has started");
    m_snapshot = m_command->add_subcommand("snapshot", "Save the running VM to DIR (memory and vmstate); resume it");
    m_snapshot->add_option("dir", m_snapshot_dir, "Snapshot directory (created; must not hold a snapshot)")->required();
    m_snapshot->add_flag("--leave-paused", m_leave_paused, "Leave the VM paused after the snapshot");
}

int CtlCommand::run() const
{
    try {
        return run_verb();
    } catch (const CtlError& error) {
        fmt::print(stderr, "minivmm: error: {}\n", error.what());
        return static_cast<int>(error.code());
    } catch (const CLI::ValidationError& error) {
        fmt::print(stderr, "minivmm: error: {} (see 'minivmm ctl --help')\n", error.what());
        return static_cast<int>(CtlExit::Usage);
    }
}

int CtlCommand::run_verb() const
{
    std::string method, path;
    Json body;
    bool pretty = false;
    if (m_info->parsed()) {
        method = "GET", path = "/v1/vm", pretty = true;
    } else if (m_metrics->parsed()) {
        method = "GET", path = "/v1/metrics", pretty = true;
    } else if (m_pause->parsed() || m_resume->parsed()) {
        method = "PUT", path = "/v1/vm/state";
        body = {{"state", m_pause->parsed() ? "paused" : "running"}};
    } else if (m_shutdown->parsed() || m_stop->parsed()) {
        method = "PUT", path = "/v1/vm/actions";
        body = {{"action", m_stop->parsed() ? "stop" : "shutdown"}};
        if (m_shutdown->parsed() && m_shutdown->count("--timeout"))
            body["timeout_s"] = m_timeout;
    } else if (m_limits->parsed()) {
        method = "PATCH", path = "/v1/limits";
        body = Json::object();
        if (!m_cpu_limit.empty()) {
            try {
                body["cpu_limit"] = m_cpu_limit == "none" ? Json(nullptr) : Json(limiter::parse_cpu_limit(m_cpu_limit));
            } catch (const UserError& error) {
                throw CLI::ValidationError("--cpu-limit", error.what());
            }
        }
        if (!m_vcpu_priority.empty()) {
            try {
                body["vcpu_priority"] = limiter::parse_vcpu_priorities(m_vcpu_priority);
            } catch (const UserError& error) {
                throw CLI::ValidationError("--vcpu-priority", error.what());
            }
        }
        for (const auto& text : m_disk_limits) {
            auto [id, limits] = device_limits(text, "--disk", "iops");
            body["disks"][id] = limits;
        }
        for (const auto& text : m_net_limits) {
            auto [id, limits] = device_limits(text, "--net", "pps");
            body["nets"][id] = limits;
        }
        if (body.empty())
            throw CLI::ValidationError("limits", "nothing to change: give --cpu-limit, --vcpu-priority, --disk or --net");
    } else if (m_disk_resize->parsed()) {
        method = "PATCH", path = fmt::format("/v1/disks/{}", m_disk_id);
        body = {{"size", m_size}};
    } else if (m_disk_backup->parsed()) {
        method = "POST", path = fmt::format("/v1/disks/{}/backup", m_disk_id);
        body = {{"path", m_destination}};
        if (!m_bandwidth.empty())
            body["bandwidth"] = m_bandwidth;
    } else if (m_snapshot->parsed()) {
        method = "POST", path = "/v1/vm/snapshot";
        // The API takes absolute paths only: a relative DIR is the client's, not the VMM's.
        body = {{"path", std::filesystem::absolute(m_snapshot_dir).lexically_normal().string()}};
        if (m_leave_paused)
            body["leave_paused"] = true;
    } else {
        throw CLI::ValidationError("ctl", "no verb given");
    }
    const HttpAnswer answer = http_request(m_socket, method, path, body.is_null() ? std::string {} : body.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (answer.status >= 400) {
        print_error_answer(answer);
        return static_cast<int>(CtlExit::ErrorAnswer);
    }
    if (m_disk_backup->parsed() && !m_no_wait)
        return wait_for_backup();
    print_answer(answer, pretty);
    return static_cast<int>(CtlExit::Ok);
}

int CtlCommand::wait_for_backup() const
{
    // A bar redrawn in place on a terminal; one progress line per second otherwise.
    const bool terminal = ::isatty(STDERR_FILENO) == 1;
    const std::string path = fmt::format("/v1/disks/{}/backup", m_disk_id);
    for (;;) {
        const HttpAnswer answer = http_request(m_socket, "GET", path);
        if (answer.status >= 400) {
            print_error_answer(answer);
            return static_cast<int>(CtlExit::ErrorAnswer);
        }
        const Json progress = Json::parse(answer.body, nullptr, false);
        const std::string state = progress.is_object() ? progress.value("state", std::string {}) : std::string {};
        const std::uint64_t copied = progress.is_object() ? progress.value("copied_bytes", std::uint64_t {0}) : 0;
        const std::uint64_t total = progress.is_object() ? progress.value("total_bytes", std::uint64_t {0}) : 0;
        const int percent = total ? static_cast<int>(copied * 100 / total) : 0;
        if (terminal) {
            constexpr int kWidth = 40;
            fmt::print(stderr, "\rbackup {} [{}{}] {:3}%", m_disk_id, std::string(std::size_t(percent * kWidth / 100), '#'),
                std::string(std::size_t(kWidth - percent * kWidth / 100), ' '), percent);
        } else {
            fmt::print(stderr, "backup {}: {} {}% ({} of {} bytes)\n", m_disk_id, state, percent, copied, total);
        }
        if (state != "running") {
            if (terminal)
                fmt::print(stderr, "\n");
            if (state == "completed") {
                print_answer(answer, false);
                return static_cast<int>(CtlExit::Ok);
            }
            fmt::print(stderr, "minivmm: error: backup {}: {}\n", state,
                progress.is_object() ? progress.value("error", std::string {"unknown failure"}) : answer.body);
            return static_cast<int>(CtlExit::ErrorAnswer);
        }
        std::this_thread::sleep_for(terminal ? std::chrono::milliseconds(200) : std::chrono::seconds(1));
    }
}

} // namespace minivmm::cli
