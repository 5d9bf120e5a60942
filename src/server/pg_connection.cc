#include "server/pg_connection.h"

#include <exception>

#include "server/pg_errors.h"
#include "server/pg_tls.h"

namespace loom::server {

namespace {

int32_t ReadInt32(const char* p) {
  return static_cast<int32_t>(static_cast<uint32_t>(static_cast<uint8_t>(p[0])) << 24 |
                              static_cast<uint32_t>(static_cast<uint8_t>(p[1])) << 16 |
                              static_cast<uint32_t>(static_cast<uint8_t>(p[2])) << 8 |
                              static_cast<uint32_t>(static_cast<uint8_t>(p[3])));
}

// "-c a=b --c=d" (PostgreSQL's `options`): backslash escapes a blank.
std::vector<std::string> SplitOptions(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 1 < s.size()) {
      cur.push_back(s[++i]);
    } else if (s[i] == ' ' || s[i] == '\t') {
      if (!cur.empty()) out.push_back(std::move(cur));
      cur.clear();
    } else {
      cur.push_back(s[i]);
    }
  }
  if (!cur.empty()) out.push_back(std::move(cur));
  return out;
}

std::string LowerAscii(std::string s) {
  for (char& c : s) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return s;
}

}  // namespace

PgConnection::PgConnection(platform::Platform& platform, const PgServerOptions& options,
                           std::unique_ptr<PgStream> stream, int32_t process_id, int32_t secret_key,
                           CancelRequestHandler on_cancel_request)
    : platform_(platform),
      options_(options),
      stream_(std::move(stream)),
      process_id_(process_id),
      secret_key_(secret_key),
      on_cancel_request_(std::move(on_cancel_request)) {}

PgConnection::~PgConnection() {
  portals_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  session_.reset();
}

void PgConnection::Cancel() {
  std::lock_guard<std::mutex> lock(mu_);
  if (busy_ && session_) session_->Cancel();
}

void PgConnection::Shutdown() { stream_->Shutdown(); }

void PgConnection::SetBusy(bool busy) {
  std::lock_guard<std::mutex> lock(mu_);
  busy_ = busy;
}

Status PgConnection::Flush() {
  if (out_.size() == 0 || broken_) return Status::Ok();
  Status s = stream_->WriteAll(out_.buffer());
  out_.Clear();
  if (!s.ok()) broken_ = true;
  return s;
}

Status PgConnection::ReadMessage(char* type, std::string* body) {
  char header[5];
  LOOM_RETURN_IF_ERROR(stream_->ReadFull(header, sizeof header));
  *type = header[0];
  int32_t len = ReadInt32(header + 1);
  if (len < 4 || static_cast<uint32_t>(len) - 4 > options_.max_message_bytes) {
    return InvalidArgument("invalid message length " + std::to_string(len) + " for message type '" +
                           std::string(1, *type) + "' (at most " +
                           std::to_string(options_.max_message_bytes) + " bytes)");
  }
  body->resize(static_cast<size_t>(len) - 4);
  return stream_->ReadFull(body->data(), body->size());
}

void PgConnection::Run() {
  // The one last-resort catch of a connection thread: nothing below throws by design, but a
  // library that does (std::bad_alloc) must end this connection, not the server.
  try {
    Status s = Startup();
    if (s.ok()) {
      Loop();
    } else if (s.code() == StatusCode::kInvalidArgument) {
      SendError(pg::ProtocolViolation(s.message()));
    }
  } catch (const std::exception& e) {
    SendError(pg::MakeError("XX000", std::string("internal error: ") + e.what(), "FATAL"));
  } catch (...) {
    SendError(pg::MakeError("XX000", "internal error", "FATAL"));
  }
  (void)Flush();
  portals_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  session_.reset();
}

