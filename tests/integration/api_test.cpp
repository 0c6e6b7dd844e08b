// The control API end to end on /dev/kvm (README.md, "API"): `minivmm run --api-socket` with
// real test guests, driven by `minivmm ctl` and by raw HTTP on the socket. Pause is checked
// from outside (vCPU thread CPU time in /proc, the guest's serial output), stop and shutdown by
// `minivmm run`'s exit status, live limits by the CPU share the vCPU threads really get.
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/proc_threads.hpp"
#include "tests/support/unix_http.hpp"

using namespace minivmm::testing;
using namespace std::chrono_literals;
using Json = nlohmann::json;

namespace {

constexpr auto kBootTimeout = 30s;
// The documented exit codes (README.md, "Exit codes" and "API").
constexpr int kExitApiStop = 123;
constexpr int kExitShutdownTimeout = 125;
constexpr int kCtlErrorAnswer = 1;
constexpr int kCtlUsage = 2;
constexpr int kCtlNoSocket = 3;
constexpr int kCtlVmEnded = 4;

ProcessResult ctl(const std::string& socket, std::vector<std::string> verb)
{
    std::vector<std::string> argv {minivmm_binary(), "ctl", socket};
    argv.insert(argv.end(), verb.begin(), verb.end());
    ProcessOptions options;
    options.timeout = 30s;
    ProcessResult result = run_process(argv, options);
    INFO("ctl stdout: " << result.out << "\nctl stderr: " << result.err);
    REQUIRE_FALSE(result.timed_out);
    return result;
}

// A VM with the API on a socket in a scratch directory, stopped with SIGKILL if a test leaves it.
struct ApiVm {
    TempDir dir;
    std::string socket = dir.file("api.sock");
    std::unique_ptr<BackgroundProcess> vmm;

    ApiVm(const std::string& guest, std::vector<std::string> args)
    {
        std::vector<std::string> argv {minivmm_binary(), "run", "--kernel", testguest(guest), "--api-socket", socket};
        argv.insert(argv.end(), args.begin(), args.end());
        vmm = std::make_unique<BackgroundProcess>(argv, /*new_session=*/true);
    }
    void wait_for(const std::string& line)
    {
        const auto found = vmm->wait_for_line(line, kBootTimeout);
        INFO("stdout: " << vmm->out() << "\nstderr: " << vmm->err());
        REQUIRE(found);
    }
};

Json json_of(const std::string& text)
{
    INFO(text);
    Json json = Json::parse(text, nullptr, false);
    REQUIRE(json.is_object());
    return json;
}

std::size_t tick_lines(const BackgroundProcess& vmm, const std::string& prefix)
{
    std::size_t count = 0;
    for (const auto& line : vmm.lines())
        if (line.text.rfind(prefix, 0) == 0)
            ++count;
    return count;
}

double total_cpu(pid_t pid, const std::map<std::string, std::string>& threads)
{
    double total = 0;
    for (const auto& [name, tid] : threads)
        total += thread_cpu_seconds(pid, tid).value_or(0);
    return total;
}

} // namespace

