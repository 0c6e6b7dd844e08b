#include "tests/support/child_process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <stdexcept>

extern char** environ;

namespace minivmm::testing {

namespace {
struct Pipe {
    int read_end = -1;
    int write_end = -1;
    Pipe()
    {
        int fds[2];
        if (::pipe2(fds, O_CLOEXEC) < 0)
            throw std::runtime_error("pipe2 failed");
        read_end = fds[0];
        write_end = fds[1];
    }
};
} // namespace

ProcessResult run_process(const std::vector<std::string>& argv, const ProcessOptions& options)
{
    Pipe in, out, err;
    if (options.stdout_unread && ::fcntl(out.read_end, F_SETPIPE_SZ, 4096) < 0)
        throw std::runtime_error("F_SETPIPE_SZ failed");
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, in.read_end, 0);
    posix_spawn_file_actions_adddup2(&actions, out.write_end, 1);
    posix_spawn_file_actions_adddup2(&actions, err.write_end, 2);
    std::vector<char*> args;
    for (const auto& arg : argv)
        args.push_back(const_cast<char*>(arg.c_str()));
    args.push_back(nullptr);

    const auto start = std::chrono::steady_clock::now();
    pid_t pid = 0;
    const int spawn_error = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
    posix_spawn_file_actions_destroy(&actions);
    ::close(in.read_end);
    // With stdout_unread, a write end of our own to ask the pipe whether a writer would wait.
    const int stdout_probe = options.stdout_unread ? out.write_end : -1;
    if (!options.stdout_unread)
        ::close(out.write_end);
    ::close(err.write_end);
    if (spawn_error != 0) {
        if (stdout_probe >= 0)
            ::close(stdout_probe);
        ::close(in.write_end);
        ::close(out.read_end);
        ::close(err.read_end);
        throw std::runtime_error("cannot start " + argv[0]);
    }

    // Feed stdin (small inputs only; tests write a few bytes) and close it.
    ::signal(SIGPIPE, SIG_IGN);
    if (!options.stdin_data.empty())
        (void)!::write(in.write_end, options.stdin_data.data(), options.stdin_data.size());
    ::close(in.write_end);

    ProcessResult result;
    const auto deadline = start + options.timeout;
    bool out_open = !options.stdout_unread, err_open = true, killed = false, signalled = false;
    const auto stdout_pending = [&] {
        int pending = 0;
        return ::ioctl(out.read_end, FIONREAD, &pending) == 0 ? std::size_t(pending) : 0;
    };
    // Full as a writer sees it: the pipe no longer polls writable. Linux counts pipe slots (pages),
    // so that can happen before 4 KiB are in it.
    const auto stdout_full = [&] {
        pollfd probe {stdout_probe, POLLOUT, 0};
        return ::poll(&probe, 1, 0) == 0;
    };
    while (out_open || err_open) {
        const auto now = std::chrono::steady_clock::now();
        if (now >= deadline && !killed) {
            ::kill(pid, SIGKILL);
            killed = true;
            result.timed_out = true;
        }
        if (options.stdout_unread && !result.stdout_filled && stdout_full()) {
            result.stdout_filled = true;
            if (options.signal_when_stdout_full != 0 && !signalled) {
                ::kill(pid, options.signal_when_stdout_full);
                signalled = true;
            }
        }
        pollfd fds[2] = {{out_open ? out.read_end : -1, POLLIN, 0}, {err_open ? err.read_end : -1, POLLIN, 0}};
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now).count();
        // Watching an unread stdout fill up needs a look now and then; otherwise sleep in poll.
        long long wait = killed ? 1000 : std::max<long long>(left, 1);
        if (options.stdout_unread && !result.stdout_filled)
            wait = std::min<long long>(wait, 20);
        if (::poll(fds, 2, static_cast<int>(wait)) < 0 && errno != EINTR)
            break;
        char buffer[4096];
        for (int i = 0; i < 2; ++i) {
            if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            const ssize_t n = ::read(fds[i].fd, buffer, sizeof buffer);
            if (n <= 0) {
                (i == 0 ? out_open : err_open) = false;
                continue;
            }
            (i == 0 ? result.out : result.err).append(buffer, std::size_t(n));
            if (i == 0 && options.kill_when && !killed && options.kill_when(result.out)) {
                ::kill(pid, SIGKILL);
                killed = true;
            }
        }
    }
    if (options.stdout_unread) {
        result.unread_stdout_bytes = stdout_pending();
        result.stdout_filled = result.stdout_filled || stdout_full();
        ::close(stdout_probe);
    }
    ::close(out.read_end);
    ::close(err.read_end);
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    result.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
    if (WIFEXITED(status))
        result.exit_status = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
        result.signal = WTERMSIG(status);
    return result;
}

} // namespace minivmm::testing
