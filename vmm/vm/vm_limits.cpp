// The Vm's side of the limiter's reporting: gathers what each resource was granted and used
// (guest RAM resident per slot via mincore(2), vCPU thread CPU time, disk bytes and requests)
// into rows for --limits-report and the --metrics JSON lines (DESIGN.md, "Resource limiter").
#include <fcntl.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <cstring>

#include <fmt/format.h>

#include "vmm/base/sys_error.hpp"
#include "vmm/vm/vm.hpp"

namespace minivmm::vm {

namespace {
// Bytes of `region` the host has actually backed with pages: what the guest really costs.
std::uint64_t resident_bytes(const GuestMemory::Region& region)
{
    const long page = ::sysconf(_SC_PAGESIZE);
    const std::size_t pages = (region.size() + std::size_t(page) - 1) / std::size_t(page);
    std::vector<unsigned char> residency(pages);
    if (::mincore(region.mapping.data(), region.size(), residency.data()) < 0)
        return 0;
    std::uint64_t count = 0;
    for (unsigned char entry : residency)
        count += entry & 1;
    return count * std::uint64_t(page);
}

double per_second(std::uint64_t amount, limiter::Nanos elapsed)
{
    const double seconds = std::chrono::duration<double>(elapsed).count();
    return seconds > 0 ? double(amount) / seconds : 0.0;
}
} // namespace

std::vector<limiter::ResourceReport> Vm::limit_rows(bool final) const
{
    const limiter::Nanos elapsed = std::chrono::steady_clock::now() - m_started;
    std::vector<std::uint64_t> resident;
    for (const auto& region : m_memory.regions())
        resident.push_back(resident_bytes(region));
    auto rows = limiter::memory_report_rows(m_memory_allocation, resident);

    std::vector<limiter::Nanos> cpu_used, throttled;
    for (const auto& runner : m_runners) {
        // While running, a vCPU's throttled time lives in its own thread; the final report has it.
        cpu_used.push_back(final ? runner->cpu_usage().cpu_used : runner->live_cpu_time());
        throttled.push_back(final ? runner->cpu_usage().throttled : limiter::Nanos {0});
    }
    auto cpu_rows = limiter::cpu_report_rows(m_cpu_allocation, cpu_used, throttled, elapsed);
    rows.insert(rows.end(), cpu_rows.begin(), cpu_rows.end());

    for (const auto& [name, gate] : m_disk_gates) {
        const auto usage = gate->usage();
        if (const auto& bytes = gate->config().bytes) {
            const double rate = double(bytes->rate);
            rows.push_back({name + " bw", limiter::ReportUnit::BytesPerSecond, rate, rate, rate,
                per_second(usage.bytes, elapsed), usage.throttled});
        }
        if (const auto& ops = gate->config().ops) {
            const double rate = double(ops->rate);
            rows.push_back({name + " ops", limiter::ReportUnit::OpsPerSecond, rate, rate, rate,
                per_second(usage.ops, elapsed), usage.throttled});
        }
    }
    return rows;
}

void Vm::start_metrics()
{
    if (!m_config.limits.metrics_path)
        return;
    const std::string& path = *m_config.limits.metrics_path;
    m_metrics_file = UniqueFd(::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644));
    if (!m_metrics_file)
        throw UserError(fmt::format("--metrics {}: {}", path, std::strerror(errno)));
    UniqueFd timer(::timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC));
    if (!timer)
        throw SysError("timerfd_create for --metrics");
    const auto interval = m_config.limits.metrics_interval;
    itimerspec spec {};
    spec.it_interval.tv_sec = interval.count() / 1000;
    spec.it_interval.tv_nsec = (interval.count() % 1000) * 1'000'000;
    spec.it_value = spec.it_interval;
    if (::timerfd_settime(timer.get(), 0, &spec, nullptr) < 0)
        throw SysError("timerfd_settime for --metrics");
    const int fd = timer.get();
    m_loop.add(fd, EPOLLIN, [this, fd](std::uint32_t) {
        std::uint64_t expirations = 0;
        (void)!::read(fd, &expirations, sizeof expirations);
        write_metrics(false);
    });
    m_loop_fds.push_back(std::move(timer));
}

void Vm::write_metrics(bool final)
{
    if (!m_metrics_file)
        return;
    const std::string line = limiter::format_limits_json(limit_rows(final));
    // One write per record (O_APPEND): a reader never sees half a line from us.
    (void)!::write(m_metrics_file.get(), line.data(), line.size());
}

} // namespace minivmm::vm
