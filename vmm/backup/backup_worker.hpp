// BackupWorker: the job queue of a VM's one backup thread, which does all of the online backups'
// file work (opening DEST, scanning and copying the disk, publishing or removing DEST). The
// thread is a VM service thread (Vm::add_service_thread, registered by VmController with the
// control API): it is started after the sandbox is closed and loads the "backup" seccomp filter
// before it serves, because a thread inherits the filters of the thread that creates it and
// filters can only be added, never removed (seccomp(2), SECCOMP_SET_MODE_FILTER). Jobs run one
// at a time, in the order they were handed over.
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <stop_token>
#include <type_traits>

namespace minivmm::backup {

class BackupWorker {
public:
    BackupWorker() = default;
    BackupWorker(const BackupWorker&) = delete;
    BackupWorker& operator=(const BackupWorker&) = delete;

    // The thread's body: runs the jobs until `stop` is requested. Then cancels the running and
    // the queued jobs, lets them run to their (early) end and returns; jobs handed over later
    // are dropped. Call once, on the confined thread.
    void serve(std::stop_token stop);

    // Runs `work` on the worker after the jobs handed over before it, waits for it and returns
    // its result (or rethrows its exception). For short jobs: the caller waits for a running copy
    // too. Throws std::future_error (broken_promise) once serve() has returned.
    template<class Work>
    std::invoke_result_t<Work> call(Work work)
    {
        using Result = std::invoke_result_t<Work>;
        auto task = std::make_shared<std::packaged_task<Result()>>(std::move(work));
        std::future<Result> result = task->get_future();
        auto queued = std::make_shared<Job>();
        // The task lives in the job only: a job dropped after serve() breaks the promise.
        queued->run = [task = std::move(task)] { (*task)(); };
        enqueue(std::move(queued));
        return result.get();
    }

    // Queues `job` and returns at once; the future is ready once the job has run (or was
    // dropped). When the worker stops, `cancel` is called (from the stopping thread) if the job
    // is running or queued then: it must make the job end soon, and must not wait for anything.
    std::future<void> post(std::function<void()> job, std::function<void()> cancel);

private:
    struct Job {
        std::function<void()> run;
        std::function<void()> cancel; // may be empty
        std::optional<std::promise<void>> done; // post(): set once the job is no longer m_running
    };
    void enqueue(std::shared_ptr<Job> job);
    void cancel_all();

    std::mutex m_mutex; // guards the members below
    std::condition_variable m_changed;
    std::deque<std::shared_ptr<Job>> m_jobs;
    std::shared_ptr<Job> m_running;
    bool m_stopping = false; // stop requested: jobs handed over from now on are dropped
    bool m_served = false;   // serve() has returned
};

} // namespace minivmm::backup
