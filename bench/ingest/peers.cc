#include "peers.h"

#include <pwd.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <memory>
#include <mutex>
#include <thread>

#include <libpq-fe.h>

namespace loom::bench {

std::optional<Round> Drive(const Workload& w, int threads,
                           const std::function<bool(int, size_t)>& send,
                           const std::function<double()>& server_cpu) {
  std::atomic<size_t> next{0};
  std::atomic<bool> failed{false};
  std::vector<std::vector<double>> lat(static_cast<size_t>(threads));
  double cpu0 = ProcessCpuSeconds(), scpu0 = server_cpu();
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (;;) {
        size_t b = next.fetch_add(1);
        if (b >= w.batch_ranges.size() || failed.load()) return;
        auto s = std::chrono::steady_clock::now();
        if (!send(t, b)) {
          failed = true;
          return;
        }
        lat[static_cast<size_t>(t)].push_back(
            std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s)
                .count());
      }
    });
  }
  for (auto& th : pool) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  if (failed) return std::nullopt;
  std::vector<double> all;
  for (auto& v : lat) all.insert(all.end(), v.begin(), v.end());
  Round r;
  r.seconds = secs;
  double n = static_cast<double>(w.events.size());
  r.events_per_sec = n / secs;
  r.mb_per_sec = static_cast<double>(w.total_bytes) / secs / 1e6;
  r.p50_ms = Percentile(all, 0.50) / 1000;
  r.p99_ms = Percentile(all, 0.99) / 1000;
  r.cpu_us_per_event = (ProcessCpuSeconds() - cpu0 + server_cpu() - scpu0) * 1e6 / n;
  return r;
}

namespace {

// Reads until `count` complete RESP replies arrived; false on an error reply or a closed socket.
bool ReadRespReplies(int fd, size_t count, std::string* buf, std::string* why) {
  size_t done = 0, pos = 0;
  buf->clear();
  char tmp[65536];
  for (;;) {
    // Parse what we have: +simple, -error, :int, $bulk.
    for (;;) {
      size_t eol = buf->find("\r\n", pos);
      if (eol == std::string::npos) break;
      char kind = (*buf)[pos];
      if (kind == '-') {
        *why = "redis: " + buf->substr(pos, eol - pos);
        return false;
      }
      if (kind == '$') {
        long len = std::strtol(buf->c_str() + pos + 1, nullptr, 10);
        size_t end = eol + 2 + (len < 0 ? 0 : static_cast<size_t>(len) + 2);
        if (end > buf->size()) break;
        pos = end;
      } else {
        pos = eol + 2;
      }
      if (++done == count) return true;
    }
    ssize_t n = read(fd, tmp, sizeof tmp);
    if (n <= 0) {
      *why = "redis: connection closed";
      return false;
    }
    buf->append(tmp, static_cast<size_t>(n));
  }
}

}  // namespace

std::optional<Round> RedisRound(const PeerConfig& c, std::string* why) {
  if (access("/usr/bin/redis-server", X_OK) != 0)
    return *why = "redis-server not installed", std::nullopt;
  std::string dir = MakeTempDir(c.base_dir, "redis-");
  int port = FreePort();
  Child server;
  server.Start({"redis-server", "--port", std::to_string(port), "--bind", "127.0.0.1", "--dir", dir,
                "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--protected-mode",
                "no", "--daemonize", "no"},
               dir + "/server.log");
  std::vector<int> fds;
  for (int i = 0; i < c.connections; ++i)
    fds.push_back(ConnectLoopback(port, std::chrono::seconds(10)));
  for (int fd : fds)
    if (fd < 0) return *why = "redis: could not connect", std::nullopt;
  const Workload& w = *c.workload;
  std::vector<std::string> bufs(fds.size()), replies(fds.size());
  std::mutex why_mu;
  auto round = Drive(
      w, c.connections,
      [&](int t, size_t b) {
        std::string& out = bufs[static_cast<size_t>(t)];
        out.clear();
        auto [begin, end] = w.batch_ranges[b];
        for (size_t i = begin; i < end; ++i) {
          const std::string& e = w.events[i];
          out += "*5\r\n$4\r\nXADD\r\n$5\r\nplays\r\n$1\r\n*\r\n$1\r\ne\r\n$" +
                 std::to_string(e.size()) + "\r\n";
          out += e;
          out += "\r\n";
        }
        int fd = fds[static_cast<size_t>(t)];
        std::string err;
        bool ok = WriteAll(fd, out.data(), out.size()) &&
                  ReadRespReplies(fd, end - begin, &replies[static_cast<size_t>(t)], &err);
        if (!ok) {
          std::lock_guard<std::mutex> lock(why_mu);
          *why = err;
        }
        return ok;
      },
      [&] { return server.CpuSeconds(); });
  for (int fd : fds) close(fd);
  server.Stop();
  RemoveTree(dir);
  return round;
}

