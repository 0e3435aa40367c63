#include "actors/worker_pool.hpp"

#include <algorithm>
#include <condition_variable>
#include <deque>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "actors/log.hpp"

namespace mcpvisor::actors {

namespace {

struct job {
  std::function<void()> run;
  worker_pool::clock::time_point deadline;
  std::string what;
};

/// One worker thread's view, shared with the watchdog.
struct worker {
  std::thread thread;
  bool busy = false;
  bool abandoned = false;
  worker_pool::clock::time_point deadline;
  std::string what;
};

} // namespace

/// Shared by the pool and its threads, so that a thread left behind after
/// `stop` still has the state it touches when its handler returns.
struct worker_pool::state {
  size_t max_queued;
  size_t max_abandoned;
  std::chrono::milliseconds grace;
  std::mutex mtx;
  std::condition_variable work_cv;
  std::condition_variable idle_cv;
  std::condition_variable watch_cv;
  std::deque<job> jobs;
  std::vector<std::shared_ptr<worker>> workers;
  size_t running = 0;
  size_t abandoned_now = 0;
  size_t abandoned_total = 0;
  bool stopping = false;
  bool stopped = false;
  std::thread watchdog;
};

namespace {

void loop(std::shared_ptr<worker_pool::state> st, std::shared_ptr<worker> me) {
  std::unique_lock<std::mutex> lock{st->mtx};
  for (;;) {
    st->work_cv.wait(lock, [&] { return st->stopping || !st->jobs.empty(); });
    if (st->jobs.empty())
      return; // stopping, nothing left
    auto j = std::move(st->jobs.front());
    st->jobs.pop_front();
    ++st->running;
    me->busy = true;
    me->deadline = j.deadline;
    me->what = std::move(j.what);
    lock.unlock();
    try {
      j.run();
    } catch (const std::exception& e) {
      log::error("a handler job failed", {{"job", me->what}, {"error", e.what()}});
    } catch (...) {
      log::error("a handler job failed", {{"job", me->what}});
    }
    j.run = nullptr; // release what the job held before taking the lock
    lock.lock();
    --st->running;
    me->busy = false;
    st->idle_cv.notify_all();
    if (me->abandoned) {
      // another thread took this one's place while it was stuck
      --st->abandoned_now;
      log::info("an abandoned handler returned; its thread ends",
                {{"job", me->what}});
      return;
    }
  }
}

void start_worker(const std::shared_ptr<worker_pool::state>& st) {
  auto w = std::make_shared<worker>();
  st->workers.push_back(w);
  w->thread = std::thread{loop, st, w};
}

/// Every 250 ms: replaces threads whose handler is past deadline + grace.
void watch(std::shared_ptr<worker_pool::state> st) {
  std::unique_lock<std::mutex> lock{st->mtx};
  bool warned = false;
  while (!st->stopping) {
    st->watch_cv.wait_for(lock, std::chrono::milliseconds{250});
    auto now = worker_pool::clock::now();
    for (size_t i = 0; i < st->workers.size(); ++i) {
      auto w = st->workers[i];
      if (!w->busy || w->abandoned || w->deadline == worker_pool::clock::time_point::max()
          || now < w->deadline + st->grace)
        continue;
      if (st->abandoned_now >= st->max_abandoned) {
        if (!warned)
          log::error("handlers are stuck and no more threads are abandoned",
                     {{"abandoned_now", std::to_string(st->abandoned_now)}});
        warned = true;
        continue;
      }
      warned = false;
      w->abandoned = true;
      w->thread.detach();
      ++st->abandoned_now;
      ++st->abandoned_total;
      st->workers.erase(st->workers.begin() + static_cast<std::ptrdiff_t>(i));
      --i;
      log::warn("a handler is stuck past its deadline; its thread is "
                "abandoned and replaced",
                {{"job", w->what}});
      start_worker(st);
    }
  }
}

} // namespace

worker_pool::worker_pool(size_t threads, size_t max_queued,
                         std::chrono::milliseconds grace)
  : st_(std::make_shared<state>()) {
  st_->max_queued = max_queued;
  st_->max_abandoned = std::max<size_t>(threads, 4);
  st_->grace = grace;
  std::lock_guard<std::mutex> guard{st_->mtx};
  for (size_t i = 0; i < threads; ++i)
    start_worker(st_);
  if (threads > 0)
    st_->watchdog = std::thread{watch, st_};
}

worker_pool::~worker_pool() {
  stop();
}

bool worker_pool::submit(std::function<void()> run, clock::time_point deadline,
                         std::string what) {
  {
    std::lock_guard<std::mutex> guard{st_->mtx};
    if (st_->stopping || st_->workers.empty()
        || st_->jobs.size() >= st_->max_queued)
      return false;
    st_->jobs.push_back(job{std::move(run), deadline, std::move(what)});
  }
  st_->work_cv.notify_one();
  return true;
}

size_t worker_pool::queued() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->jobs.size();
}

size_t worker_pool::running() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->running;
}

size_t worker_pool::abandoned_total() const {
  std::lock_guard<std::mutex> guard{st_->mtx};
  return st_->abandoned_total;
}

bool worker_pool::stop(std::chrono::milliseconds drain) {
  std::unique_lock<std::mutex> lock{st_->mtx};
  if (st_->stopped)
    return st_->running == 0;
  st_->stopping = true;
  st_->work_cv.notify_all();
  st_->watch_cv.notify_all();
  bool drained = st_->idle_cv.wait_for(lock, drain, [&] {
    return st_->jobs.empty() && st_->running == 0;
  });
  st_->stopped = true;
  st_->jobs.clear(); // not started within the drain time: never started
  auto workers = std::move(st_->workers);
  auto watchdog = std::move(st_->watchdog);
  lock.unlock();
  if (watchdog.joinable())
    watchdog.join();
  for (auto& w : workers) {
    if (!w->thread.joinable())
      continue;
    if (drained)
      w->thread.join();
    else
      w->thread.detach();
  }
  return drained;
}

} // namespace mcpvisor::actors
