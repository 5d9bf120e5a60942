#pragma once

// engine/-internal: the state of a Session (session.cc, session_build.cc).

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "core/sealed_file.h"
#include "engine/engine.h"
#include "engine/handles.h"

namespace loom::engine {

std::string RandomHex();

// Turns external access off except for `files` (read) and `out_dir` (Parquet exports), and locks
// the configuration of the database behind `trusted`. `rewritten_files`: some files change
// between queries (stream slices), so DuckDB's external file cache is turned off too.
Status SealDatabase(Connection& trusted, const std::vector<std::string>& files,
                    const std::string& out_dir, bool rewritten_files = false);

// Stops a query that runs past its deadline by interrupting its connection.
class Watchdog {
 public:
  Watchdog(duckdb_connection con, std::chrono::milliseconds timeout, std::atomic<bool>* fired)
      : thread_([this, con, timeout, fired] {
          std::unique_lock lock(mu_);
          if (!cv_.wait_for(lock, timeout, [this] { return done_; })) {
            fired->store(true);
            duckdb_interrupt(con);
          }
        }) {}
  ~Watchdog() {
    {
      std::lock_guard lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

struct Session::Impl {
  SessionOptions options;
  std::unique_ptr<Database> db;
  std::unique_ptr<Connection> trusted;  // builds the views; parses for the front door
  std::unique_ptr<Connection> user;     // runs admitted queries only
  std::set<std::string> relation_names;
  std::vector<std::string> secrets;  // texts scrubbed from every message (paths, masks)
  // Decrypted files of encrypted relations; outlive `db` (the destructor resets it first).
  std::vector<std::unique_ptr<MemFile>> plain_files;
  std::string out_dir;  // private: Parquet exports
  // Sessions that read encrypted relations export Parquet into this anonymous in-memory file
  // instead of out_dir, and never spill, so that their plaintext never touches the disk.
  std::unique_ptr<MemFile> export_file;
  std::atomic<bool> cancelled{false};
  std::atomic<bool> timed_out{false};
  std::unique_ptr<Watchdog> watchdog;

  ~Impl() {
    watchdog.reset();
    user.reset();
    trusted.reset();
    db.reset();
    if (!out_dir.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(out_dir, ec);
    }
  }

  std::string Scrub(std::string_view message) const {
    std::string m(message);
    for (const auto& s : secrets) {
      if (s.empty()) continue;
      for (size_t pos = m.find(s); pos != std::string::npos; pos = m.find(s, pos + 8)) {
        m.replace(pos, s.size(), "<hidden>");
      }
    }
    return m;
  }

  Status MapError(duckdb_error_type type, std::string_view message) {
    if (type == DUCKDB_ERROR_INTERRUPT || message.starts_with("INTERRUPT")) {
      if (timed_out.load()) {
        return DeadlineExceeded("query exceeded its time limit of " +
                                std::to_string(options.timeout.count()) + " ms");
      }
      return Cancelled("query cancelled");
    }
    return FromDuckError(type, message, [this](std::string_view m) { return Scrub(m); });
  }

  Status Check(std::string_view sql);
  Result<std::unique_ptr<DuckQueryResult>> Run(std::string_view sql);
  Status Build();
};

}  // namespace loom::engine