TEST_CASE("api: pause parks both spinning vCPUs and stops the guest, resume continues both", "[api][pause]")
{
    if (!kvm_available())
        return;
    ApiVm vm("smp", {"--cpus", "2", "--cmdline", "smp.then=tick"});
    vm.wait_for("smp: all cpus ticking");
    REQUIRE(vm.vmm->wait_for_line_starting("tick cpu 1 ", kBootTimeout));
    REQUIRE(vm.vmm->wait_for_line_starting("tick cpu 0 ", kBootTimeout));

    const ProcessResult paused = ctl(vm.socket, {"pause"});
    CHECK(paused.exit_status == 0);
    CHECK(json_of(paused.out)["state"] == "paused");

    // Whatever the guest printed before the pause answer is in the pipe by now; from here on
    // nothing may come, and the vCPU threads must not run, over more than a second.
    vm.vmm->read_for(200ms);
    const auto threads = threads_named(vm.vmm->pid(), "vcpu");
    REQUIRE(threads.size() == 2);
    const std::size_t ticks_before = tick_lines(*vm.vmm, "tick cpu ");
    const double cpu_before = total_cpu(vm.vmm->pid(), threads);
    const auto start = std::chrono::steady_clock::now();
    vm.vmm->read_for(1200ms);
    const double cpu_after = total_cpu(vm.vmm->pid(), threads);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    INFO("vCPU CPU time while paused: " << (cpu_after - cpu_before) << " s over " << wall << " s");
    CHECK(wall >= 1.0);
    CHECK(cpu_after - cpu_before <= 0.02); // two clock ticks of slack for the /proc granularity
    CHECK(tick_lines(*vm.vmm, "tick cpu ") == ticks_before);

    const ProcessResult again = ctl(vm.socket, {"pause"});
    CHECK(again.exit_status == kCtlErrorAnswer);
    CHECK(again.err == "minivmm: error: cannot pause a VM that is paused: it is already paused (HTTP 409)\n");
    CHECK(json_of(ctl(vm.socket, {"info"}).out)["state"] == "paused");

    const ProcessResult resumed = ctl(vm.socket, {"resume"});
    CHECK(resumed.exit_status == 0);
    CHECK(json_of(resumed.out)["state"] == "running");
    const std::size_t cpu0 = tick_lines(*vm.vmm, "tick cpu 0 ");
    const std::size_t cpu1 = tick_lines(*vm.vmm, "tick cpu 1 ");
    const auto deadline = std::chrono::steady_clock::now() + 20s;
    while ((tick_lines(*vm.vmm, "tick cpu 0 ") == cpu0 || tick_lines(*vm.vmm, "tick cpu 1 ") == cpu1)
        && std::chrono::steady_clock::now() < deadline)
        vm.vmm->read_for(50ms);
    CHECK(tick_lines(*vm.vmm, "tick cpu 0 ") > cpu0);
    CHECK(tick_lines(*vm.vmm, "tick cpu 1 ") > cpu1);

    const ProcessResult running = ctl(vm.socket, {"resume"});
    CHECK(running.exit_status == kCtlErrorAnswer);
    CHECK(running.err.find("(HTTP 409)") != std::string::npos);

    const ProcessResult end = vm.vmm->stop(SIGTERM);
    CHECK(end.exit_status == 128 + SIGTERM);
}

TEST_CASE("api: stop ends a running or paused VM with the documented status and removes the socket", "[api][stop]")
{
    if (!kvm_available())
        return;
    for (const bool pause_first : {false, true}) {
        INFO("paused first: " << pause_first);
        ApiVm vm("spin", {});
        vm.wait_for("spin: spinning forever");
        struct stat status {};
        REQUIRE(::lstat(vm.socket.c_str(), &status) == 0);
        CHECK((status.st_mode & 0777) == 0600);
        if (pause_first)
            REQUIRE(ctl(vm.socket, {"pause"}).exit_status == 0);
        const ProcessResult stopped = ctl(vm.socket, {"stop"});
        CHECK(stopped.exit_status == 0);
        CHECK(json_of(stopped.out)["state"] == "stopping");
        const ProcessResult end = vm.vmm->wait(20s);
        INFO("stderr: " << end.err);
        CHECK(end.exit_status == kExitApiStop);
        CHECK(has_line(end.err, "minivmm: stopped through the control API"));
        CHECK_FALSE(std::filesystem::exists(vm.socket));
        // The VM is gone: the client says so with its own code.
        const ProcessResult after = ctl(vm.socket, {"info"});
        CHECK(after.exit_status == kCtlNoSocket);
        CHECK(lines_of(after.err).size() == 1);
    }
}

TEST_CASE("api: shutdown reaches a guest that handles Ctrl-Alt-Del, and stops one that ignores it", "[api][shutdown]")
{
    if (!kvm_available())
        return;
    SECTION("handled: the guest resets, minivmm exits 0")
    {
        ApiVm vm("ctrl-alt-del", {});
        vm.wait_for("cad: waiting for ctrl-alt-del");
        const ProcessResult asked = ctl(vm.socket, {"shutdown"});
        CHECK(asked.exit_status == 0);
        CHECK(json_of(asked.out)["state"] == "shutting_down");
        const ProcessResult end = vm.vmm->wait(20s);
        INFO("stdout: " << end.out << "\nstderr: " << end.err);
        CHECK(has_line(end.out, "cad: got ctrl-alt-del, resetting"));
        CHECK(end.exit_status == 0);
    }
    SECTION("ignored: stopped at the timeout with its own status")
    {
        ApiVm vm("ctrl-alt-del", {"--cmdline", "cad.mode=ignore"});
        vm.wait_for("cad: waiting for ctrl-alt-del (ignoring it)");
        const auto asked_at = std::chrono::steady_clock::now();
        CHECK(ctl(vm.socket, {"shutdown", "--timeout", "1"}).exit_status == 0);
        CHECK(vm.vmm->wait_for_line("cad: ignored ctrl-alt-del", 10s));
        // A second shutdown while one is in progress is refused.
        CHECK(ctl(vm.socket, {"shutdown"}).exit_status == kCtlErrorAnswer);
        const ProcessResult end = vm.vmm->wait(20s);
        const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - asked_at).count();
        INFO("stderr: " << end.err);
        CHECK(end.exit_status == kExitShutdownTimeout);
        CHECK(waited >= 1.0);
        CHECK(end.err.find("did not shut down within 1 s of Ctrl-Alt-Del") != std::string::npos);
    }
}

