#include "tests/support/background_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

extern char** environ;

namespace minivmm::testing {

namespace {
void close_fd(int& fd)
{
    if (fd >= 0)
        ::close(fd);
    fd = -1;
}
} // namespace

BackgroundProcess::BackgroundProcess(const std::vector<std::string>& argv, bool new_session)
{
    int in[2], out[2], err[2];
    if (::pipe2(in, O_CLOEXEC) < 0)
        throw std::runtime_error("pipe2 failed");
    if (::pipe2(out, O_CLOEXEC) < 0) {
        ::close(in[0]);
        ::close(in[1]);
        throw std::runtime_error("pipe2 failed");
    }
    if (::pipe2(err, O_CLOEXEC) < 0) {
        for (int fd : {in[0], in[1], out[0], out[1]})
            ::close(fd);
        throw std::runtime_error("pipe2 failed");
    }
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in[0], 0);
    posix_spawn_file_actions_adddup2(&actions, out[1], 1);
    posix_spawn_file_actions_adddup2(&actions, err[1], 2);
    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);
    posix_spawnattr_t attributes;
    posix_spawnattr_init(&attributes);
    if (new_session)
        posix_spawnattr_setflags(&attributes, POSIX_SPAWN_SETSID);
    m_started = Clock::now();
    const int error = ::posix_spawn(&m_pid, args[0], &actions, &attributes, args.data(), environ);
    posix_spawnattr_destroy(&attributes);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in[0]);
    ::close(out[1]);
    ::close(err[1]);
    m_in_fd = in[1];
    m_out_fd = out[0];
    m_err_fd = err[0];
    if (error != 0) {
        m_pid = -1;
        close_fd(m_in_fd);
        close_fd(m_out_fd);
        close_fd(m_err_fd);
        throw std::runtime_error("cannot start " + argv.at(0));
    }
}

BackgroundProcess::~BackgroundProcess()
{
    if (m_pid > 0) {
        ::kill(m_pid, SIGKILL);
        while (::waitpid(m_pid, nullptr, 0) < 0 && errno == EINTR) {
        }
    }
    close_fd(m_in_fd);
    close_fd(m_out_fd);
    close_fd(m_err_fd);
}

bool BackgroundProcess::send_input(std::string_view bytes)
{
    // A child that already exited closed its end: no SIGPIPE for the test, just false.
    ::signal(SIGPIPE, SIG_IGN);
    return ::write(m_in_fd, bytes.data(), bytes.size()) == static_cast<ssize_t>(bytes.size());
}

bool BackgroundProcess::pump(std::chrono::milliseconds timeout)
{
    if (m_out_fd < 0 && m_err_fd < 0)
        return false;
    pollfd fds[2] = {{m_out_fd, POLLIN, 0}, {m_err_fd, POLLIN, 0}};
    const int ready = ::poll(fds, 2, static_cast<int>(std::max<long long>(timeout.count(), 0)));
    if (ready <= 0)
        return true; // timeout or EINTR: nothing read this round
    const Clock::time_point now = Clock::now();
    char buffer[4096];
    for (int i = 0; i < 2; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
            continue;
        int& fd = i == 0 ? m_out_fd : m_err_fd;
        const ssize_t n = ::read(fd, buffer, sizeof buffer);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            close_fd(fd);
            continue;
        }
        if (i == 1) {
            m_err.append(buffer, static_cast<std::size_t>(n));
            continue;
        }
        m_out.append(buffer, static_cast<std::size_t>(n));
        m_partial.append(buffer, static_cast<std::size_t>(n));
        for (std::size_t newline; (newline = m_partial.find('\n')) != std::string::npos;) {
            std::string text = m_partial.substr(0, newline);
            if (!text.empty() && text.back() == '\r')
                text.pop_back();
            m_lines.push_back({std::move(text), now});
            m_partial.erase(0, newline + 1);
        }
    }
    return m_out_fd >= 0 || m_err_fd >= 0;
}

template<class Match>
std::optional<BackgroundProcess::Line> BackgroundProcess::wait_for_match(Match match, std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    std::size_t checked = 0;
    for (;;) {
        for (; checked < m_lines.size(); ++checked)
            if (match(m_lines[checked].text))
                return m_lines[checked];
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
        if (left.count() <= 0 || m_out_fd < 0)
            return std::nullopt;
        pump(std::min(left, std::chrono::milliseconds(1000)) + std::chrono::milliseconds(1));
    }
}

std::optional<BackgroundProcess::Line> BackgroundProcess::wait_for_line(const std::string& text,
    std::chrono::milliseconds timeout)
{
    return wait_for_match([&](const std::string& line) { return line == text; }, timeout);
}

std::optional<BackgroundProcess::Line> BackgroundProcess::wait_for_line_starting(const std::string& prefix,
    std::chrono::milliseconds timeout)
{
    return wait_for_match([&](const std::string& line) { return line.rfind(prefix, 0) == 0; }, timeout);
}

void BackgroundProcess::read_for(std::chrono::milliseconds timeout)
{
    const auto deadline = Clock::now() + timeout;
    for (auto left = timeout; left.count() > 0;
         left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()))
        if (!pump(left))
            break;
}

ProcessResult BackgroundProcess::finish(std::chrono::milliseconds timeout)
{
    ProcessResult result;
    const auto deadline = Clock::now() + timeout;
    int status = 0;
    for (;;) {
        const pid_t done = ::waitpid(m_pid, &status, WNOHANG);
        if (done == m_pid)
            break;
        if (done < 0 && errno != EINTR)
            break;
        if (Clock::now() >= deadline && !result.timed_out) {
            ::kill(m_pid, SIGKILL);
            result.timed_out = true;
        }
        // Keep the pipes drained so a chatty child never blocks on a full pipe.
        if (!pump(std::chrono::milliseconds(20)))
            ::usleep(20'000);
    }
    m_pid = -1;
    // Whatever is still in the pipes (a grandchild could hold them open: bounded).
    const auto drain_deadline = Clock::now() + std::chrono::seconds(2);
    while (Clock::now() < drain_deadline && pump(std::chrono::milliseconds(100))) {
    }
    close_fd(m_out_fd);
    close_fd(m_err_fd);
    if (WIFEXITED(status))
        result.exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        result.signal = WTERMSIG(status);
    result.out = m_out;
    result.err = m_err;
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - m_started);
    return result;
}

ProcessResult BackgroundProcess::stop(int signal, std::chrono::milliseconds grace)
{
    if (m_pid <= 0)
        throw std::logic_error("BackgroundProcess::stop: the child was already reaped");
    ::kill(m_pid, signal);
    return finish(grace);
}

ProcessResult BackgroundProcess::wait(std::chrono::milliseconds timeout)
{
    if (m_pid <= 0)
        throw std::logic_error("BackgroundProcess::wait: the child was already reaped");
    return finish(timeout);
}

} // namespace minivmm::testing
