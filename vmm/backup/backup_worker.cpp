// BackupWorker: a job queue served by the VM's backup thread (backup_worker.hpp).
#include "vmm/backup/backup_worker.hpp"

#include <exception>

namespace minivmm::backup {

std::future<void> BackupWorker::post(std::function<void()> job, std::function<void()> cancel)
{
    auto posted = std::make_shared<Job>();
    posted->run = std::move(job);
    posted->cancel = std::move(cancel);
    posted->done.emplace();
    std::future<void> done = posted->done->get_future();
    enqueue(std::move(posted));
    return done;
}

void BackupWorker::enqueue(std::shared_ptr<Job> job)
{
    std::lock_guard lock(m_mutex);
    if (m_stopping || m_served)
        return; // dropped: its future reports a broken promise
    m_jobs.push_back(std::move(job));
    m_changed.notify_all();
}

void BackupWorker::cancel_all()
{
    // Under the lock: a running job stays alive (m_running) while its cancel runs, and cancel
    // functions only set flags and notify, so they cannot wait for this lock.
    std::lock_guard lock(m_mutex);
    m_stopping = true;
    if (m_running && m_running->cancel)
        m_running->cancel();
    for (const auto& job : m_jobs)
        if (job->cancel)
            job->cancel();
    m_changed.notify_all();
}

void BackupWorker::serve(std::stop_token stop)
{
    // Runs on the thread that requests the stop (Vm::run, once the VM has ended).
    std::stop_callback on_stop(stop, [this] { cancel_all(); });
    for (;;) {
        std::shared_ptr<Job> job;
        {
            std::unique_lock lock(m_mutex);
            m_changed.wait(lock, [this] { return !m_jobs.empty() || m_stopping; });
            if (m_jobs.empty()) {
                m_served = true;
                return; // stopping, and every job handed over has run
            }
            job = std::move(m_jobs.front());
            m_jobs.pop_front();
            m_running = job;
        }
        std::exception_ptr error;
        try {
            job->run();
        } catch (...) {
            error = std::current_exception();
        }
        {
            std::lock_guard lock(m_mutex);
            m_running.reset();
        }
        // Only now: whoever waits for this future may destroy what `cancel` refers to, and a
        // stop no longer sees the job.
        if (job->done) {
            if (error)
                job->done->set_exception(error);
            else
                job->done->set_value();
        }
    }
}

} // namespace minivmm::backup
