// run_in_fresh_netns: fork, unshare(CLONE_NEWNET), run, report through a pipe (namespaces(7)).
#include "tests/support/netns_child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <exception>

namespace minivmm::testing {
namespace {

constexpr int kExitOk = 0;
constexpr int kExitFailed = 1;
constexpr int kExitUnavailable = 2;

void write_all(int fd, const std::string& text)
{
    std::size_t done = 0;
    while (done < text.size()) {
        const ssize_t count = ::write(fd, text.data() + done, text.size() - done);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0)
            return;
        done += static_cast<std::size_t>(count);
    }
}

} // namespace

NetnsResult run_in_fresh_netns(const std::function<std::string()>& body, int timeout_ms)
{
    int pipe_fds[2];
    if (::pipe2(pipe_fds, O_CLOEXEC) < 0)
        return {NetnsResult::Status::Failed, std::string("pipe2: ") + std::strerror(errno)};
    const pid_t child = ::fork();
    if (child < 0) {
        ::close(pipe_fds[0]);
        ::close(pipe_fds[1]);
        return {NetnsResult::Status::Failed, std::string("fork: ") + std::strerror(errno)};
    }
    if (child == 0) {
        ::close(pipe_fds[0]);
        if (::unshare(CLONE_NEWNET) < 0) {
            write_all(pipe_fds[1], std::string("unshare(CLONE_NEWNET): ") + std::strerror(errno));
            ::_exit(kExitUnavailable);
        }
        std::string message;
        try {
            message = body();
        } catch (const std::exception& error) {
            message = std::string("exception: ") + error.what();
        } catch (...) {
            message = "unknown exception";
        }
        write_all(pipe_fds[1], message);
        ::_exit(message.empty() ? kExitOk : kExitFailed);
    }
    ::close(pipe_fds[1]);
    std::string message;
    bool timed_out = false;
    for (;;) {
        pollfd ready{pipe_fds[0], POLLIN, 0};
        const int events = ::poll(&ready, 1, timeout_ms);
        if (events < 0 && errno == EINTR)
            continue;
        if (events == 0) {
            timed_out = true;
            ::kill(child, SIGKILL);
            break;
        }
        char buffer[512];
        const ssize_t count = ::read(pipe_fds[0], buffer, sizeof buffer);
        if (count < 0 && errno == EINTR)
            continue;
        if (count <= 0)
            break;
        message.append(buffer, static_cast<std::size_t>(count));
    }
    ::close(pipe_fds[0]);
    int status = 0;
    while (::waitpid(child, &status, 0) < 0 && errno == EINTR) {
    }
    if (timed_out)
        return {NetnsResult::Status::Failed, "child timed out: " + message};
    if (!WIFEXITED(status))
        return {NetnsResult::Status::Failed, "child died by a signal: " + message};
    switch (WEXITSTATUS(status)) {
    case kExitOk: return {NetnsResult::Status::Ok, message};
    case kExitUnavailable: return {NetnsResult::Status::Unavailable, message};
    default: return {NetnsResult::Status::Failed, message};
    }
}

bool running_under_ci()
{
    const char* ci = std::getenv("CI");
    return ci != nullptr && std::strcmp(ci, "true") == 0;
}

} // namespace minivmm::testing
