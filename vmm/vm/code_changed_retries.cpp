// CodeChangedRetries: the retry accounting (see the header).
#include "vmm/vm/code_changed_retries.hpp"

namespace minivmm::vm {

void CodeChangedRetries::guest_progressed()
{
    m_in_a_row = 0;
}

} // namespace minivmm::vm
