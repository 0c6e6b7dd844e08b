// BackupProgress: names of the backup states.
#include "vmm/backup/backup_progress.hpp"

namespace minivmm::backup {

std::string_view to_string(BackupState state)
{
    switch (state) {
    case BackupState::Running: return "running";
    case BackupState::Completed: return "completed";
    case BackupState::Failed: return "failed";
    case BackupState::Cancelled: return "cancelled";
    }
    return "unknown";
}

} // namespace minivmm::backup