Status PgConnection::Startup() {
  stream_->SetReadTimeout(options_.startup_timeout_ms);
  pg::StartupPacket packet;
  bool tls_on = false;
  for (int attempt = 0;; ++attempt) {
    char len_bytes[4];
    LOOM_RETURN_IF_ERROR(stream_->ReadFull(len_bytes, 4));
    int32_t len = ReadInt32(len_bytes);
    if (len < 8 || static_cast<uint32_t>(len) > pg::kMaxStartupPacket) {
      return InvalidArgument("invalid length of startup packet: " + std::to_string(len));
    }
    std::string body(static_cast<size_t>(len) - 4, '\0');
    LOOM_RETURN_IF_ERROR(stream_->ReadFull(body.data(), body.size()));
    Result<pg::StartupPacket> p = pg::ParseStartupPacket(body);
    if (!p.ok()) {
      if (p.status().code() == StatusCode::kUnimplemented) {
        SendError(pg::MakeError("0A000", p.status().message(), "FATAL"));
        return Aborted("unsupported protocol");
      }
      return p.status();
    }
    if (p->kind == pg::StartupPacket::Kind::kCancel) {
      if (on_cancel_request_) on_cancel_request_(p->process_id, p->secret_key);
      return Aborted("cancel request served");
    }
    if (p->kind == pg::StartupPacket::Kind::kStartup) {
      if (options_.tls != nullptr && !tls_on) {
        SendError(pg::MakeError("28000",
                                "this server requires TLS: connect with sslmode=require (or "
                                "verify-full with the server's CA certificate)",
                                "FATAL"));
        return Aborted("startup without TLS");
      }
      packet = std::move(*p);
      break;
    }
    if (attempt >= 2) return InvalidArgument("too many encryption requests");
    if (p->kind == pg::StartupPacket::Kind::kSsl && options_.tls != nullptr && !tls_on) {
      LOOM_RETURN_IF_ERROR(stream_->WriteAll("S"));
      Status s = stream_->StartTls(*options_.tls);
      if (!s.ok()) return Aborted(s.message());  // nothing can be sent: the handshake failed
      tls_on = true;
      continue;
    }
    // GSSENCRequest, or SSLRequest without a certificate: the client goes on in plaintext or
    // gives up, as its sslmode says.
    LOOM_RETURN_IF_ERROR(stream_->WriteAll("N"));
  }

  if (too_many_clients_) {
    SendError(pg::MakeError("53300", "sorry, too many clients already", "FATAL"));
    return Aborted("too many clients");
  }
  std::string database;
  for (const auto& [name, value] : packet.params) {
    std::string key = LowerAscii(name);
    if (key == "user") {
      user_ = value;
    } else if (key == "database") {
      database = value;
    }
  }
  if (user_.empty()) {
    SendError(
        pg::MakeError("28000", "no PostgreSQL user name specified in startup packet", "FATAL"));
    return Aborted("no user");
  }
  LOOM_RETURN_IF_ERROR(Authenticate(user_));

  for (const auto& [name, value] : packet.params) {
    std::string key = LowerAscii(name);
    if (key == "user" || key == "database" || key == "client_encoding" ||
        (key == "replication" && (value == "false" || value == "0" || value == "off"))) {
      continue;  // client_encoding: anything is answered in UTF8, which ParameterStatus says
    }
    Status s = key == "options" ? ApplyStartupOptions(value) : [&] {
      std::string reported;
      return settings_.Set(key, value, &reported);
    }();
    if (!s.ok()) {
      pg::PgError e = pg::ErrorFor(s);
      e.severity = "FATAL";
      e.message = "startup parameter \"" + name + "\": " + e.message;
      SendError(e);
      return Aborted("bad startup parameter");
    }
  }

  out_.AuthenticationOk();
  for (const auto& [name, value] : settings_.Reported()) out_.ParameterStatus(name, value);
  out_.ParameterStatus("session_authorization", user_);
  out_.BackendKeyData(process_id_, secret_key_);
  out_.ReadyForQuery();
  stream_->SetReadTimeout(0);
  return Flush();
}

Status PgConnection::Authenticate(const std::string& user) {
  if (!options_.auth) {
    caller_ = platform::Caller{};
    return Status::Ok();
  }
  out_.AuthenticationCleartextPassword();
  LOOM_RETURN_IF_ERROR(Flush());
  char type = 0;
  std::string body;
  LOOM_RETURN_IF_ERROR(ReadMessage(&type, &body));
  if (type != 'p') {
    return InvalidArgument("expected a password message, got message type '" +
                           std::string(1, type) + "'");
  }
  LOOM_ASSIGN_OR_RETURN(std::string password, pg::ParsePassword(body));
  Result<platform::Caller> caller = options_.auth(user, password);
  if (!caller.ok()) {
    StatusCode c = caller.status().code();
    pg::PgError e =
        c == StatusCode::kUnauthenticated || c == StatusCode::kPermissionDenied
            ? pg::MakeError("28P01", "password authentication failed for user \"" + user + "\"")
            : pg::ErrorFor(caller.status());
    e.severity = "FATAL";
    SendError(e);
    return Aborted("authentication failed");
  }
  caller_ = std::move(*caller);
  return Status::Ok();
}

Status PgConnection::ApplyStartupOptions(const std::string& options) {
  std::vector<std::string> words = SplitOptions(options);
  for (size_t i = 0; i < words.size(); ++i) {
    std::string setting;
    if (words[i] == "-c" && i + 1 < words.size()) {
      setting = words[++i];
    } else if (words[i].starts_with("-c")) {
      setting = words[i].substr(2);
    } else if (words[i].starts_with("--")) {
      setting = words[i].substr(2);
    } else {
      return InvalidArgument("unsupported option '" + words[i] + "': use -c name=value");
    }
    size_t eq = setting.find('=');
    if (eq == std::string::npos) {
      return InvalidArgument("option '" + setting + "': expected name=value");
    }
    std::string name = LowerAscii(setting.substr(0, eq));
    for (char& c : name) {
      if (c == '-') c = '_';
    }
    std::string reported;
    LOOM_RETURN_IF_ERROR(settings_.Set(name, setting.substr(eq + 1), &reported));
  }
  return Status::Ok();
}

void PgConnection::Loop() {
  while (!broken_ && !terminated_) {
    char type = 0;
    std::string body;
    Status s = ReadMessage(&type, &body);
    if (!s.ok()) {
      if (s.code() == StatusCode::kInvalidArgument) {
        SendError(pg::ProtocolViolation(s.message()));
      }
      return;
    }
    if (type == 'X') return;  // Terminate
    if (type == 'Q') {
      skip_to_sync_ = false;
      s = HandleQuery(body);
    } else {
      s = HandleExtended(type, body);
    }
    if (!s.ok()) {
      // Only malformed messages come back here (08P01); query errors were already answered.
      SendError(pg::ProtocolViolation(s.message()));
      return;
    }
  }
}

}  // namespace loom::server
