// Thread names and CPU time from /proc (proc_threads.hpp).
#include "tests/support/proc_threads.hpp"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <vector>

namespace minivmm::testing {

namespace {
std::string read_text(const std::string& path)
{
    std::ifstream in(path);
    std::stringstream text;
    text << in.rdbuf();
    return text.str();
}
} // namespace

std::optional<double> thread_cpu_seconds(pid_t pid, const std::string& tid)
{
    const std::string stat = read_text("/proc/" + std::to_string(pid) + "/task/" + tid + "/stat");
    // The comm field may hold spaces and parentheses: count the fields from the last ')'.
    const auto close = stat.rfind(')');
    if (close == std::string::npos)
        return std::nullopt;
    std::istringstream fields(stat.substr(close + 1));
    std::vector<std::string> after; // after[0] is field 3 (state)
    for (std::string field; fields >> field;)
        after.push_back(field);
    if (after.size() < 13)
        return std::nullopt;
    const double ticks = std::stod(after[11]) + std::stod(after[12]); // fields 14, 15
    return ticks / static_cast<double>(::sysconf(_SC_CLK_TCK));
}

std::map<std::string, std::string> threads_named(pid_t pid, const std::string& prefix)
{
    std::map<std::string, std::string> threads;
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* tasks = ::opendir(dir.c_str());
    if (!tasks)
        return threads;
    while (const dirent* entry = ::readdir(tasks)) {
        const std::string tid = entry->d_name;
        if (tid == "." || tid == "..")
            continue;
        std::string comm = read_text(dir + "/" + tid + "/comm");
        while (!comm.empty() && (comm.back() == '\n' || comm.back() == ' '))
            comm.pop_back();
        if (comm.rfind(prefix, 0) == 0)
            threads[comm] = tid;
    }
    ::closedir(tasks);
    return threads;
}

bool raise_process_priority(pid_t pid, int nice)
{
    const std::string dir = "/proc/" + std::to_string(pid);
    if (std::ofstream autogroup(dir + "/autogroup"); autogroup)
        autogroup << nice << std::flush; // absent without CONFIG_SCHED_AUTOGROUP: fine
    DIR* tasks = ::opendir((dir + "/task").c_str());
    if (!tasks)
        return false;
    bool allowed = true;
    while (const dirent* entry = ::readdir(tasks)) {
        const std::string tid = entry->d_name;
        if (tid == "." || tid == "..")
            continue;
        if (::setpriority(PRIO_PROCESS, static_cast<id_t>(std::stoi(tid)), nice) != 0)
            allowed = false;
    }
    ::closedir(tasks);
    return allowed;
}

} // namespace minivmm::testing
