// Alerts: the log at once, the webhook from a background thread with retries and backoff.

#include <httplib.h>

#include <cstdio>

#include "quality/quality.h"

namespace loom::quality {

void LogJson(std::string_view level, std::string_view msg, nlohmann::json fields) {
  static std::mutex mu;
  if (!fields.is_object()) fields = nlohmann::json::object();
  nlohmann::json line = {{"ts", FormatRfc3339(Clock::Real()->NowMicros())},
                         {"level", std::string(level)},
                         {"msg", std::string(msg)}};
  for (auto it = fields.begin(); it != fields.end(); ++it) line[it.key()] = it.value();
  const std::string text =
      line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  std::lock_guard<std::mutex> lock(mu);
  std::fwrite(text.data(), 1, text.size(), stderr);
  std::fflush(stderr);
}

struct Alerter::Impl {
  AlertOptions options;
  std::string origin;  // scheme://host:port
  std::string path;
  std::mutex mu;
  std::condition_variable cv;
  std::deque<nlohmann::json> queue;  // guarded by mu
  bool stop = false;                 // guarded by mu
  bool busy = false;                 // guarded by mu: a delivery is in flight
  std::atomic<uint64_t> delivered{0}, failed{0}, attempts{0};
  std::thread thread;

  // One alert with its attempts. Waits between attempts are cut short by nothing: the
  // destructor lets each queued alert have all of them.
  void Deliver(const nlohmann::json& alert) {
    httplib::Client client(origin);
    client.set_connection_timeout(options.timeout);
    client.set_read_timeout(options.timeout);
    client.set_write_timeout(options.timeout);
    std::chrono::milliseconds backoff = options.first_backoff;
    const std::string body = alert.dump();
    for (int attempt = 1; attempt <= options.max_attempts; ++attempt) {
      attempts.fetch_add(1);
      httplib::Headers headers = {{"X-Loom-Alert-Attempt", std::to_string(attempt)}};
      httplib::Result res = client.Post(path, headers, body, "application/json");
      std::string problem;
      if (!res) {
        problem = "connection: " + httplib::to_string(res.error());
      } else if (res->status >= 200 && res->status < 300) {
        delivered.fetch_add(1);
        return;
      } else {
        problem = "HTTP " + std::to_string(res->status);
        if (res->status < 500 && res->status != 429) {
          attempt = options.max_attempts;  // a 4xx other than 429 will not get better
        }
      }
      LogJson("warn", "alert webhook attempt failed",
              {{"attempt", attempt}, {"problem", problem}, {"alert", alert.value("alert", "")}});
      if (attempt < options.max_attempts) {
        std::this_thread::sleep_for(backoff);
        backoff *= 2;
      }
    }
    failed.fetch_add(1);
    LogJson("error", "alert not delivered to the webhook", {{"alert", alert}});
  }

  void Run() {
    std::unique_lock<std::mutex> lock(mu);
    while (true) {
      cv.wait(lock, [this] { return stop || !queue.empty(); });
      if (queue.empty()) return;
      nlohmann::json alert = std::move(queue.front());
      queue.pop_front();
      busy = true;
      lock.unlock();
      Deliver(alert);
      lock.lock();
      busy = false;
      cv.notify_all();
    }
  }
};

Alerter::Alerter(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Result<std::unique_ptr<Alerter>> Alerter::Start(const AlertOptions& options) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  if (impl->options.max_attempts < 1) impl->options.max_attempts = 1;
  if (!options.webhook.empty()) {
    const std::string& url = options.webhook;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
      return InvalidArgument("alert webhook '" + url +
                             "': expected an http:// or https:// URL (http://HOST:PORT/PATH)");
    }
    const size_t scheme_end = url.find("://") + 3;
    const size_t slash = url.find('/', scheme_end);
    impl->origin = url.substr(0, slash);
    impl->path = slash == std::string::npos ? "/" : url.substr(slash);
    if (impl->origin.size() <= scheme_end) {
      return InvalidArgument("alert webhook '" + url + "': no host");
    }
    Impl* raw = impl.get();
    impl->thread = std::thread([raw] { raw->Run(); });
  }
  return std::unique_ptr<Alerter>(new Alerter(std::move(impl)));
}

Alerter::~Alerter() {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    impl_->stop = true;
  }
  impl_->cv.notify_all();
  if (impl_->thread.joinable()) impl_->thread.join();
}

void Alerter::Send(const nlohmann::json& alert) {
  LogJson(alert.value("state", "") == "ok" ? "info" : "error", "slo alert", alert);
  if (!impl_->thread.joinable()) return;
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->queue.push_back(alert);
  impl_->cv.notify_all();
}

uint64_t Alerter::delivered() const { return impl_->delivered.load(); }
uint64_t Alerter::failed() const { return impl_->failed.load(); }
uint64_t Alerter::attempts() const { return impl_->attempts.load(); }

bool Alerter::Flush(std::chrono::milliseconds timeout) {
  std::unique_lock<std::mutex> lock(impl_->mu);
  return impl_->cv.wait_for(lock, timeout, [this] { return impl_->queue.empty() && !impl_->busy; });
}

}  // namespace loom::quality
