#pragma once

// The PostgreSQL wire-protocol (v3) listener of `loom serve`: psql, libpq programs, JDBC and BI
// tools connect to it and query data products with SQL through platform::Platform's query
// sessions (engine::Session: one read-only SELECT over the caller's relations). User guide:
// docs/postgres.md.
//
// Supported: SSLRequest (answered 'S' and TLS when a certificate is configured, else 'N'),
// GSSENCRequest (answered 'N'), StartupMessage v3,
// cleartext-password authentication through a hook, the simple and the extended query protocols
// (text format only), CancelRequest, a few client-setup statements (`SET extra_float_digits`,
// `SET application_name`, `SHOW server_version`, `SELECT version()`...) answered by the listener.
//
// Threads: one accept thread, plus one thread per connection (at most max_connections). Each
// connection owns its own engine::Session; nothing is shared between connections except the
// Platform (thread-safe) and the table of cancel keys (mutex-guarded).

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "core/core.h"
#include "platform/platform.h"

namespace loom::server {

class TlsContext;  // server/pg_tls.h

// Checks a user name and a cleartext password and says who the caller is. OK: the caller the
// connection acts as. kUnauthenticated or kPermissionDenied: refused (the client sees SQLSTATE
// 28P01 and no detail). Any other code: refused with that error. Called from connection threads,
// possibly concurrently: it must be thread-safe.
using PgAuthHook =
    std::function<Result<platform::Caller>(const std::string& user, const std::string& password)>;

struct PgServerOptions {
  std::string listen = "127.0.0.1:5432";  // HOST:PORT; port 0 picks a free one
  // Empty: every client is accepted without a password and acts as the default
  // platform::Caller (embedded-mode semantics; real authentication comes with access control).
  PgAuthHook auth;
  uint32_t max_connections = 64;           // more are refused with SQLSTATE 53300
  uint32_t max_message_bytes = 16u << 20;  // larger messages: 08P01 and the connection closes
  uint32_t startup_timeout_ms = 30000;     // to finish startup and authentication
  // A connection reuses its query session for queries that start within this many ms of the
  // session's opening, then opens a fresh one, so that a long-lived connection sees newly
  // published versions and grants. 0 = a fresh session for every query (about 10-50 ms each).
  uint32_t session_reuse_ms = 1000;
  // TLS (docs/postgres.md, "TLS"): PEM files of the server certificate (chain) and its private
  // key. When set, an SSLRequest is answered 'S' and the connection continues encrypted, and a
  // startup without TLS is refused (FATAL 28000; a CancelRequest is still served).
  std::string tls_cert_file = {};
  std::string tls_key_file = {};
  // Set by PgServer::Start from the two files; leave empty.
  std::shared_ptr<const TlsContext> tls = {};
};

// A running listener. Start() binds and accepts on a background thread; Stop() (or the
// destructor) closes the listening socket, cancels running queries, closes every connection and
// joins all threads. Thread-safe: Stop may be called from any thread. `platform` is not owned and
// must outlive the PgServer.
//
// Errors of Start: kInvalidArgument for a bad `listen` or TLS files that do not load, kUnavailable
// when the address cannot be bound.
class PgServer {
 public:
  static Result<std::unique_ptr<PgServer>> Start(platform::Platform& platform,
                                                 const PgServerOptions& options);
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const;
  // Connections currently open (after the TCP accept, before they close).
  uint32_t connections() const;
  // Blocks until Stop() is called from another thread.
  void Wait();
  void Stop();

  struct Impl;  // pg_server.cc

 private:
  explicit PgServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace loom::server