namespace {

// A NATS connection that counts the replies (PubAcks) to its inbox.
struct NatsConn {
  int fd = -1;
  std::string buf;
  // Reads until `count` MSG frames arrived, answering PINGs; false on -ERR or a JetStream error.
  bool ReadAcks(size_t count, std::string* why) {
    size_t done = 0, pos = 0;
    char tmp[65536];
    for (;;) {
      for (;;) {
        size_t eol = buf.find("\r\n", pos);
        if (eol == std::string::npos) break;
        std::string_view line(buf.data() + pos, eol - pos);
        if (line.rfind("MSG ", 0) == 0) {
          size_t sp = line.rfind(' ');
          size_t len = std::strtoul(std::string(line.substr(sp + 1)).c_str(), nullptr, 10);
          if (eol + 2 + len + 2 > buf.size()) break;
          std::string_view payload(buf.data() + eol + 2, len);
          if (payload.find("\"error\"") != std::string_view::npos) {
            *why = "nats: " + std::string(payload);
            return false;
          }
          pos = eol + 2 + len + 2;
          ++done;
        } else {
          if (line == "PING") WriteAll(fd, "PONG\r\n", 6);
          if (line.rfind("-ERR", 0) == 0) {
            *why = "nats: " + std::string(line);
            return false;
          }
          pos = eol + 2;
        }
        if (done == count) {
          buf.erase(0, pos);
          return true;
        }
      }
      buf.erase(0, pos);
      pos = 0;
      ssize_t n = read(fd, tmp, sizeof tmp);
      if (n <= 0) {
        *why = "nats: connection closed";
        return false;
      }
      buf.append(tmp, static_cast<size_t>(n));
    }
  }
};

}  // namespace