TEST_CASE("api: malformed requests get one-line JSON errors; info names every device", "[api][http]")
{
    if (!kvm_available())
        return;
    TempDir disks;
    const std::string disk_a = disks.file("a.img"), disk_b = disks.file("b.img");
    for (const auto& [path, size] : {std::pair {disk_a, 1 << 20}, std::pair {disk_b, 2 << 20}}) {
        std::ofstream {path}.flush();
        std::filesystem::resize_file(path, size);
    }
    ApiVm vm("spin", {"--disk", "path=" + disk_a, "--disk", "path=" + disk_b + ",id=data,bw=1M"});
    vm.wait_for("spin: spinning forever");

    const auto info = http_call(vm.socket, "GET", "/v1/vm");
    REQUIRE(info);
    CHECK(info->status == 200);
    const Json vm_info = json_of(info->body);
    CHECK(vm_info["state"] == "running");
    CHECK(vm_info["vcpus"] == 1);
    CHECK(vm_info["kernel"] == testguest("spin"));
    REQUIRE(vm_info["devices"].size() == 2);
    CHECK(vm_info["devices"][0]["id"] == "blk0");
    CHECK(vm_info["devices"][0]["kind"] == "virtio-blk");
    CHECK(vm_info["devices"][0]["backing"] == disk_a);
    CHECK(vm_info["devices"][0]["capacity"] == 1 << 20);
    CHECK(vm_info["devices"][1]["id"] == "data");
    CHECK(vm_info["devices"][1]["limits"]["bw"] == 1 << 20);
    CHECK(vm_info["limits"].is_array());

    const auto expect_error = [&](const std::optional<HttpReply>& reply, int status) {
        REQUIRE(reply);
        INFO(reply->body);
        CHECK(reply->status == status);
        const Json body = json_of(reply->body);
        REQUIRE(body.contains("error"));
        CHECK(body["error"].get<std::string>().find('\n') == std::string::npos);
    };
    expect_error(http_call(vm.socket, "PUT", "/v1/vm/state", "{\"state\":"), 400);
    expect_error(http_call(vm.socket, "PUT", "/v1/vm/state", "{\"state\":1}"), 400);
    expect_error(http_call(vm.socket, "PUT", "/v1/vm/state", "{\"state\":\"paused\",\"now\":true}"), 400);
    expect_error(http_call(vm.socket, "GET", "/v1/nothing"), 404);
    expect_error(http_call(vm.socket, "PATCH", "/v1/limits", "{\"disks\":{\"blk9\":{\"bw\":\"1M\"}}}"), 404);
    expect_error(http_call(vm.socket, "PATCH", "/v1/limits", "{\"nets\":{\"data\":{\"bw\":\"1M\"}}}"), 404);
    // Over 64 KiB: refused from its Content-Length, and when it arrives without one (chunked).
    expect_error(http_call(vm.socket, "PUT", "/v1/vm/state", std::string(70 * 1024, ' ')), 400);
    std::string chunked = "PUT /v1/vm/state HTTP/1.1\r\nHost: x\r\nConnection: close\r\nTransfer-Encoding: chunked\r\n\r\n";
    for (int i = 0; i < 20; ++i)
        chunked += "1000\r\n" + std::string(0x1000, ' ') + "\r\n";
    chunked += "0\r\n\r\n";
    expect_error(http_exchange(vm.socket, chunked), 400);
    // Still serving, still running: a refused request changed nothing.
    CHECK(json_of(http_call(vm.socket, "GET", "/v1/vm")->body)["state"] == "running");

    // Limits change live and show in info; the device ids are those of the report.
    const auto changed = http_call(vm.socket, "PATCH", "/v1/limits", "{\"disks\":{\"blk0\":{\"bw\":\"8M\",\"iops\":100},\"data\":{\"bw\":0}}}");
    REQUIRE(changed);
    CHECK(changed->status == 200);
    const Json after = json_of(http_call(vm.socket, "GET", "/v1/vm")->body);
    CHECK(after["devices"][0]["limits"]["bw"] == 8 << 20);
    CHECK(after["devices"][0]["limits"]["iops"] == 100);
    CHECK(after["devices"][1]["limits"]["bw"].is_null());
    const Json metrics = json_of(ctl(vm.socket, {"metrics"}).out);
    CHECK(metrics["exits"]["io"].get<std::uint64_t>() > 0);
    CHECK(metrics["devices"][1]["id"] == "data");

    CHECK(vm.vmm->stop(SIGTERM).exit_status == 128 + SIGTERM);
    CHECK_FALSE(std::filesystem::exists(vm.socket));
}

