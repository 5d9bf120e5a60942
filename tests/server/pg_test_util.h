#pragma once

// Helpers for the wire-listener tests: a PgServer over a real Platform in a temp folder, RAII
// libpq handles, and a raw protocol client for bytes libpq would never send.

#include <libpq-fe.h>

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "platform/platform.h"
#include "server/pg_server.h"
#include "testing/testing.h"

namespace loom::server::testing {

// Opens a Platform in a fresh temp folder and starts a PgServer on a free port.
class PgFixture {
 public:
  explicit PgFixture(PgServerOptions options = {});
  ~PgFixture();
  bool ok() const { return server_ != nullptr; }
  const std::string& error() const { return error_; }
  int port() const { return server_->port(); }
  PgServer& server() { return *server_; }
  // "host=127.0.0.1 port=N user=u dbname=loom connect_timeout=10 sslmode=disable" + extra.
  std::string ConnInfo(const std::string& extra = "") const;

 private:
  loom::testing::TempDir dir_;
  std::unique_ptr<platform::Platform> platform_;
  std::unique_ptr<PgServer> server_;
  std::string error_;
};

struct PgConnCloser {
  void operator()(PGconn* c) const { PQfinish(c); }
};
struct PgResultCloser {
  void operator()(PGresult* r) const { PQclear(r); }
};
using Conn = std::unique_ptr<PGconn, PgConnCloser>;
using Res = std::unique_ptr<PGresult, PgResultCloser>;

Conn Connect(const std::string& conninfo);
// PG_DIAG_SQLSTATE of a result, "" if none.
std::string SqlState(const PGresult* r);

// A client that speaks the protocol byte by byte. Not thread-safe.
class RawClient {
 public:
  explicit RawClient(int port);
  ~RawClient();
  RawClient(const RawClient&) = delete;
  RawClient& operator=(const RawClient&) = delete;
  bool connected() const { return fd_ >= 0; }

  void Send(const std::string& bytes);
  void SendMessage(char type, const std::string& body);
  // A v3 startup packet with user and database; reads up to the first ReadyForQuery.
  // Returns false if the server did not get there.
  bool Startup(const std::string& user = "u");
  // One raw byte (the answer to SSLRequest); false at end of stream or after timeout_ms.
  bool ReadByte(char* c, int timeout_ms = 10000);
  // One backend message; false at end of stream or after timeout_ms.
  bool Read(char* type, std::string* body, int timeout_ms = 10000);
  // Messages up to and including ReadyForQuery (or the end of the stream).
  std::vector<std::pair<char, std::string>> ReadUntilReady(int timeout_ms = 10000);
  // True if the server closes the connection within timeout_ms.
  bool ClosedByServer(int timeout_ms = 5000);

 private:
  int fd_ = -1;
  std::string pending_;
};

std::string Int32(int32_t v);
std::string Int16(int16_t v);
std::string CStr(const std::string& s);
// The field (e.g. 'C' for SQLSTATE) of an ErrorResponse body.
std::string ErrorField(const std::string& body, char field);
// "TDDCZ": the type bytes of messages.
std::string Types(const std::vector<std::pair<char, std::string>>& messages);

// True in a sanitizer build (the heavy tests use smaller sizes there).
bool UnderSanitizer();

}  // namespace loom::server::testing
