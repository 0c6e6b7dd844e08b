// The resource limiter end to end on /dev/kvm (DESIGN.md, "Resource limiter: the allocation
// formulas"): the CPU share each spinning vCPU thread really gets, measured by this test from
// /proc (never from the VMM's own report); the I/O rate between the blkbench guest's console
// markers; the memory policies; the report and metrics; and the refusal of invalid limits.
//
// Measurements on a shared, software-emulated host are noisy, so every figure is taken over a
// window of seconds and the tolerances are the issue's (5 points for CPU shares, 10% for I/O
// times). This file's ctest runs alone (RUN_SERIAL in tests/CMakeLists.txt) so other tests do
// not compete for the CPUs it measures.
#include <dirent.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

#include "tests/integration/vmm_harness.hpp"
#include "tests/support/background_process.hpp"
#include "tests/support/proc_threads.hpp"

using namespace minivmm::testing;
using namespace std::chrono_literals;

namespace {

constexpr auto kBootTimeout = 30s;
// Long enough for the 5-point tolerance: one clock tick (10 ms) is 0.2 points of 5 s.
constexpr auto kCpuWindow = 5s;
constexpr double kCpuTolerance = 0.05; // 5 points of one host CPU
constexpr int kSigtermStatus = 128 + SIGTERM;

// --- /proc sampling ----------------------------------------------------------------------

std::string read_text(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}

// Voluntary context switches of one thread (/proc/PID/task/TID/status): a thread that never
// sleeps (a vCPU spinning without exits and without a throttle) adds none.
long voluntary_switches(pid_t pid, const std::string& tid)
{
    std::istringstream status(read_text("/proc/" + std::to_string(pid) + "/task/" + tid + "/status"));
    for (std::string line; std::getline(status, line);)
        if (line.rfind("voluntary_ctxt_switches:", 0) == 0)
            return std::stol(line.substr(line.find(':') + 1));
    return -1;
}

struct VcpuSample {
    double share = 0;             // CPU seconds per wall second over the window
    long voluntary_switches = 0;  // during the window
};

// Each vCPU thread's share of one host CPU: (utime + stime) at the end of the window less at
// its start, divided by the wall time between the two samples.
std::map<std::string, VcpuSample> measure_vcpu_shares(pid_t pid, std::chrono::milliseconds window)
{
    const auto threads = threads_named(pid, "vcpu");
    std::map<std::string, double> cpu_before;
    std::map<std::string, long> switches_before;
    const auto start = std::chrono::steady_clock::now();
    for (const auto& [name, tid] : threads) {
        cpu_before[name] = thread_cpu_seconds(pid, tid).value_or(NAN);
        switches_before[name] = voluntary_switches(pid, tid);
    }
    std::this_thread::sleep_for(window);
    std::map<std::string, VcpuSample> shares;
    std::map<std::string, double> cpu_after;
    for (const auto& [name, tid] : threads)
        cpu_after[name] = thread_cpu_seconds(pid, tid).value_or(NAN);
    const double wall = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    for (const auto& [name, tid] : threads)
        shares[name] = {(cpu_after[name] - cpu_before[name]) / wall,
            voluntary_switches(pid, tid) - switches_before[name]};
    return shares;
}

// The shares are measured against whatever else the 2 shared host CPUs run (often a dozen
// compilers). So the VMM, started in a session of its own (its own scheduler autogroup), gets
// that autogroup and each of its threads at nice -15 (as root; a warning otherwise): a weight of
// 29154 against 1024 for each busy nice-0 session (or thread, without autogroups). The VM then
// gets the CPU time it asks for, and what the test sees is the limiter, not the neighbours. A
// throttled vCPU still sleeps out its periods, so this takes nothing the limit does not allow.
constexpr int kMeasureNice = -15;

void raise_priority(pid_t pid)
{
    if (!raise_process_priority(pid, kMeasureNice))
        WARN("could not raise the VMM's priority (needs CAP_SYS_NICE): shares depend on the host's load");
}

std::string host_load()
{
    std::string load = read_text("/proc/loadavg");
    if (!load.empty() && load.back() == '\n')
        load.pop_back();
    return load;
}

// Boots the smp guest with every vCPU spinning without exits under `limit_args`, waits for
// `smp: all cpus spinning`, measures each vCPU thread over kCpuWindow, then stops the VMM with
// SIGTERM and checks it ended as a signalled VM does.
std::map<std::string, VcpuSample> spinning_vcpu_shares(std::vector<std::string> limit_args)
{
    std::vector<std::string> argv {minivmm_binary(), "run", "--kernel", testguest("smp"), "--cpus", "2",
        "--cmdline", "smp.then=spin"};
    argv.insert(argv.end(), limit_args.begin(), limit_args.end());
    BackgroundProcess vmm(argv, /*new_session=*/true);
    const auto marker = vmm.wait_for_line("smp: all cpus spinning", kBootTimeout);
    INFO("stdout: " << vmm.out() << "\nstderr: " << vmm.err());
    REQUIRE(marker);
    raise_priority(vmm.pid());
    std::this_thread::sleep_for(300ms); // a few periods at the new priority before measuring
    auto shares = measure_vcpu_shares(vmm.pid(), kCpuWindow);
    const ProcessResult result = vmm.stop(SIGTERM);
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK_FALSE(result.timed_out);
    CHECK(result.exit_status == kSigtermStatus);
    REQUIRE(shares.size() == 2);
    REQUIRE(shares.count("vcpu0") == 1);
    REQUIRE(shares.count("vcpu1") == 1);
    return shares;
}

std::string describe(const std::map<std::string, VcpuSample>& shares)
{
    std::string text;
    for (const auto& [name, sample] : shares)
        text += name + " " + std::to_string(sample.share * 100) + "% (" + std::to_string(sample.voluntary_switches)
            + " sleeps) ";
    return text + "| loadavg " + host_load();
}

// --- I/O -----------------------------------------------------------------------------------

constexpr std::uint64_t MiB = 1024 * 1024;

// A sparse raw image (its content does not matter to blkbench's reads), removed at the end.
class SparseDisk {
public:
    explicit SparseDisk(std::uint64_t size)
    {
        char name[] = "/tmp/minivmm-limiter-disk-XXXXXX";
        const int fd = ::mkstemp(name);
        REQUIRE(fd >= 0);
        m_path = name;
        REQUIRE(::ftruncate(fd, static_cast<off_t>(size)) == 0);
        ::close(fd);
    }
    ~SparseDisk() { ::unlink(m_path.c_str()); }
    SparseDisk(const SparseDisk&) = delete;
    SparseDisk& operator=(const SparseDisk&) = delete;
    [[nodiscard]] const std::string& path() const { return m_path; }

private:
    std::string m_path;
};

// Runs blkbench with `keys` on `disk_spec` and returns the seconds from the arrival of the
// `blkbench: start` line to the arrival of `blkbench: stop` (boot, setup and exit excluded).
double blkbench_io_seconds(const std::string& disk_spec, const std::string& keys, const std::string& done_line)
{
    BackgroundProcess vmm({minivmm_binary(), "run", "--kernel", testguest("blkbench"), "--memory", "128M",
        "--cmdline", keys, "--disk", disk_spec});
    const auto start = vmm.wait_for_line("blkbench: start", kBootTimeout);
    const auto stop = vmm.wait_for_line("blkbench: stop", 60s);
    const ProcessResult result = vmm.wait(30s);
    INFO("command: --disk " << disk_spec << " --cmdline '" << keys << "'\nstdout: " << result.out
                            << "\nstderr: " << result.err);
    REQUIRE(start);
    REQUIRE(stop);
    CHECK(result.exit_status == 0);
    CHECK(has_line(result.out, done_line));
    return std::chrono::duration<double>(stop->arrived - start->arrived).count();
}

// --- errors ----------------------------------------------------------------------------------


std::string hex16(std::uint64_t value)
{
    char text[32];
    std::snprintf(text, sizeof text, "0x%016llx", static_cast<unsigned long long>(value));
    return text;
}

} // namespace