std::optional<Round> NatsRound(const PeerConfig& c, std::string* why) {
  if (access("/usr/sbin/nats-server", X_OK) != 0 && access("/usr/bin/nats-server", X_OK) != 0)
    return *why = "nats-server not installed", std::nullopt;
  std::string dir = MakeTempDir(c.base_dir, "nats-");
  int port = FreePort();
  Child server;
  server.Start({"nats-server", "-a", "127.0.0.1", "-p", std::to_string(port), "-js", "-sd", dir},
               dir + "/server.log");
  std::vector<NatsConn> conns(static_cast<size_t>(c.connections));
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = ConnectLoopback(port, std::chrono::seconds(10));
    if (conns[i].fd < 0) return *why = "nats: could not connect", std::nullopt;
    std::string hello =
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"headers\":false}\r\nSUB _INBOX." +
        std::to_string(i) + ".* 1\r\n";
    WriteAll(conns[i].fd, hello.data(), hello.size());
  }
  // Create the file-backed stream through the JetStream API.
  std::string cfg = R"({"name":"plays","subjects":["plays"],"storage":"file"})";
  std::string create = "PUB $JS.API.STREAM.CREATE.plays _INBOX.0.create " +
                       std::to_string(cfg.size()) + "\r\n" + cfg + "\r\n";
  bool ready = false;
  for (int attempt = 0; attempt < 50 && !ready; ++attempt) {
    WriteAll(conns[0].fd, create.data(), create.size());
    std::string err;
    ready = conns[0].ReadAcks(1, &err);
    if (!ready) {
      *why = err;
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (!ready) return std::nullopt;
  const Workload& w = *c.workload;
  std::vector<std::string> bufs(conns.size());
  std::mutex why_mu;
  auto round = Drive(
      w, c.connections,
      [&](int t, size_t b) {
        NatsConn& conn = conns[static_cast<size_t>(t)];
        std::string& out = bufs[static_cast<size_t>(t)];
        out.clear();
        auto [begin, end] = w.batch_ranges[b];
        for (size_t i = begin; i < end; ++i) {
          out += "PUB plays _INBOX." + std::to_string(t) + "." + std::to_string(i) + " " +
                 std::to_string(w.events[i].size()) + "\r\n";
          out += w.events[i];
          out += "\r\n";
        }
        std::string err;
        bool ok = WriteAll(conn.fd, out.data(), out.size()) && conn.ReadAcks(end - begin, &err);
        if (!ok) {
          std::lock_guard<std::mutex> lock(why_mu);
          *why = err;
        }
        return ok;
      },
      [&] { return server.CpuSeconds(); });
  for (auto& conn : conns) close(conn.fd);
  server.Stop();
  RemoveTree(dir);
  return round;
}

namespace {

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
using PgConn = std::unique_ptr<PGconn, PgConnCloser>;

bool Exec(PGconn* c, const std::string& sql, std::string* why) {
  PGresult* r = PQexec(c, sql.c_str());
  bool ok = PQresultStatus(r) == PGRES_COMMAND_OK;
  if (!ok) *why = "postgres: " + std::string(PQerrorMessage(c));
  PQclear(r);
  return ok;
}

}  // namespace

std::optional<Round> PostgresRound(const PeerConfig& c, std::string* why) {
  const std::string bin = "/usr/lib/postgresql/15/bin/";
  if (access((bin + "postgres").c_str(), X_OK) != 0)
    return *why = "postgresql 15 not installed", std::nullopt;
  int uid = -1, gid = -1;
  if (geteuid() == 0) {
    passwd* pw = getpwnam("postgres");
    if (pw == nullptr)
      return *why = "running as root and no 'postgres' user to run the server", std::nullopt;
    uid = static_cast<int>(pw->pw_uid);
    gid = static_cast<int>(pw->pw_gid);
  }
  std::string dir = MakeTempDir(c.base_dir, "pg-");
  if (uid >= 0 && chown(dir.c_str(), static_cast<uid_t>(uid), static_cast<gid_t>(gid)) != 0)
    return *why = "cannot hand " + dir + " to postgres", std::nullopt;
  if (RunToCompletion({bin + "initdb", "-D", dir + "/data", "-U", "postgres", "--auth=trust", "-E",
                       "UTF8", "--no-sync"},
                      dir + "/initdb.log", uid, gid) != 0) {
    RemoveTree(dir);
    return *why = "initdb failed (see its log)", std::nullopt;
  }
  int port = FreePort();
  Child server;
  server.Start(
      {bin + "postgres", "-D", dir + "/data", "-p", std::to_string(port), "-k", dir, "-c",
       "listen_addresses=127.0.0.1", "-c", "max_wal_size=8GB", "-c", "shared_buffers=256MB"},
      dir + "/server.log", uid, gid);
  std::string conninfo =
      "host=127.0.0.1 port=" + std::to_string(port) + " user=postgres dbname=postgres";
  std::vector<PgConn> conns;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (conns.size() < static_cast<size_t>(c.connections)) {
    PgConn conn(PQconnectdb(conninfo.c_str()));
    if (PQstatus(conn.get()) == CONNECTION_OK) {
      conns.push_back(std::move(conn));
    } else if (std::chrono::steady_clock::now() > deadline) {
      *why = "postgres: " + std::string(PQerrorMessage(conn.get()));
      return std::nullopt;
    } else {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  }
  if (!Exec(conns[0].get(), "CREATE TABLE plays (e jsonb)", why)) return std::nullopt;
  const Workload& w = *c.workload;
  std::vector<std::string> bufs(conns.size());
  std::mutex why_mu;
  auto round = Drive(
      w, c.connections,
      [&](int t, size_t b) {
        PGconn* conn = conns[static_cast<size_t>(t)].get();
        std::string& out = bufs[static_cast<size_t>(t)];
        out.clear();
        auto [begin, end] = w.batch_ranges[b];
        for (size_t i = begin; i < end; ++i) {
          for (char ch : w.events[i]) {  // COPY text format: backslash is the escape
            if (ch == '\\') out.push_back('\\');
            out.push_back(ch);
          }
          out.push_back('\n');
        }
        std::string err;
        PGresult* r = PQexec(conn, "COPY plays (e) FROM STDIN");
        bool ok = PQresultStatus(r) == PGRES_COPY_IN;
        PQclear(r);
        ok = ok && PQputCopyData(conn, out.data(), static_cast<int>(out.size())) == 1 &&
             PQputCopyEnd(conn, nullptr) == 1;
        while ((r = PQgetResult(conn)) != nullptr) {
          ok = ok && PQresultStatus(r) == PGRES_COMMAND_OK;
          PQclear(r);
        }
        if (!ok) {
          std::lock_guard<std::mutex> lock(why_mu);
          *why = "postgres: " + std::string(PQerrorMessage(conn));
        }
        return ok;
      },
      [&] {
        // The postmaster forks a backend per connection: sum the whole process group's CPU.
        return server.CpuSeconds();
      });
  conns.clear();
  server.Stop();
  RemoveTree(dir);
  return round;
}

}  // namespace loom::bench
