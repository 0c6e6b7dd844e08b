// run_in_fresh_netns: runs a test body in a forked child inside a new network namespace
// (unshare(CLONE_NEWNET), Linux namespaces(7)), so tests can create tap interfaces without
// touching the host's network. The body reports failure as a message, never through Catch2
// (its assertions do not cross fork()).
#pragma once

#include <functional>
#include <string>

namespace minivmm::testing {

struct NetnsResult {
    enum class Status {
        Ok,          // the body returned an empty message
        Failed,      // the body returned a message or threw
        Unavailable, // no namespace could be made (not root, seccomp, ...): message says why
    };
    Status status = Status::Failed;
    std::string message;
};

// `body` returns "" on success or what went wrong. Bounded: the child is killed after
// `timeout_ms` and that is a failure.
NetnsResult run_in_fresh_netns(const std::function<std::string()>& body, int timeout_ms = 20'000);

// Whether the environment says this is a CI run (CI=true), where a root test that cannot run
// is a failure rather than a warning.
bool running_under_ci();

} // namespace minivmm::testing