// ---------------------------------------------------------------------------------------------
// CPU: S_schedule,j = S_priority,j * g, g = min(1, S_limit / sum(S_priority), S_available / sum)

TEST_CASE("cpu: --cpu-limit 0.5 on two spinning vCPUs gives each 25% of a host CPU (g = 0.5 / 2)", "[limiter][cpu]")
{
    if (!kvm_available())
        return;
    const auto shares = spinning_vcpu_shares({"--cpu-limit", "0.5"});
    INFO("measured: " << describe(shares));
    for (const auto& [name, sample] : shares) {
        INFO(name);
        CHECK(std::fabs(sample.share - 0.25) <= kCpuTolerance);
    }
}

TEST_CASE("cpu: --vcpu-priority 1,3 --cpu-limit 0.5 splits the limit 1:3, 12.5% and 37.5%", "[limiter][cpu]")
{
    if (!kvm_available())
        return;
    const auto shares = spinning_vcpu_shares({"--cpu-limit", "0.5", "--vcpu-priority", "1,3"});
    INFO("measured: " << describe(shares));
    CHECK(std::fabs(shares.at("vcpu0").share - 0.125) <= kCpuTolerance);
    CHECK(std::fabs(shares.at("vcpu1").share - 0.375) <= kCpuTolerance);
}