TEST_CASE("api: the socket never replaces a file; ctl reports missing sockets, ended VMs and bad verbs", "[api][socket]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string occupied = dir.file("occupied");
    std::ofstream(occupied) << "keep me";
    const ProcessResult refused = run_vmm({"--kernel", testguest("hello"), "--api-socket", occupied});
    check_one_error_line(refused, "exists and is not a socket");
    CHECK(std::filesystem::file_size(occupied) == 7);

    // A socket file nobody serves (a VM killed with SIGKILL leaves one): "the VM has ended".
    const std::string stale = dir.file("stale.sock");
    {
        const int fd = ::socket(AF_UNIX, SOCK_STREAM, 0);
        sockaddr_un address {};
        address.sun_family = AF_UNIX;
        std::strcpy(address.sun_path, stale.c_str());
        REQUIRE(::bind(fd, reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0);
        ::close(fd);
    }
    CHECK(ctl(stale, {"info"}).exit_status == kCtlVmEnded);
    CHECK(ctl(dir.file("missing.sock"), {"info"}).exit_status == kCtlNoSocket);
    CHECK(ctl(stale, {"explode"}).exit_status == kCtlUsage);
    CHECK(ctl(stale, {"limits"}).exit_status == kCtlUsage);
    CHECK(ctl(stale, {"limits", "--disk", "blk0,speed=1"}).exit_status == kCtlUsage);

    // --api-socket replaces the stale socket and serves; the hello guest ends by itself.
    const ProcessResult served = run_vmm({"--kernel", testguest("hello"), "--api-socket", stale});
    CHECK(served.exit_status == 0);
    CHECK_FALSE(std::filesystem::exists(stale));
}

TEST_CASE("api: limits --cpu-limit changes the vCPUs' share live", "[api][limits]")
{
    if (!kvm_available())
        return;
    ApiVm vm("smp", {"--cpus", "2", "--cmdline", "smp.then=spin"});
    vm.wait_for("smp: all cpus spinning");
    // As the limiter's tests do: the VMM at nice -15 in its own session, so the share measured
    // is the limiter's, not what a loaded shared host leaves over.
    if (!raise_process_priority(vm.vmm->pid(), -15))
        WARN("could not raise the VMM's priority (needs CAP_SYS_NICE): shares depend on the host's load");
    const ProcessResult changed = ctl(vm.socket, {"limits", "--cpu-limit", "0.5"});
    CHECK(changed.exit_status == 0);
    const Json limits = json_of(changed.out);
    CHECK(limits["cpu_limit"] == 0.5);
    CHECK(limits["vcpus"][0]["share"] == 0.25);
    std::this_thread::sleep_for(300ms); // a few periods at the new share before measuring
    const auto threads = threads_named(vm.vmm->pid(), "vcpu");
    REQUIRE(threads.size() == 2);
    std::map<std::string, double> before;
    for (const auto& [name, tid] : threads)
        before[name] = thread_cpu_seconds(vm.vmm->pid(), tid).value_or(0);
    const auto start = std::chrono::steady_clock::now();
    std::this_thread::sleep_for(3s);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto& [name, tid] : threads) {
        const double share = (thread_cpu_seconds(vm.vmm->pid(), tid).value_or(0) - before[name]) / wall;
        INFO(name << " share " << share);
        CHECK(share == Approx(0.25).margin(0.05)); // the limiter tests' 5-point tolerance
    }
    // Lifted again: no limit, every share 1.
    const Json lifted = json_of(ctl(vm.socket, {"limits", "--cpu-limit", "none"}).out);
    CHECK(lifted["cpu_limit"].is_null());
    CHECK(lifted["vcpus"][1]["share"] == 1.0);
    CHECK(vm.vmm->stop(SIGTERM).exit_status == 128 + SIGTERM);
}
