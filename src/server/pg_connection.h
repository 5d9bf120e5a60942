#pragma once

// server/-internal: one PostgreSQL wire connection: startup and authentication
// (pg_connection.cc), the simple query protocol and the shared query streaming
// (pg_query.cc), the extended query protocol (pg_extended.cc).
//
// Threads: Run() executes on the connection's own thread and owns all protocol state and the
// engine::Session. Cancel() and Shutdown() may be called from any thread (a CancelRequest on
// another connection, PgServer::Stop); they touch only the mutex-guarded session pointer and the
// stream's Shutdown.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "engine/engine.h"
#include "platform/platform.h"
#include "server/pg_errors.h"
#include "server/pg_intercept.h"
#include "server/pg_messages.h"
#include "server/pg_server.h"
#include "server/pg_sql.h"
#include "server/pg_stream.h"
#include "server/pg_text.h"

namespace loom::server {

class PgConnection {
 public:
  // Called (on this connection's thread) when the connection turns out to be a CancelRequest.
  using CancelRequestHandler = std::function<void(int32_t process_id, int32_t secret_key)>;

  // `platform` and `options` are not owned and must outlive the connection.
  PgConnection(platform::Platform& platform, const PgServerOptions& options,
               std::unique_ptr<PgStream> stream, int32_t process_id, int32_t secret_key,
               CancelRequestHandler on_cancel_request);
  ~PgConnection();
  PgConnection(const PgConnection&) = delete;
  PgConnection& operator=(const PgConnection&) = delete;

  // Serves the connection until Terminate, a fatal error or Shutdown. Never throws.
  void Run();

  int32_t process_id() const { return process_id_; }
  int32_t secret_key() const { return secret_key_; }
  // Cancels the query this connection is running, if any. Thread-safe.
  void Cancel();
  // Closes the stream; Run() returns soon after. Thread-safe.
  void Shutdown();
  // Before Run(): answer a startup with FATAL 53300 (too many clients); a CancelRequest is
  // still served.
  void RefuseTooManyClients() { too_many_clients_ = true; }

 private:
  struct Statement {
    std::string sql;
    pg::ScannedSql scanned;
    std::vector<int32_t> param_types;  // one per parameter; 0 = unspecified
    pg::Intercept intercept;
    bool described = false;
    std::vector<pg::FieldDescription> fields;  // when described
  };
  struct Portal {
    std::shared_ptr<const Statement> statement;  // shared with statements_ (Close may drop it)
    std::string sql;                             // with the parameters' literals
    std::unique_ptr<engine::QueryResult> result;
    std::vector<pg::FieldDescription> fields;
    std::vector<pg::CellWriter> writers;
    const engine::Chunk* chunk = nullptr;  // owned by result
    size_t row = 0;                        // next row of chunk
    bool started = false;
    bool done = false;
    bool lost = false;  // its result was dropped for another query
    uint64_t rows = 0;  // rows sent so far, for the audit entry
  };

  // pg_connection.cc
  Status Startup();
  Status Authenticate(const std::string& user);
  Status ApplyStartupOptions(const std::string& options);
  Status ReadMessage(char* type, std::string* body);
  Status Flush();
  void SendError(const pg::PgError& e) { out_.Error(e); }
  void Loop();

  // pg_query.cc
  Status HandleQuery(const std::string& body);
  // Drops every open result, then reuses the session if it is younger than
  // options.session_reuse_ms, else opens a fresh one (current versions and grants).
  Status SessionForQuery();
  Status EnsureSession();
  Status StartPortal(Portal& portal);
  // Streams up to max_rows rows (0 = all), then CommandComplete or PortalSuspended. A non-OK
  // return is an error to report to the client; the stream itself failing sets broken_.
  Status ExecutePortal(Portal& portal, int32_t max_rows);
  // Answers a statement the listener handles itself (SET, SHOW, version(), empty).
  Status ExecuteIntercept(const pg::Intercept& ic, bool describe_first);
  std::vector<pg::FieldDescription> InterceptFields(const pg::Intercept& ic) const;
  void WriteDataRow(const Portal& portal);
  void SetBusy(bool busy);

  // pg_extended.cc
  Status HandleExtended(char type, const std::string& body);
  Status HandleParse(const std::string& body);
  Status HandleBind(const std::string& body);
  Status HandleDescribe(const std::string& body);
  Status HandleExecute(const std::string& body);
  Status HandleClose(const std::string& body);
  Status DescribeStatement(Statement& statement);
  // Keeps `e` for HandleExtended to send and returns a non-OK status that stands for it.
  Status Refuse(std::string sqlstate, std::string message);
  // A parser's error as a protocol violation (FATAL 08P01).
  template <typename T>
  Result<T> Parsed(Result<T> r) {
    if (!r.ok()) refusal_ = pg::ProtocolViolation(r.status().message());
    return r;
  }
  std::string NullSubstituted(const Statement& statement) const;

  platform::Platform& platform_;
  const PgServerOptions& options_;
  std::unique_ptr<PgStream> stream_;
  const int32_t process_id_;
  const int32_t secret_key_;
  CancelRequestHandler on_cancel_request_;

  platform::Caller caller_;
  std::string user_;
  pg::Settings settings_;
  pg::MessageWriter out_;
  bool broken_ = false;        // the stream failed or a fatal error was sent: stop
  bool skip_to_sync_ = false;  // extended protocol: an error happened, ignore until Sync
  bool terminated_ = false;
  bool too_many_clients_ = false;
  std::optional<pg::PgError> refusal_;  // see Refuse()
  std::string current_sql_;             // of the Parse being handled, for error hints

  std::mutex mu_;
  std::unique_ptr<engine::Session> session_;  // written under mu_ (Cancel reads it there)
  bool busy_ = false;                         // guarded by mu_: a query is running
  std::chrono::steady_clock::time_point session_opened_;

  std::map<std::string, std::shared_ptr<Statement>> statements_;
  std::map<std::string, std::unique_ptr<Portal>> portals_;  // destroyed before session_
};

}  // namespace loom::server