TEST_CASE("cpu: without --cpu-limit spinning vCPUs are not throttled", "[limiter][cpu]")
{
    if (!kvm_available())
        return;
    const auto shares = spinning_vcpu_shares({});
    INFO("measured: " << describe(shares));
    // What the host can give: 2 CPUs, 2 vCPU threads that never block. Alone, each would get a
    // whole CPU (100%). Neighbours take their part: with G busy nice-0 sessions besides the VMM's
    // (raise_priority: its autogroup at nice -15, weight w = 29154), each vCPU gets
    // w / (w + 1024 G) of a CPU: 100% for G = 0, 83% for G = 6 (a load average of ~15 here),
    // still above 60% up to G = 18. 50% is the line that matters: it is exactly what a limit of
    // one host CPU (--cpu-limit 1) leaves each of 2 vCPUs, and a broken limiter that throttled
    // at that limit measured 49.997% here. "Clearly above" is therefore 60%: 10 points (twice
    // the CPU tests' tolerance) clear of it. The check that does not depend on the host's load
    // at all: an unthrottled vCPU spinning without exits never sleeps (no voluntary context
    // switch), where a throttled one sleeps once per 100 ms period (~50 in the window).
    for (const auto& [name, sample] : shares) {
        INFO(name);
        CHECK(sample.share > 0.6);
        CHECK(sample.voluntary_switches <= 2);
    }
}

// ---------------------------------------------------------------------------------------------
// I/O: token buckets per queue, starting empty, a throttled request waits.

TEST_CASE("io: bw=16M reads 64 MiB in 4 s (the bytes bucket starts empty), an unlimited disk is faster",
    "[limiter][io]")
{
    if (!kvm_available())
        return;
    SparseDisk disk(64 * MiB);
    const std::string keys = "blkbench.op=read blkbench.bs=1048576 blkbench.depth=32 blkbench.bytes=64M";
    const std::string done = "blkbench: done 64 requests 67108864 bytes";
    const double limited = blkbench_io_seconds("path=" + disk.path() + ",bw=16M", keys, done);
    const double unlimited = blkbench_io_seconds("path=" + disk.path(), keys, done);
    INFO("bw=16M: " << limited << " s, unlimited: " << unlimited << " s, loadavg " << host_load());
    CHECK(limited >= 4.0 * 0.9);
    CHECK(limited <= 4.0 * 1.1);
    // Sanity: the limit is what made it slow. Unlimited, 64 MiB of a sparse file is far faster
    // than 16 MiB/s even here; half the limited time leaves a wide margin for a busy host.
    CHECK(unlimited < limited / 2);
}

