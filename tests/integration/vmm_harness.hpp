// Shared helpers for integration tests: where the minivmm binary and the test guests are, how to
// run a guest, and the /dev/kvm requirement (a failure under CI=true, a skip elsewhere).
#pragma once

#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "tests/support/child_process.hpp"

namespace minivmm::testing {

inline std::string minivmm_binary() { return MINIVMM_BINARY; }
inline std::string testguest(const std::string& name)
{
    return std::string(MINIVMM_TESTGUEST_DIR) + "/" + name + ".elf";
}

inline bool running_in_ci()
{
    const char* ci = std::getenv("CI");
    return ci && std::string(ci) == "true";
}

// True when /dev/kvm can be used. Without it: under CI=true the test fails (a missing /dev/kvm
// must never look like a pass); elsewhere it is reported and the test returns early.
inline bool kvm_available()
{
    if (::access("/dev/kvm", R_OK | W_OK) == 0)
        return true;
    if (running_in_ci())
        FAIL("/dev/kvm is missing or not accessible, and CI=true: integration tests cannot run");
    WARN("/dev/kvm is missing or not accessible: skipping this integration test");
    return false;
}

// Runs `minivmm run <args...>` with the given timeout; a timed-out child fails the test.
inline ProcessResult run_vmm(std::vector<std::string> args, std::chrono::milliseconds timeout = std::chrono::seconds(60),
    std::string stdin_data = {})
{
    std::vector<std::string> argv {minivmm_binary(), "run"};
    argv.insert(argv.end(), args.begin(), args.end());
    ProcessOptions options;
    options.timeout = timeout;
    options.stdin_data = std::move(stdin_data);
    ProcessResult result = run_process(argv, options);
    INFO("stdout: " << result.out);
    INFO("stderr: " << result.err);
    REQUIRE_FALSE(result.timed_out);
    return result;
}

inline std::vector<std::string> lines_of(const std::string& text)
{
    std::vector<std::string> lines;
    std::string line;
    for (char c : text) {
        if (c == '\n') {
            if (!line.empty() && line.back() == '\r')
                line.pop_back();
            lines.push_back(line);
            line.clear();
        } else {
            line += c;
        }
    }
    if (!line.empty())
        lines.push_back(line);
    return lines;
}

inline bool has_line(const std::string& text, const std::string& wanted)
{
    for (const auto& line : lines_of(text))
        if (line == wanted)
            return true;
    return false;
}

// The contract for every refused input (README.md, "Exit codes"): exactly one stderr line,
// "minivmm: error: ..." naming `needle`, nothing on stdout, and the documented status.
inline void check_one_error_line(const ProcessResult& result, int status, const std::string& needle)
{
    INFO("stdout: " << result.out << "\nstderr: " << result.err);
    CHECK(result.exit_status == status);
    const auto lines = lines_of(result.err);
    REQUIRE(lines.size() == 1);
    CHECK(lines[0].rfind("minivmm: error: ", 0) == 0);
    CHECK(lines[0].find(needle) != std::string::npos);
    CHECK(result.out.empty());
}

// The same for the common case: a VMM error (bad input or host failure), status 120.
inline void check_one_error_line(const ProcessResult& result, const std::string& needle)
{
    check_one_error_line(result, 120, needle);
}

// A scratch directory removed at the end of the test.
class TempDir {
public:
    TempDir()
    {
        std::string pattern = (std::filesystem::temp_directory_path() / "minivmm-test-XXXXXX").string();
        m_path = ::mkdtemp(pattern.data());
    }
    ~TempDir() { std::filesystem::remove_all(m_path); }
    [[nodiscard]] std::filesystem::path path() const { return m_path; }
    [[nodiscard]] std::string file(const std::string& name) const { return (m_path / name).string(); }

private:
    std::filesystem::path m_path;
};

} // namespace minivmm::testing
