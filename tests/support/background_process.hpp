// BackgroundProcess: a child (the real minivmm) left running while the test watches it: its
// stdout lines are timestamped as they arrive on the pipe, /proc can be sampled meanwhile, and
// the test ends it with a signal and reaps it. The counterpart of run_process() for tests that
// measure a running VM (the limiter's CPU shares, the I/O rate between two console markers).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tests/support/child_process.hpp"

namespace minivmm::testing {

class BackgroundProcess {
public:
    using Clock = std::chrono::steady_clock;

    // One complete stdout line ('\n' removed) and when the chunk holding its '\n' was read.
    struct Line {
        std::string text;
        Clock::time_point arrived;
    };

    // Starts argv[0] (no shell, no PATH search) with stdin, stdout and stderr on pipes (stdin
    // stays open until the child is reaped: send_input() types into it); with `new_session` in a session of its own (setsid: its own process group and, where
    // the kernel has them, its own scheduler autogroup). Throws std::runtime_error when it
    // cannot start.
    explicit BackgroundProcess(const std::vector<std::string>& argv, bool new_session = false);
    // Kills (SIGKILL) and reaps a child the test did not stop itself.
    ~BackgroundProcess();
    BackgroundProcess(const BackgroundProcess&) = delete;
    BackgroundProcess& operator=(const BackgroundProcess&) = delete;

    [[nodiscard]] pid_t pid() const { return m_pid; }
    // Writes `bytes` to the child's stdin (e.g. "\x01x", Ctrl-A x on minivmm's console); false
    // when the child no longer reads it.
    bool send_input(std::string_view bytes);

    // Reads stdout and stderr until a stdout line equal to `text` has arrived (it may have
    // arrived earlier); returns it, or nullopt at EOF on stdout or after `timeout`.
    std::optional<Line> wait_for_line(const std::string& text, std::chrono::milliseconds timeout);
    // The same for the first stdout line that starts with `prefix`.
    std::optional<Line> wait_for_line_starting(const std::string& prefix, std::chrono::milliseconds timeout);
    // Reads whatever the pipes hold for up to `timeout` (e.g. all a stopped child wrote).
    void read_for(std::chrono::milliseconds timeout);

    // Sends `signal` (unless the child already exited), drains both pipes to EOF and reaps it.
    // A child still alive after `grace` is killed with SIGKILL and reported as timed_out.
    ProcessResult stop(int signal, std::chrono::milliseconds grace = std::chrono::seconds(10));
    // Waits for the child to end by itself (same draining and reaping as stop()); after
    // `timeout` it is killed with SIGKILL and reported as timed_out.
    ProcessResult wait(std::chrono::milliseconds timeout);

    [[nodiscard]] const std::vector<Line>& lines() const { return m_lines; }
    [[nodiscard]] const std::string& out() const { return m_out; }
    [[nodiscard]] const std::string& err() const { return m_err; }

private:
    // One poll() round of up to `timeout` over the open pipes; false when both are at EOF.
    bool pump(std::chrono::milliseconds timeout);
    template<class Match>
    std::optional<Line> wait_for_match(Match match, std::chrono::milliseconds timeout);
    ProcessResult finish(std::chrono::milliseconds timeout);

    pid_t m_pid = -1;
    int m_in_fd = -1;
    int m_out_fd = -1;
    int m_err_fd = -1;
    std::string m_out;
    std::string m_err;
    std::string m_partial; // stdout after the last '\n'
    std::vector<Line> m_lines;
    Clock::time_point m_started;
};

} // namespace minivmm::testing