// True once every thread of `pid` is in the stopped state ('T' in /proc/PID/task/TID/stat).
bool all_threads_stopped(pid_t pid)
{
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* tasks = ::opendir(dir.c_str());
    if (!tasks)
        return false;
    bool stopped = true;
    while (const dirent* entry = ::readdir(tasks)) {
        const std::string tid = entry->d_name;
        if (tid == "." || tid == "..")
            continue;
        const std::string stat = read_text(dir + "/" + tid + "/stat");
        const auto close = stat.rfind(')');
        if (close == std::string::npos || close + 2 >= stat.size() || stat[close + 2] != 'T')
            stopped = false;
    }
    ::closedir(tasks);
    return stopped;
}

TEST_CASE("io: a guest that waits before its first request gets no up-front allowance (bw=16M: 64 MiB in 4 s)",
    "[limiter][io]")
{
    if (!kvm_available())
        return;
    // The contract (token_bucket.hpp; the limiter commit): the buckets start empty and burst= is
    // the only up-front allowance. A real guest boots for a while before its first request
    // (Linux: seconds); here the VMM is stopped (SIGSTOP) for 1.5 s after the guest found its
    // device and before it published anything, which is the same for the limiter's clock. A
    // bucket that filled up meanwhile would let the first 16 MiB through at once: 3 s, not 4.
    SparseDisk disk(64 * MiB);
    const std::string keys = "blkbench.op=read blkbench.bs=1048576 blkbench.depth=32 blkbench.bytes=64M";
    for (int attempt = 0;; ++attempt) {
        BackgroundProcess vmm({minivmm_binary(), "run", "--kernel", testguest("blkbench"), "--memory", "128M",
            "--cmdline", keys, "--disk", "path=" + disk.path() + ",bw=16M"});
        const auto device = vmm.wait_for_line_starting("blkbench: device at", kBootTimeout);
        INFO("stdout: " << vmm.out() << "\nstderr: " << vmm.err());
        REQUIRE(device);
        ::kill(vmm.pid(), SIGSTOP);
        for (int i = 0; i < 1000 && !all_threads_stopped(vmm.pid()); ++i)
            std::this_thread::sleep_for(1ms);
        REQUIRE(all_threads_stopped(vmm.pid()));
        // Serial output is written synchronously by the vCPU thread, so everything the guest
        // printed before the stop is in the pipe now. No `start` line: no request was published.
        vmm.read_for(200ms);
        if (has_line(vmm.out(), "blkbench: start")) {
            ::kill(vmm.pid(), SIGCONT);
            REQUIRE(attempt < 5); // the stop came too late every time: a very loaded host
            continue;
        }
        std::this_thread::sleep_for(1500ms);
        ::kill(vmm.pid(), SIGCONT);
        const auto start = vmm.wait_for_line("blkbench: start", kBootTimeout);
        const auto stop = vmm.wait_for_line("blkbench: stop", 60s);
        const ProcessResult result = vmm.wait(30s);
        INFO("final stdout: " << result.out << "\nstderr: " << result.err);
        REQUIRE(start);
        REQUIRE(stop);
        CHECK(result.exit_status == 0);
        const double seconds = std::chrono::duration<double>(stop->arrived - start->arrived).count();
        INFO("bw=16M after a 1.5 s wait: " << seconds << " s, loadavg " << host_load());
        CHECK(seconds >= 4.0 * 0.9);
        CHECK(seconds <= 4.0 * 1.1);
        break;
    }
}

TEST_CASE("io: iops=100 lets 200 requests through in 2 s", "[limiter][io]")
{
    if (!kvm_available())
        return;
    SparseDisk disk(16 * MiB);
    const double seconds = blkbench_io_seconds("path=" + disk.path() + ",iops=100",
        "blkbench.op=read blkbench.bs=4096 blkbench.depth=32 blkbench.count=200",
        "blkbench: done 200 requests 819200 bytes");
    INFO("iops=100: " << seconds << " s for 200 requests, loadavg " << host_load());
    CHECK(seconds >= 2.0 * 0.9);
    CHECK(seconds <= 2.0 * 1.1);
}

