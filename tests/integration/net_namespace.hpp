// NetNamespace: a network namespace of a test's own (`ip netns add`, ip-netns(8)), deleted by its
// destructor even when the test fails, with the `ip` calls the tests make in it (links, taps,
// addresses). Interfaces and addresses only ever live inside such namespaces, never on the host.
#pragma once

#include <catch2/catch.hpp>

#include <unistd.h>

#include <atomic>
#include <chrono>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/vmm_harness.hpp"

namespace minivmm::testing {

inline std::string ip_binary()
{
    for (const char* path : {"/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip"})
        if (::access(path, X_OK) == 0)
            return path;
    FAIL("no ip(8) binary (iproute2) found");
    return {};
}

inline ProcessResult run_quiet(const std::vector<std::string>& argv, std::chrono::milliseconds timeout = std::chrono::seconds(20))
{
    ProcessOptions options;
    options.timeout = timeout;
    return run_process(argv, options);
}

inline std::string describe(const std::vector<std::string>& argv, const ProcessResult& result)
{
    std::ostringstream text;
    for (const auto& arg : argv)
        text << arg << ' ';
    text << "-> exit " << result.exit_status << " signal " << result.signal << (result.timed_out ? " (timed out)" : "")
         << "\nstdout: " << result.out << "\nstderr: " << result.err;
    return text.str();
}

// A network namespace of the test's own, deleted on destruction (processes still inside keep it
// alive until they end; every test ends its processes first).
class NetNamespace {
public:
    NetNamespace()
    {
        static std::atomic<int> counter {0};
        m_name = "mvnt-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
        ip_ok({"netns", "add", m_name});
        m_created = true;
        ip_ok({"-n", m_name, "link", "set", "lo", "up"});
    }
    NetNamespace(const NetNamespace&) = delete;
    NetNamespace& operator=(const NetNamespace&) = delete;
    ~NetNamespace()
    {
        if (m_created)
            (void)run_quiet({ip_binary(), "netns", "del", m_name});
    }

    [[nodiscard]] const std::string& name() const { return m_name; }

    // argv run inside the namespace.
    [[nodiscard]] std::vector<std::string> exec(std::vector<std::string> argv) const
    {
        std::vector<std::string> full {ip_binary(), "netns", "exec", m_name};
        full.insert(full.end(), argv.begin(), argv.end());
        return full;
    }

    // `ip <args>` (give "-n", name() yourself when it is about the namespace); must succeed.
    static ProcessResult ip_ok(const std::vector<std::string>& args)
    {
        std::vector<std::string> argv {ip_binary()};
        argv.insert(argv.end(), args.begin(), args.end());
        auto result = run_quiet(argv);
        INFO(describe(argv, result));
        REQUIRE(result.exit_status == 0);
        return result;
    }

    // `ip -n <ns> <args>`, must succeed.
    ProcessResult ip(std::vector<std::string> args) const
    {
        args.insert(args.begin(), {"-n", m_name});
        return ip_ok(args);
    }

    [[nodiscard]] bool has_link(const std::string& ifname) const
    {
        return run_quiet({ip_binary(), "-n", m_name, "link", "show", "dev", ifname}).exit_status == 0;
    }

    // Polls for a link to appear (true) or, with `present` false, to vanish.
    [[nodiscard]] bool wait_link(const std::string& ifname, bool present, std::chrono::milliseconds timeout) const
    {
        const auto deadline = std::chrono::steady_clock::now() + timeout;
        while (has_link(ifname) != present) {
            if (std::chrono::steady_clock::now() >= deadline)
                return false;
            std::this_thread::sleep_for(std::chrono::milliseconds(20));
        }
        return true;
    }

    // Interface names in the namespace (`ip -br link`), without "@peer" suffixes.
    [[nodiscard]] std::vector<std::string> links() const
    {
        auto result = run_quiet({ip_binary(), "-n", m_name, "-br", "link"});
        std::vector<std::string> names;
        for (const auto& line : lines_of(result.out)) {
            std::istringstream fields(line);
            std::string name;
            fields >> name;
            names.push_back(name.substr(0, name.find('@')));
        }
        return names;
    }

    // The link's MAC address, from `ip -br link show dev NAME`: "name state mac <flags>".
    [[nodiscard]] std::string mac_of(const std::string& ifname) const
    {
        auto result = ip({"-br", "link", "show", "dev", ifname});
        std::istringstream fields(result.out);
        std::string name, state, mac;
        fields >> name >> state >> mac;
        return mac;
    }

    // A tap created by the test (persistent until the namespace goes), with the host address.
    void add_tap_with_address(const std::string& ifname, const std::string& cidr) const
    {
        ip({"tuntap", "add", "dev", ifname, "mode", "tap"});
        ip({"addr", "add", cidr, "dev", ifname});
        ip({"link", "set", ifname, "up"});
    }

private:
    std::string m_name;
    bool m_created = false;
};

} // namespace minivmm::testing
