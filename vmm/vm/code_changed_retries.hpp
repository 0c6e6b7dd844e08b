// CodeChangedRetries: how many times in a row a vCPU may re-run code that changed under a failed
// emulation (instruction_completion.hpp, Completion::CodeChanged) before the VMM calls it a
// loop and reports a crash. Pure accounting, so the rule is unit-testable without /dev/kvm.
#pragma once

namespace minivmm::vm {

class CodeChangedRetries {
public:
    // A genuine loop shows up as this many code-changed failures with no guest progress between
    // them; kernel text patching on another vCPU needs one or two.
    static constexpr int kMaxInARow = 64;

    // The guest made progress: an exit other than a code-changed emulation failure (port I/O,
    // MMIO, HLT, a completed instruction). The count starts again.
    void guest_progressed();
    // An instruction the VMM completed. Progress too.
    void instruction_completed() { m_in_a_row = 0; }
    // A code-changed failure: true while the guest may run the new code again, false once this
    // is one more than kMaxInARow in a row.
    [[nodiscard]] bool allow_retry() { return ++m_in_a_row <= kMaxInARow; }

private:
    int m_in_a_row = 0;
};

} // namespace minivmm::vm