// ---------------------------------------------------------------------------------------------
// Memory: R_allocated = R_requested * min(1, R_available / R_requested, R_limit / R_requested)

TEST_CASE("memory: strict refuses a VM larger than --memory-limit with every figure on one line", "[limiter][memory]")
{
    if (!kvm_available())
        return;
    const ProcessResult result = run_vmm({"--kernel", testguest("hello"), "--memory", "64M", "--memory-limit", "41M"});
    check_one_error_line(result, "--memory-policy strict");
    const std::string line = lines_of(result.err).at(0);
    CHECK(line.find("requested 64 MiB") != std::string::npos);
    CHECK(line.find("available ") != std::string::npos);
    CHECK(line.find("limit 41 MiB") != std::string::npos);
    CHECK(line.find("allocated 40 MiB") != std::string::npos); // 41 MiB rounded down to 2 MiB
    CHECK(result.out.find("Hello") == std::string::npos);
}

TEST_CASE("memory: shrink boots the guest with the smaller memory map", "[limiter][memory]")
{
    if (!kvm_available())
        return;
    const ProcessResult result = run_vmm(
        {"--kernel", testguest("bootinfo"), "--memory", "64M", "--memory-limit", "41M", "--memory-policy", "shrink"});
    CHECK(result.exit_status == 0);
    CHECK(result.err.find("shrunk from 64 MiB to 40 MiB") != std::string::npos);
    // One slot below the MMIO hole: R_allocated = floor(41 MiB / 2 MiB) * 2 MiB = 40 MiB, laid
    // out from 0; the last e820 entry is the RAM above 1 MiB up to the allocated end.
    constexpr std::uint64_t allocated = 40 * MiB;
    constexpr std::uint64_t high_start = 0x100000;
    const auto lines = lines_of(result.out);
    std::string last;
    for (const auto& line : lines)
        if (line.rfind("memmap ", 0) == 0 && line.find("addr=") != std::string::npos)
            last = line;
    CHECK(last.substr(last.find("addr=")) == "addr=" + hex16(high_start) + " size=" + hex16(allocated - high_start) + " type=1");
    CHECK(has_line(result.out, "bootinfo: done"));
}

// ---------------------------------------------------------------------------------------------
// Report and metrics

TEST_CASE("report: --limits-report prints a table with memory, vcpu and disk rows", "[limiter][report]")
{
    if (!kvm_available())
        return;
    SparseDisk disk(1 * MiB);
    const ProcessResult result = run_vmm({"--kernel", testguest("hello"), "--cpus", "2", "--cpu-limit", "1",
        "--disk", "path=" + disk.path() + ",bw=16M,iops=1000", "--limits-report"});
    CHECK(result.exit_status == 0);
    bool header = false, memory = false, vcpu0 = false, vcpu1 = false, bw = false, ops = false;
    for (const auto& line : lines_of(result.err)) {
        std::istringstream words(line);
        std::vector<std::string> w;
        for (std::string word; words >> word;)
            w.push_back(word);
        header |= w == std::vector<std::string> {"resource", "requested", "allocated", "limit", "used", "throttled"};
        memory |= line.rfind("memory slot 0", 0) == 0;
        vcpu0 |= line.rfind("vcpu 0 ", 0) == 0 && line.find("0.5 CPU") != std::string::npos;
        vcpu1 |= line.rfind("vcpu 1 ", 0) == 0 && line.find("0.5 CPU") != std::string::npos;
        bw |= line.rfind("blk0 bw ", 0) == 0 && line.find("16 MiB/s") != std::string::npos;
        ops |= line.rfind("blk0 ops ", 0) == 0 && line.find("1000 op/s") != std::string::npos;
    }
    CHECK(header);
    CHECK(memory);
    CHECK(vcpu0);
    CHECK(vcpu1);
    CHECK(bw);
    CHECK(ops);
}

