// CodeChangedRetries: only code-changed failures with no guest progress between them end the VM;
// the same number spread over a VM's life does not.
#include <catch2/catch.hpp>

#include "vmm/vm/code_changed_retries.hpp"

using minivmm::vm::CodeChangedRetries;

TEST_CASE("code changed: 64 failures in a row are retried, the 65th without progress is refused", "[vm][code-changed]")
{
    CodeChangedRetries retries;
    for (int i = 0; i < CodeChangedRetries::kMaxInARow; ++i)
        REQUIRE(retries.allow_retry());
    CHECK_FALSE(retries.allow_retry());
}

TEST_CASE("code changed: failures spread over a VM's life with progress between them never end it", "[vm][code-changed]")
{
    CodeChangedRetries retries;
    // Ten times the limit, each event separated by ordinary exits (port I/O, MMIO, HLT).
    for (int i = 0; i < 10 * CodeChangedRetries::kMaxInARow; ++i) {
        REQUIRE(retries.allow_retry());
        retries.guest_progressed();
    }
    // And bursts just under the limit, with progress between the bursts.
    for (int burst = 0; burst < 3; ++burst) {
        for (int i = 0; i < CodeChangedRetries::kMaxInARow; ++i)
            REQUIRE(retries.allow_retry());
        retries.guest_progressed();
    }
}

TEST_CASE("code changed: a completed instruction is progress too", "[vm][code-changed]")
{
    CodeChangedRetries retries;
    for (int i = 0; i < CodeChangedRetries::kMaxInARow; ++i)
        REQUIRE(retries.allow_retry());
    retries.instruction_completed();
    for (int i = 0; i < CodeChangedRetries::kMaxInARow; ++i)
        REQUIRE(retries.allow_retry());
    CHECK_FALSE(retries.allow_retry());
}