TEST_CASE("report: --metrics FILE --metrics-interval 0.2 appends one JSON line per interval", "[limiter][report]")
{
    if (!kvm_available())
        return;
    TempDir dir;
    const std::string metrics = dir.file("metrics.jsonl");
    const ProcessResult result = run_vmm({"--kernel", testguest("spin"), "--timeout", "1", "--cpu-limit", "0.5",
        "--metrics", metrics, "--metrics-interval", "0.2"});
    CHECK(result.exit_status == 124);
    const auto lines = lines_of(read_text(metrics));
    INFO("metrics: " << read_text(metrics));
    // 1 s at 0.2 s gives up to 4 periodic records plus the final one; a busy host may delay a
    // tick, so at least 3.
    CHECK(lines.size() >= 3);
    CHECK(lines.size() <= 6);
    for (const auto& line : lines) {
        CHECK(line.rfind(R"({"type":"limits")", 0) == 0);
        CHECK(line.back() == '}');
        CHECK(line.find(R"("resource":"vcpu 0")") != std::string::npos);
        CHECK(line.find(R"("resource":"memory slot 0 @0x0")") != std::string::npos);
    }
}

// ---------------------------------------------------------------------------------------------
// Invalid limits: exit 120 and one clear line, before any guest runs

TEST_CASE("errors: invalid limits end with 120 and one line naming the problem", "[limiter][cli]")
{
    if (!kvm_available())
        return;
    const std::string hello = testguest("hello");
    cpu_set_t set;
    CPU_ZERO(&set);
    REQUIRE(::sched_getaffinity(0, sizeof set, &set) == 0);
    const std::string above_host = std::to_string(CPU_COUNT(&set) + 1);

    SECTION("negative --cpu-limit")
    {
        check_one_error_line(run_vmm({"--kernel", hello, "--cpu-limit", "-0.5"}), "invalid --cpu-limit \"-0.5\"");
    }
    SECTION("zero --cpu-limit")
    {
        check_one_error_line(run_vmm({"--kernel", hello, "--cpu-limit", "0"}), "invalid --cpu-limit \"0\"");
    }
    SECTION("--cpu-limit above the host's CPUs (S_available)")
    {
        check_one_error_line(run_vmm({"--kernel", hello, "--cpu-limit", above_host}),
            "--cpu-limit " + above_host + " exceeds the " + std::to_string(CPU_COUNT(&set)) + " host CPU(s)");
    }
    SECTION("a priority list longer than the vCPUs")
    {
        check_one_error_line(
            run_vmm({"--kernel", hello, "--cpus", "2", "--cpu-limit", "1", "--vcpu-priority", "1,2,3"}),
            "lists 3 priorities for 2 vCPUs");
    }
    SECTION("a priority list shorter than the vCPUs")
    {
        check_one_error_line(run_vmm({"--kernel", hello, "--cpus", "2", "--cpu-limit", "1", "--vcpu-priority", "1"}),
            "lists 1 priorities for 2 vCPUs");
    }
    SECTION("--vcpu-priority without --cpu-limit (cpu_allocation.cpp: priorities divide the limit)")
    {
        check_one_error_line(run_vmm({"--kernel", hello, "--cpus", "2", "--vcpu-priority", "1,3"}), "add --cpu-limit");
    }
    SECTION("--memory-policy maybe")
    {
        check_one_error_line(run_vmm({"--kernel", hello, "--memory-policy", "maybe"}), "--memory-policy maybe");
    }
    SECTION("--cpu-period 0ms")
    {
        check_one_error_line(run_vmm({"--kernel", hello, "--cpu-limit", "0.5", "--cpu-period", "0ms"}),
            "outside the allowed range 1 ms to 1 s");
    }
    SECTION("--disk bw=abc")
    {
        SparseDisk disk(1 * MiB);
        check_one_error_line(run_vmm({"--kernel", hello, "--disk", "path=" + disk.path() + ",bw=abc"}), "invalid rate limit \"bw=abc\"");
    }
}
